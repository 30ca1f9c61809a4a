package processor_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/personal"
	"github.com/usherhq/usher/internal/processor"
	"github.com/usherhq/usher/internal/queue"
	"github.com/usherhq/usher/internal/secrets"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/sqlite"
	"github.com/usherhq/usher/internal/telemetry"
	"github.com/usherhq/usher/internal/ticketcode"
)

// signedRig is a processor as usher serve runs it: a sealed vault and
// Ed25519 ticket codes, whose signing is done before the transaction.
type signedRig struct {
	db     *store.DB
	proc   *processor.Processor
	codes  *ticketcode.Keyring
	sealer *secrets.Keyring
}

func newSignedRig(t *testing.T) *signedRig {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "u.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, show := range []string{"show", "show2"} {
		if _, err := db.PutCapacity(context.Background(), show, "GA", 100); err != nil {
			t.Fatal(err)
		}
	}
	sealer, codes := productionKeys(t)
	db.SetSealer(sealer)
	p := processor.New(db, codes, telemetry.NewMetrics(), slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	t.Cleanup(func() { p.Close(); db.Close() })
	return &signedRig{db: db, proc: p, codes: codes.k, sealer: sealer}
}

func newSealer(t *testing.T) *secrets.Keyring {
	t.Helper()
	key, err := secrets.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := secrets.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sealed returns ev as the receiver queues it: personal data sealed.
func sealed(t *testing.T, s personal.Sealer, ev usher.InboundEvent) usher.InboundEvent {
	t.Helper()
	if err := personal.Seal(s, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func (r *signedRig) apply(t *testing.T, evs ...usher.InboundEvent) {
	t.Helper()
	if err := r.proc.HandleBatch(context.Background(), queue.Batch{Events: evs, Delivered: 1}); err != nil {
		t.Fatalf("apply: %v", err)
	}
}

// checkCodes requires every ticket of the order to carry a code whose
// signed claims are the ticket's own.
func (r *signedRig) checkCodes(t *testing.T, orderID string, wantTickets int, show, venue string) []usher.Ticket {
	t.Helper()
	o, err := r.db.OrderWithTickets(context.Background(), orderID)
	if err != nil {
		t.Fatalf("order %s: %v", orderID, err)
	}
	if len(o.Tickets) != wantTickets {
		t.Fatalf("order %s has %d tickets, want %d", orderID, len(o.Tickets), wantTickets)
	}
	for _, tk := range o.Tickets {
		c, err := r.codes.Verify(tk.Code)
		if err != nil {
			t.Fatalf("ticket %s: code does not verify: %v", tk.TicketID, err)
		}
		want := ticketcode.Claims{TicketID: tk.TicketID, ShowID: show, VenueID: venue, Generation: 1}
		if c != want || tk.ShowID != show || tk.VenueID != venue {
			t.Fatalf("ticket %s (show %s, venue %s) has claims %+v, want %+v", tk.TicketID, tk.ShowID, tk.VenueID, c, want)
		}
	}
	return o.Tickets
}

func paidData(orderID, show, venue string, qty int) map[string]any {
	return map[string]any{"order_id": orderID, "show_id": show, "venue_id": venue,
		"items": []map[string]any{{"ticket_type": "GA", "quantity": qty}}, "buyer": map[string]string{"email": "ada@example.com", "name": "Ada"}}
}

func TestPreparedCodesAreTheTicketsOwn(t *testing.T) {
	r := newSignedRig(t)
	at := time.Now()
	paid := sealed(t, r.sealer, event("e1", usher.TypeOrderPaid, at, paidData("ord_1", "show", "v", 3)))
	// The same event twice in one batch, and again in a later one: one set
	// of tickets.
	r.apply(t, paid, paid)
	r.apply(t, paid)
	r.checkCodes(t, "ord_1", 3, "show", "v")
}

func TestPreparedCodesAreNotUsedForAnotherShow(t *testing.T) {
	// The order was created for show/v; a payment naming show2/v2 does not
	// move it, so the tickets it mints are of show/v and the codes made
	// ahead for show2/v2 must not be used.
	r := newSignedRig(t)
	at := time.Now()
	r.apply(t, sealed(t, r.sealer, event("c1", usher.TypeOrderCreated, at, paidData("ord_1", "show", "v", 2))))
	r.apply(t, sealed(t, r.sealer, event("p1", usher.TypeOrderPaid, at.Add(time.Second), paidData("ord_1", "show2", "v2", 2))))
	r.checkCodes(t, "ord_1", 2, "show", "v")
}

func TestPreparedCodesOfARefundedOrderAreMintedRevoked(t *testing.T) {
	r := newSignedRig(t)
	at := time.Now()
	refund := event("r1", usher.TypeOrderRefunded, at, map[string]any{"order_id": "ord_1"})
	paid := sealed(t, r.sealer, event("p1", usher.TypeOrderPaid, at.Add(time.Second), paidData("ord_1", "show", "v", 2)))
	r.apply(t, refund, paid)
	for _, tk := range r.checkCodes(t, "ord_1", 2, "show", "v") {
		if tk.Status != usher.TicketRevoked {
			t.Fatalf("ticket %s of a refunded order is %s, want revoked", tk.TicketID, tk.Status)
		}
	}
}

func TestSealedDataTheKeysDoNotOpenIsSetAside(t *testing.T) {
	r := newSignedRig(t)
	other := newSealer(t) // not one of the store's master keys
	ev := sealed(t, other, event("p1", usher.TypeOrderPaid, time.Now(), paidData("ord_1", "show", "v", 2)))
	r.apply(t, ev)
	recs, err := r.db.InboundRecords(context.Background(), "ord_1")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Outcome != usher.OutcomeSetAside || recs[0].Reason != "personal_data_unreadable" {
		t.Fatalf("dedupe records = %+v, want one set aside as personal_data_unreadable", recs)
	}
	if _, err := r.db.OrderWithTickets(context.Background(), "ord_1"); usher.ErrorCode(err) != usher.CodeNotFound {
		t.Fatalf("order of an unreadable event: %v, want none", err)
	}
}

func TestVaultMadeAheadGivesAnOrderOneBuyer(t *testing.T) {
	// Every event names the buyer; each has a buyer sealed ahead under a
	// token of its own. Only the first event's is stored: the others, in
	// the same batch and in a later one, find the order's buyer and name
	// its token.
	r := newSignedRig(t)
	at := time.Now()
	created := sealed(t, r.sealer, event("c1", usher.TypeOrderCreated, at, paidData("ord_1", "show", "v", 2)))
	paid := sealed(t, r.sealer, event("p1", usher.TypeOrderPaid, at.Add(time.Second), paidData("ord_1", "show", "v", 2)))
	again := sealed(t, r.sealer, event("p2", usher.TypeOrderPaid, at.Add(2*time.Second), paidData("ord_1", "show", "v", 2)))
	r.apply(t, created, paid)
	r.apply(t, again)
	rec, err := r.db.BuyerRecord(context.Background(), "ord_1")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Buyer != (usher.Buyer{Email: "ada@example.com", Name: "Ada"}) {
		t.Fatalf("vaulted buyer = %+v", rec.Buyer)
	}
	recs, err := r.db.InboundRecords(context.Background(), "ord_1")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("%d dedupe records, want 3", len(recs))
	}
	want := `{"token":"` + rec.Token + `"}`
	for _, in := range recs {
		var d struct{ Buyer json.RawMessage }
		if err := json.Unmarshal(in.Data, &d); err != nil || string(d.Buyer) != want {
			t.Fatalf("event %s stored buyer %s, want %s (%v)", in.EventID, d.Buyer, want, err)
		}
	}
}
