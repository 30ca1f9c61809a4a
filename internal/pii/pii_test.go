package pii_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/pii"
	"github.com/usherhq/usher/internal/secrets"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/enginetest"
)

var ada = usher.Buyer{Email: "ada@example.com", Name: "Ada Lovelace"}

// setup returns a sealed store holding the buyer of ord_1.
func setup(t *testing.T) *store.DB {
	t.Helper()
	db := enginetest.SQLite(t)
	key := make([]byte, secrets.KeySize)
	_, _ = rand.Read(key)
	s, err := secrets.New(key)
	if err != nil {
		t.Fatal(err)
	}
	db.SetSealer(s)
	err = db.InTx(t.Context(), func(tx *store.Tx) error {
		_, err := tx.PutBuyer(t.Context(), "ord_1", ada)
		return err
	})
	if err != nil {
		t.Fatalf("PutBuyer: %v", err)
	}
	return db
}

// call runs the vault route of method for orderID as the token tokenID.
func call(t *testing.T, st pii.Store, method, orderID, tokenID string) (int, string) {
	t.Helper()
	for _, rt := range pii.NewAPI(st, slog.New(slog.NewTextHandler(io.Discard, nil))).Routes() {
		if rt.Method != method {
			continue
		}
		req := httptest.NewRequest(method, "/v1/orders/"+orderID+"/buyer", nil)
		req.SetPathValue("order_id", orderID)
		req = req.WithContext(auth.WithPrincipal(req.Context(), auth.Principal{TokenID: tokenID}))
		w := httptest.NewRecorder()
		rt.Handler.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}
	t.Fatalf("no %s route", method)
	return 0, ""
}

// bound is db as the vault routes use it.
func bound(db *store.DB) pii.Store {
	return store.Bind(db, func(tx *store.Tx) pii.Tx { return tx })
}

func auditActions(t *testing.T, db *store.DB) []string {
	t.Helper()
	recs, err := db.AuditLog(t.Context(), usher.AuditFilter{})
	if err != nil {
		t.Fatalf("AuditLog: %v", err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, r.Actor+" "+r.Action+" "+r.OrderID+" "+r.EntityID)
	}
	return out
}

func TestReadIsAuditedAndEraseKeepsTheToken(t *testing.T) {
	t.Parallel()
	db := setup(t)
	status, body := call(t, bound(db), http.MethodGet, "ord_1", "tok_ops")
	var v pii.BuyerView
	if status != http.StatusOK || json.Unmarshal([]byte(body), &v) != nil || v.Email != ada.Email || v.Name != ada.Name || v.ErasedAt != nil {
		t.Fatalf("GET buyer = %d %s, want Ada", status, body)
	}
	if got := auditActions(t, db); len(got) != 1 || got[0] != "tok_ops pii.read ord_1 "+v.Token {
		t.Fatalf("audit log after a read = %q, want one pii.read by tok_ops naming the token", got)
	}

	status, body = call(t, bound(db), http.MethodDelete, "ord_1", "tok_dpo")
	if status != http.StatusOK || strings.Contains(body, ada.Email) || !strings.Contains(body, `"erased_at"`) {
		t.Fatalf("DELETE buyer = %d %s, want 200 with erased_at and no data", status, body)
	}
	status, body = call(t, bound(db), http.MethodGet, "ord_1", "tok_ops")
	if status != http.StatusOK || strings.Contains(body, ada.Email) || !strings.Contains(body, v.Token) || !strings.Contains(body, `"erased_at"`) {
		t.Fatalf("GET erased buyer = %d %s, want the token, erased_at and no data", status, body)
	}
	want := []string{"tok_ops pii.read ord_1 " + v.Token, "tok_dpo pii.erased ord_1 " + v.Token, "tok_ops pii.read ord_1 " + v.Token}
	if got := auditActions(t, db); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("audit log = %q, want %q", got, want)
	}
}

func TestUnknownOrderIsNotFoundAndNotAudited(t *testing.T) {
	t.Parallel()
	db := setup(t)
	for _, m := range []string{http.MethodGet, http.MethodDelete} {
		if status, body := call(t, bound(db), m, "ord_none", "tok_ops"); status != http.StatusNotFound {
			t.Errorf("%s buyer of an unknown order = %d %s, want 404", m, status, body)
		}
	}
	if got := auditActions(t, db); len(got) != 0 {
		t.Fatalf("audit log = %q, want nothing for reads that found nothing", got)
	}
}

// unauditable is a store whose audit log refuses appends.
type unauditable struct{ pii.Store }

func (unauditable) AppendAudit(context.Context, usher.AuditEntry) error {
	return errors.New("disk full")
}

func TestNothingIsShownWhenTheReadCannotBeAudited(t *testing.T) {
	t.Parallel()
	db := setup(t)
	status, body := call(t, unauditable{bound(db)}, http.MethodGet, "ord_1", "tok_ops")
	if status != http.StatusServiceUnavailable || strings.Contains(body, ada.Email) || strings.Contains(body, "Lovelace") {
		t.Fatalf("GET buyer with a failing audit log = %d %s, want 503 without the buyer", status, body)
	}
}
