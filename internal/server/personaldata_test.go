package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/ushertest"
)

// TestBuyerDataOnlyInTheVault: an order.paid's buyer is stored sealed in the
// vault; orders, dedupe records, outbound events and the audit trail hold
// only its token; every state change and admin action is on the chain.
func TestBuyerDataOnlyInTheVault(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	if status := s.Admin(http.MethodPut, "/v1/shows/demo-show/inventory/GA", "", map[string]int{"capacity": 50}, nil); status != 200 {
		t.Fatalf("capacity: %d", status)
	}
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid("ord_pii", 1)))
	waitOrder(t, s, "ord_pii")

	noPersonalDataOutsideTheVault(t, s)
	var buyer struct {
		Email string `json:"email"`
	}
	if status := s.Admin(http.MethodGet, "/v1/orders/ord_pii/buyer", "", nil, &buyer); status != 200 || buyer.Email != "ada@example.com" {
		t.Errorf("GET buyer with pii:read: %d %+v", status, buyer)
	}
	recs, err := s.Store().AuditLog(context.Background(), auditFilterAll())
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]bool{}
	for _, r := range recs {
		actions[r.Action] = true
	}
	for _, want := range []string{"inventory.capacity_set", "order.paid", "pii.read"} {
		if !actions[want] {
			t.Errorf("audit trail lacks %s: %v", want, actions)
		}
	}
	rep, err := audit.Verify(context.Background(), s.Store())
	if err != nil || !rep.OK() {
		t.Errorf("audit verify: %v %v", rep, err)
	}
}

func auditFilterAll() usher.AuditFilter { return usher.AuditFilter{Limit: 1000} }

// noPersonalDataOutsideTheVault fails t when a table other than the vault
// holds the test buyer's email or name in clear.
func noPersonalDataOutsideTheVault(t *testing.T, s *ushertest.Server) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.Config.DataDir, "usher.db")+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`SELECT buyer_email || buyer_name FROM orders`,
		`SELECT data FROM inbound_events`,
		`SELECT data FROM outbox`,
		`SELECT detail FROM audit_log`,
		`SELECT COALESCE(CAST(email_sealed AS TEXT), '') FROM buyers`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for rows.Next() {
			var v string
			_ = rows.Scan(&v)
			if strings.Contains(v, "ada@example.com") || strings.Contains(v, "Lovelace") {
				t.Errorf("%s holds personal data: %q", q, v)
			}
		}
		rows.Close()
	}
}

// TestBuyerUnderAnotherSpellingIsNotStoredInClear: a sender that spells the
// buyer's key (or its fields) in another case still gets it vaulted, never
// written in clear to the order, the dedupe record or the outbox.
func TestBuyerUnderAnotherSpellingIsNotStoredInClear(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	if status := s.Admin(http.MethodPut, "/v1/shows/demo-show/inventory/GA", "", map[string]int{"capacity": 50}, nil); status != 200 {
		t.Fatalf("capacity: %d", status)
	}
	for i, key := range []string{"Buyer", "BUYER", "buyer"} {
		data := ushertest.Paid(fmt.Sprintf("ord_case_%d", i), 1)
		delete(data, "buyer")
		data[key] = map[string]string{"Email": "ada@example.com", "NAME": "Ada Lovelace"}
		mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.paid", data))
		waitOrder(t, s, fmt.Sprintf("ord_case_%d", i))
	}
	noPersonalDataOutsideTheVault(t, s)
}
