package audit_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/store/enginetest"
)

// setup returns the list handler over a fresh store holding n records, every
// third of order ord_1.
func setup(t *testing.T, n int) http.Handler {
	t.Helper()
	db := enginetest.SQLite(t)
	for i := range n {
		e := usher.AuditEntry{Actor: "processor", Action: "order.paid", OrderID: fmt.Sprintf("ord_%d", i%3)}
		if err := db.AppendAudit(t.Context(), e); err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
	}
	return audit.NewAPI(db, slog.New(slog.NewTextHandler(io.Discard, nil))).Routes()[0].Handler
}

func get(t *testing.T, h http.Handler, query string) (int, audit.Page) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/audit"+query, nil))
	var p audit.Page
	if w.Code == http.StatusOK {
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			t.Fatalf("decode %s: %v", w.Body, err)
		}
	}
	return w.Code, p
}

func TestListPagesThroughTheLog(t *testing.T) {
	t.Parallel()
	h := setup(t, 7)
	var got []int64
	pages := 0
	for after := int64(-1); after != 0; pages++ {
		q := "?limit=3"
		if after > 0 {
			q += fmt.Sprintf("&after=%d", after)
		}
		status, p := get(t, h, q)
		if status != http.StatusOK {
			t.Fatalf("GET %s = %d", q, status)
		}
		for _, r := range p.Records {
			got = append(got, r.Seq)
		}
		after = p.NextAfter
	}
	if fmt.Sprint(got) != "[1 2 3 4 5 6 7]" || pages != 3 {
		t.Fatalf("paged seqs %v in %d pages, want 1..7 in 3", got, pages)
	}
	status, p := get(t, h, "?order_id=ord_1")
	if status != http.StatusOK || len(p.Records) != 2 || p.Records[0].Seq != 2 || p.Records[1].Seq != 5 || p.NextAfter != 0 {
		t.Fatalf("GET ?order_id=ord_1 = %d %+v, want records 2 and 5, no next page", status, p)
	}
}

func TestListRejectsBadQueries(t *testing.T) {
	t.Parallel()
	h := setup(t, 0)
	for _, q := range []string{"?limit=0", "?limit=1001", "?limit=x", "?after=-1", "?after=x", "?since=yesterday"} {
		if status, _ := get(t, h, q); status != http.StatusBadRequest {
			t.Errorf("GET /v1/audit%s = %d, want 400", q, status)
		}
	}
	if status, p := get(t, h, "?since=2026-01-02T15:04:05Z"); status != http.StatusOK || p.Records == nil {
		t.Errorf("GET with a valid since = %d %+v, want 200 with an empty list", status, p)
	}
}
