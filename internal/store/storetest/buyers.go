package storetest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/secrets"
	"github.com/usherhq/usher/internal/store"
)

// withSealer makes db seal personal data under a fresh master key.
func withSealer(t *testing.T, db *store.DB) {
	t.Helper()
	key := make([]byte, secrets.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	s, err := secrets.New(key)
	if err != nil {
		t.Fatalf("secrets.New: %v", err)
	}
	db.SetSealer(s)
}

func putBuyer(t *testing.T, db *store.DB, orderID string, b usher.Buyer) string {
	t.Helper()
	return txValue(t, db, func(tx *store.Tx) (string, error) { return tx.PutBuyer(t.Context(), orderID, b) })
}

// buyerTests cover the personal-data vault.
var buyerTests = []subtest{
	{"RoundTripSealedAtRest", func(t *testing.T, db *store.DB) {
		withSealer(t, db)
		ctx := t.Context()
		want := usher.Buyer{Email: "grace.hopper@example.com", Name: "Grace Hopper"}
		token := putBuyer(t, db, "ord_1", want)
		if !strings.HasPrefix(token, usher.BuyerTokenPrefix) || len(token) < 20 || strings.Contains(token, "grace") {
			t.Fatalf("token %q: want an opaque byr_ pseudonym", token)
		}
		for _, key := range []string{token, "ord_1"} {
			if got, err := db.Buyer(ctx, key); err != nil || got != want {
				t.Errorf("Buyer(%s) = %+v, %v; want %+v", key, got, err, want)
			}
		}
		rec, err := db.BuyerRecord(ctx, "ord_1")
		if err != nil || rec.Token != token || rec.OrderID != "ord_1" || rec.Erased() || rec.CreatedAt.IsZero() {
			t.Fatalf("BuyerRecord = %+v, %v", rec, err)
		}
		for _, col := range []string{"email_sealed", "name_sealed", "token", "order_id"} {
			for _, raw := range rawBytes(t, db, `SELECT `+col+` FROM buyers`) {
				for _, secret := range []string{want.Email, want.Name, "hopper", "Hopper"} {
					if bytes.Contains(raw, []byte(secret)) {
						t.Errorf("column %s holds %q in the clear: %q", col, secret, raw)
					}
				}
			}
		}
	}},
	{"PutIsIdempotentPerOrder", func(t *testing.T, db *store.DB) {
		withSealer(t, db)
		ctx := t.Context()
		first := putBuyer(t, db, "ord_1", testBuyer)
		again := putBuyer(t, db, "ord_1", usher.Buyer{Email: "other@example.com", Name: "Other"})
		if again != first {
			t.Fatalf("second PutBuyer of ord_1 = %s, want the first token %s", again, first)
		}
		if got, err := db.Buyer(ctx, "ord_1"); err != nil || got != testBuyer {
			t.Fatalf("Buyer(ord_1) = %+v, %v; want the first buyer kept", got, err)
		}
		other := putBuyer(t, db, "ord_2", testBuyer)
		if other == first {
			t.Fatal("two orders share a buyer token")
		}
		// Concurrent first writers of one order agree on one token.
		tokens := make([]string, 8)
		var wg sync.WaitGroup
		for i := range tokens {
			wg.Go(func() {
				_ = db.InTx(ctx, func(tx *store.Tx) error {
					var err error
					tokens[i], err = tx.PutBuyer(ctx, "ord_3", testBuyer)
					return err
				})
			})
		}
		wg.Wait()
		for _, tok := range tokens {
			if tok == "" || tok != tokens[0] {
				t.Fatalf("concurrent PutBuyer tokens = %v, want one token", tokens)
			}
		}
		if n := len(rawBytes(t, db, `SELECT token FROM buyers WHERE order_id = $1`, "ord_3")); n != 1 {
			t.Fatalf("%d vault rows for ord_3, want 1", n)
		}
	}},
	{"EraseKeepsOrderTicketsAndAudit", func(t *testing.T, db *store.DB) {
		withSealer(t, db)
		ctx := t.Context()
		var token string
		mustTx(t, db, func(tx *store.Tx) error {
			if err := insertOrder(t, "ord_1")(tx); err != nil {
				return err
			}
			if err := tx.InsertTicket(ctx, testTicket("tkt_1", "ord_1", "code_1")); err != nil {
				return err
			}
			var err error
			if token, err = tx.PutBuyer(ctx, "ord_1", testBuyer); err != nil {
				return err
			}
			return tx.AppendAudit(ctx, usher.AuditEntry{Actor: "processor", Action: "order.paid", EntityType: "buyer", EntityID: token, OrderID: "ord_1"})
		})
		if err := db.EraseBuyer(ctx, "ord_1"); err != nil {
			t.Fatalf("EraseBuyer: %v", err)
		}
		_, err := db.Buyer(ctx, "ord_1")
		wantCode(t, "Buyer of an erased buyer", err, usher.CodeNotFound)
		if !errors.Is(err, usher.ErrErased) {
			t.Fatalf("Buyer of an erased buyer = %v, want usher.ErrErased in its chain", err)
		}
		rec, err := db.BuyerRecord(ctx, token)
		if err != nil || !rec.Erased() || rec.Token != token || rec.OrderID != "ord_1" || rec.Buyer != (usher.Buyer{}) {
			t.Fatalf("BuyerRecord after erasure = %+v, %v; want the token kept, erased, no data", rec, err)
		}
		for _, raw := range rawBytes(t, db, `SELECT email_sealed FROM buyers UNION ALL SELECT name_sealed FROM buyers`) {
			if raw != nil {
				t.Fatalf("sealed value after erasure = %q, want NULL", raw)
			}
		}
		o, err := db.OrderWithTickets(ctx, "ord_1")
		if err != nil || len(o.Tickets) != 1 || o.Tickets[0].TicketID != "tkt_1" {
			t.Fatalf("order after erasure = %+v, %v; want it with its ticket", o, err)
		}
		wantSound(t, db, 1)

		// Erasing again and a redelivered PutBuyer change nothing.
		if err := db.EraseBuyer(ctx, "ord_1"); err != nil {
			t.Fatalf("second EraseBuyer: %v", err)
		}
		if again := putBuyer(t, db, "ord_1", testBuyer); again != token {
			t.Fatalf("PutBuyer after erasure = %s, want %s", again, token)
		}
		if rec2, err := db.BuyerRecord(ctx, "ord_1"); err != nil || !rec2.ErasedAt.Equal(rec.ErasedAt) || rec2.Buyer != (usher.Buyer{}) {
			t.Fatalf("after a second erase and a new PutBuyer: %+v, %v; want still erased at %v", rec2, err, rec.ErasedAt)
		}
	}},
	{"UnknownBuyer", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		_, err := db.Buyer(ctx, "ord_none")
		wantCode(t, "Buyer(ord_none)", err, usher.CodeNotFound)
		if errors.Is(err, usher.ErrErased) {
			t.Fatalf("Buyer of an unknown order = %v, want not found, not erased", err)
		}
		wantCode(t, "EraseBuyer(ord_none)", db.EraseBuyer(ctx, "ord_none"), usher.CodeNotFound)
	}},
	{"SealedValueBoundToItsRowAndField", func(t *testing.T, db *store.DB) {
		withSealer(t, db)
		ctx := t.Context()
		putBuyer(t, db, "ord_1", usher.Buyer{Email: "a@example.com", Name: "A"})
		putBuyer(t, db, "ord_2", usher.Buyer{Email: "b@example.com", Name: "B"})
		// Field swap within a row.
		rawExec(t, db, `UPDATE buyers SET email_sealed = name_sealed, name_sealed = email_sealed WHERE order_id = $1`, "ord_1")
		if b, err := db.Buyer(ctx, "ord_1"); err == nil || usher.ErrorCode(err) != usher.CodeInternal {
			t.Fatalf("Buyer after swapping its sealed fields = %+v, %v; want a failure to open", b, err)
		}
		// Copy of another row's value.
		rawExec(t, db, `UPDATE buyers SET email_sealed = (SELECT email_sealed FROM buyers WHERE order_id = $1) WHERE order_id = $2`, "ord_1", "ord_2")
		if b, err := db.Buyer(ctx, "ord_2"); err == nil {
			t.Fatalf("Buyer with another row's sealed email = %+v, want a failure to open", b)
		}
	}},
}
