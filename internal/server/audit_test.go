package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/pii"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/ushertest"
)

// issueToken creates an admin token with the scopes and returns its id and secret.
func issueToken(t *testing.T, s *ushertest.Server, scopes ...string) (id, secret string) {
	t.Helper()
	var tok struct{ ID, Token string }
	if status := s.Admin(http.MethodPost, "/v1/tokens", "", map[string]any{"scopes": scopes}, &tok); status != http.StatusCreated {
		t.Fatalf("create token with %v: %d", scopes, status)
	}
	return tok.ID, tok.Token
}

// auditPage reads one page of GET /v1/audit with the query.
func auditPage(t *testing.T, s *ushertest.Server, token, query string) (int, audit.Page) {
	t.Helper()
	var p audit.Page
	status := s.Admin(http.MethodGet, "/v1/audit?"+query, token, nil, &p)
	return status, p
}

func wantChainSound(t *testing.T, s *ushertest.Server) audit.Report {
	t.Helper()
	rep, err := audit.Verify(context.Background(), s.Store())
	if err != nil || !rep.OK() {
		t.Fatalf("audit.Verify = %v, %v; want a sound chain", rep, err)
	}
	return rep
}

func TestAuditLogPagesWithFiltersAndScope(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	ctx := context.Background()
	for i := range 7 {
		e := usher.AuditEntry{Actor: "test_actor", Action: "test.action", EntityID: fmt.Sprint(i), OrderID: fmt.Sprintf("ord_audit_%d", i%2)}
		if err := s.Store().AppendAudit(ctx, e); err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
	}
	_, reader := issueToken(t, s, "audit:read")
	var ids []string
	var prev int64
	pages := 0
	for after := int64(0); ; pages++ {
		status, p := auditPage(t, s, reader, fmt.Sprintf("actor=test_actor&limit=3&after=%d", after))
		if status != http.StatusOK {
			t.Fatalf("GET /v1/audit page %d: %d", pages, status)
		}
		for _, r := range p.Records {
			if r.Seq <= prev || r.Actor != "test_actor" || r.Hash != usher.AuditHash(r) {
				t.Fatalf("record %+v out of order, of another actor or with a wrong hash", r)
			}
			prev = r.Seq
			ids = append(ids, r.EntityID)
		}
		if p.NextAfter == 0 {
			break
		}
		after = p.NextAfter
	}
	if strings.Join(ids, ",") != "0,1,2,3,4,5,6" || pages != 2 {
		t.Fatalf("paged entity ids %v in %d full pages, want 0..6 in 2 full pages and a last one", ids, pages)
	}
	status, p := auditPage(t, s, reader, "order_id=ord_audit_1")
	if status != http.StatusOK || len(p.Records) != 3 {
		t.Fatalf("GET /v1/audit?order_id=ord_audit_1 = %d with %d records, want 3", status, len(p.Records))
	}

	_, ordersOnly := issueToken(t, s, "orders:read")
	if status, _ := auditPage(t, s, ordersOnly, ""); status != http.StatusForbidden {
		t.Fatalf("GET /v1/audit without audit:read = %d, want 403", status)
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/v1/audit", nil)
	if status, _ := s.Do(req); status != http.StatusUnauthorized {
		t.Fatalf("GET /v1/audit without a token = %d, want 401", status)
	}
	if status, _ := auditPage(t, s, reader, "limit=5000"); status != http.StatusBadRequest {
		t.Fatalf("GET /v1/audit?limit=5000 = %d, want 400", status)
	}
	wantChainSound(t, s)
}

func TestBuyerReadIsAuditedAndEraseKeepsHistory(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	ctx := context.Background()
	const orderID = "ord_pii"
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid(orderID, 2)))
	waitOrder(t, s, orderID)
	// The processor may already have put the buyer in the vault; PutBuyer
	// is idempotent per order either way.
	var token string
	err := s.Store().InTx(ctx, func(tx *store.Tx) error {
		var err error
		token, err = tx.PutBuyer(ctx, orderID, usher.Buyer{Email: "ada@example.com", Name: "Ada Lovelace"})
		return err
	})
	if err != nil {
		t.Fatalf("PutBuyer: %v", err)
	}
	readerID, reader := issueToken(t, s, "pii:read")
	_, auditor := issueToken(t, s, "audit:read")
	_, ordersOnly := issueToken(t, s, "orders:read")

	var b pii.BuyerView
	path := "/v1/orders/" + orderID + "/buyer"
	if status := s.Admin(http.MethodGet, path, reader, nil, &b); status != http.StatusOK || b.Email != "ada@example.com" || b.Token != token {
		t.Fatalf("GET %s = %d %+v, want Ada under token %s", path, status, b, token)
	}
	if status := s.Admin(http.MethodGet, path, ordersOnly, nil, nil); status != http.StatusForbidden {
		t.Fatalf("GET %s without pii:read = %d, want 403", path, status)
	}
	if status := s.Admin(http.MethodDelete, path, reader, nil, nil); status != http.StatusForbidden {
		t.Fatalf("DELETE %s with only pii:read = %d, want 403", path, status)
	}
	_, p := auditPage(t, s, auditor, "order_id="+orderID+"&actor="+readerID)
	if len(p.Records) != 1 || p.Records[0].Action != pii.ActionRead || p.Records[0].EntityID != token {
		t.Fatalf("audit records of %s by %s = %+v, want one pii.read of %s", orderID, readerID, p.Records, token)
	}
	for _, r := range p.Records {
		if strings.Contains(string(r.Detail), "ada@") || strings.Contains(string(r.Detail), "Lovelace") {
			t.Fatalf("audit detail holds personal data: %s", r.Detail)
		}
	}

	b = pii.BuyerView{}
	if status := s.Admin(http.MethodDelete, path, "", nil, &b); status != http.StatusOK || b.ErasedAt == nil || b.Email != "" {
		t.Fatalf("DELETE %s = %d %+v, want erased", path, status, b)
	}
	o := waitOrder(t, s, orderID)
	if len(o.Tickets) != 2 {
		t.Fatalf("order after erasure has %d tickets, want its 2", len(o.Tickets))
	}
	b = pii.BuyerView{}
	if status := s.Admin(http.MethodGet, path, reader, nil, &b); status != http.StatusOK || b.ErasedAt == nil || b.Email != "" || b.Name != "" {
		t.Fatalf("GET %s after erasure = %d %+v, want erased_at and no data", path, status, b)
	}
	_, p = auditPage(t, s, auditor, "order_id="+orderID+"&actor="+s.AdminTokenID())
	if len(p.Records) != 1 || p.Records[0].Action != pii.ActionErased {
		t.Fatalf("audit records of the erasure = %+v, want one pii.erased by bootstrap", p.Records)
	}
	wantChainSound(t, s)
}
