package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
)

func appendChange(t *testing.T, db *store.DB, c usher.TicketChange) int64 {
	t.Helper()
	return txValue(t, db, func(tx *store.Tx) (int64, error) { return tx.AppendTicketChange(t.Context(), c) })
}

func change(venue, ticket string) usher.TicketChange {
	return usher.TicketChange{
		VenueID: venue, TicketID: ticket, ShowID: "show_1", Status: "valid",
		CodeHash: "hash_" + ticket, AcceptedAt: time.Now().Add(-time.Second),
	}
}

var feedTests = []subtest{
	{"SeqPerVenue", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		var a, b []int64
		for i := range 3 {
			a = append(a, appendChange(t, db, change("venue_a", fmt.Sprintf("tkt_a%d", i))))
			if i < 2 {
				b = append(b, appendChange(t, db, change("venue_b", fmt.Sprintf("tkt_b%d", i))))
			}
		}
		if !slices.Equal(a, []int64{1, 2, 3}) || !slices.Equal(b, []int64{1, 2}) {
			t.Fatalf("seqs venue_a=%v venue_b=%v, want [1 2 3] and [1 2]", a, b)
		}
		// Several appends in one transaction follow each other too.
		mustTx(t, db, func(tx *store.Tx) error {
			for want := int64(4); want <= 5; want++ {
				seq, err := tx.AppendTicketChange(ctx, change("venue_a", fmt.Sprintf("tkt_a%d", want)))
				if err != nil {
					return err
				}
				if seq != want {
					t.Errorf("seq in a transaction = %d, want %d", seq, want)
				}
			}
			return nil
		})
		// A rolled-back append leaves no gap.
		err := db.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.AppendTicketChange(ctx, change("venue_a", "tkt_gone")); err != nil {
				return err
			}
			return errRollback
		})
		if err != errRollback {
			t.Fatalf("InTx = %v, want the rollback sentinel", err)
		}
		if seq := appendChange(t, db, change("venue_a", "tkt_a6")); seq != 6 {
			t.Fatalf("seq after a rolled-back append = %d, want 6", seq)
		}
	}},
	{"Paging", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		want := make([]usher.TicketChange, 5)
		for i := range want {
			want[i] = change("venue_a", fmt.Sprintf("tkt_%d", i))
			want[i].Seq = appendChange(t, db, want[i])
			appendChange(t, db, change("venue_b", fmt.Sprintf("tkt_b%d", i)))
		}
		all, err := db.TicketChanges(ctx, "venue_a", 0, 100)
		if err != nil {
			t.Fatalf("TicketChanges: %v", err)
		}
		if len(all) != len(want) {
			t.Fatalf("TicketChanges(venue_a) = %d entries, want %d", len(all), len(want))
		}
		for i, got := range all {
			w := want[i]
			if got.VenueID != w.VenueID || got.Seq != w.Seq || got.TicketID != w.TicketID || got.ShowID != w.ShowID ||
				got.Status != w.Status || got.CodeHash != w.CodeHash || !got.AcceptedAt.Equal(micro(w.AcceptedAt)) || got.ChangedAt.IsZero() {
				t.Errorf("entry %d = %+v, want %+v", i, got, w)
			}
		}
		var pages [][]int64
		for after := int64(0); ; {
			page, err := db.TicketChanges(ctx, "venue_a", after, 2)
			if err != nil {
				t.Fatalf("TicketChanges(after %d): %v", after, err)
			}
			if len(page) == 0 {
				break
			}
			var seqs []int64
			for _, c := range page {
				seqs = append(seqs, c.Seq)
			}
			pages = append(pages, seqs)
			after = page[len(page)-1].Seq
		}
		if fmt.Sprint(pages) != "[[1 2] [3 4] [5]]" {
			t.Fatalf("pages = %v, want [[1 2] [3 4] [5]]", pages)
		}
		if none, err := db.TicketChanges(ctx, "venue_none", 0, 10); err != nil || none == nil || len(none) != 0 {
			t.Fatalf("TicketChanges(venue_none) = %#v, %v; want an empty list", none, err)
		}
	}},
	{"ConcurrentAppendsGapFree", func(t *testing.T, db *store.DB) {
		const writers, each = 16, 8
		ctx := t.Context()
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			seqs []int64
			errs []error
		)
		start := make(chan struct{})
		for w := range writers {
			wg.Go(func() {
				<-start
				for i := range each {
					var seq int64
					err := db.InTx(ctx, func(tx *store.Tx) error {
						var err error
						seq, err = tx.AppendTicketChange(ctx, change("venue_a", fmt.Sprintf("tkt_%d_%d", w, i)))
						return err
					})
					mu.Lock()
					if err != nil {
						errs = append(errs, fmt.Errorf("writer %d append %d: %w", w, i, err))
					} else {
						seqs = append(seqs, seq)
					}
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			t.Errorf("append failed: %v", err)
		}
		slices.Sort(seqs)
		for i, s := range seqs {
			if s != int64(i+1) {
				t.Fatalf("sorted seqs = %v, want 1..%d without gaps or repeats", seqs, writers*each)
			}
		}
		feed, err := db.TicketChanges(ctx, "venue_a", 0, 10*writers*each)
		if err != nil {
			t.Fatalf("TicketChanges: %v", err)
		}
		if len(feed) != writers*each {
			t.Fatalf("feed has %d entries, want %d", len(feed), writers*each)
		}
		tickets := map[string]bool{}
		for i, c := range feed {
			if c.Seq != int64(i+1) {
				t.Fatalf("feed entry %d has seq %d", i, c.Seq)
			}
			tickets[c.TicketID] = true
		}
		if len(tickets) != writers*each {
			t.Fatalf("feed names %d distinct tickets, want %d", len(tickets), writers*each)
		}
	}},
}

var outboxTests = []subtest{
	{"AppendAndListInOrder", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		ids := []string{"evt_c", "evt_a", "evt_b", "evt_d"}
		mustTx(t, db, func(tx *store.Tx) error {
			for _, id := range ids[:2] {
				if err := tx.AppendOutbox(ctx, usher.OutboundEvent{ID: id, Type: "ticket.issued", OrderID: "ord_1", VenueID: "venue_1",
					Data: json.RawMessage(`{"id":"` + id + `"}`)}); err != nil {
					return err
				}
			}
			return nil
		})
		for _, id := range ids[2:] {
			mustTx(t, db, func(tx *store.Tx) error {
				return tx.AppendOutbox(ctx, usher.OutboundEvent{ID: id, Type: "order.confirmed", OrderID: "ord_2", VenueID: "venue_2",
					Data: json.RawMessage(`{"id":"` + id + `"}`)})
			})
		}
		all, err := db.OutboxAfter(ctx, 0, 100)
		if err != nil {
			t.Fatalf("OutboxAfter: %v", err)
		}
		if len(all) != len(ids) {
			t.Fatalf("OutboxAfter(0) = %+v, want %d events", all, len(ids))
		}
		for i, ev := range all {
			if ev.ID != ids[i] || string(ev.Data) != `{"id":"`+ids[i]+`"}` || ev.CreatedAt.IsZero() {
				t.Errorf("event %d = %+v, want id %s with its data", i, ev, ids[i])
			}
			if i > 0 && ev.Seq <= all[i-1].Seq {
				t.Errorf("event %d seq %d not after %d", i, ev.Seq, all[i-1].Seq)
			}
		}
		if all[0].Type != "ticket.issued" || all[0].OrderID != "ord_1" || all[0].VenueID != "venue_1" ||
			all[3].Type != "order.confirmed" || all[3].OrderID != "ord_2" || all[3].VenueID != "venue_2" {
			t.Errorf("fields not kept: %+v", all)
		}
		page, err := db.OutboxAfter(ctx, all[0].Seq, 2)
		if err != nil {
			t.Fatalf("OutboxAfter(page): %v", err)
		}
		if len(page) != 2 || page[0].ID != "evt_a" || page[1].ID != "evt_b" {
			t.Fatalf("OutboxAfter(seq of first, 2) = %+v, want evt_a, evt_b", page)
		}
		if rest, err := db.OutboxAfter(ctx, all[3].Seq, 10); err != nil || len(rest) != 0 {
			t.Fatalf("OutboxAfter(last) = %+v, %v; want none", rest, err)
		}
	}},
	{"DuplicateIDRejected", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		ev := usher.OutboundEvent{ID: "evt_1", Type: "ticket.issued", OrderID: "ord_1", VenueID: "venue_1", Data: json.RawMessage(`{}`)}
		mustTx(t, db, func(tx *store.Tx) error { return tx.AppendOutbox(ctx, ev) })
		// The outbox rows of a transaction are written at its commit: the
		// duplicate fails the transaction there, as a value the store refuses.
		err := db.InTx(ctx, func(tx *store.Tx) error { return tx.AppendOutbox(ctx, ev) })
		if !errors.Is(err, usher.ErrRejected) {
			t.Fatalf("a transaction appending an id already stored = %v, want ErrRejected", err)
		}
		if all, err := db.OutboxAfter(ctx, 0, 10); err != nil || len(all) != 1 {
			t.Fatalf("OutboxAfter = %+v, %v; want the one event", all, err)
		}
	}},
}

func deadLetter(id, reason string) usher.DeadLetter {
	return usher.DeadLetter{
		ID: id, Stage: "processing", Source: "stripe", EventID: "evt_" + id, Type: "order.paid",
		OrderID: "ord_1", VenueID: "venue_1", Reason: reason, Attempts: 3,
		FirstError: "first", LastError: "last", Payload: json.RawMessage(`{"a":1}`),
	}
}

var deadLetterTests = []subtest{
	{"InsertTwiceKeepsFirst", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		first := deadLetter("dl_1", "invalid_data")
		mustTx(t, db, func(tx *store.Tx) error { return tx.InsertDeadLetter(ctx, first) })
		mustTx(t, db, func(tx *store.Tx) error { return tx.InsertDeadLetter(ctx, deadLetter("dl_1", "other_reason")) })
		// And twice in one transaction.
		mustTx(t, db, func(tx *store.Tx) error {
			if err := tx.InsertDeadLetter(ctx, deadLetter("dl_2", "x")); err != nil {
				return err
			}
			return tx.InsertDeadLetter(ctx, deadLetter("dl_2", "y"))
		})
		all, err := db.DeadLetters(ctx, 10)
		if err != nil {
			t.Fatalf("DeadLetters: %v", err)
		}
		if len(all) != 2 {
			t.Fatalf("DeadLetters = %+v, want 2", all)
		}
		var got usher.DeadLetter
		for _, d := range all {
			if d.ID == "dl_1" {
				got = d
			}
		}
		want := first
		want.CreatedAt, want.UpdatedAt = got.CreatedAt, got.UpdatedAt
		if !reflectEqualDeadLetter(got, want) || got.CreatedAt.IsZero() {
			t.Fatalf("dead letter = %+v, want the first one %+v", got, want)
		}
	}},
	{"NewestFirst", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		for _, id := range []string{"dl_b", "dl_c", "dl_a"} {
			mustTx(t, db, func(tx *store.Tx) error { return tx.InsertDeadLetter(ctx, deadLetter(id, "r")) })
			time.Sleep(2 * time.Millisecond) // distinct created_at
		}
		all, err := db.DeadLetters(ctx, 10)
		if err != nil {
			t.Fatalf("DeadLetters: %v", err)
		}
		var ids []string
		for _, d := range all {
			ids = append(ids, d.ID)
		}
		if !slices.Equal(ids, []string{"dl_a", "dl_c", "dl_b"}) {
			t.Fatalf("DeadLetters order = %v, want newest first [dl_a dl_c dl_b]", ids)
		}
		two, err := db.DeadLetters(ctx, 2)
		if err != nil || len(two) != 2 || two[0].ID != "dl_a" {
			t.Fatalf("DeadLetters(2) = %+v, %v; want the two newest", two, err)
		}
	}},
}

func reflectEqualDeadLetter(a, b usher.DeadLetter) bool {
	pa, pb := a.Payload, b.Payload
	a.Payload, b.Payload = nil, nil
	return string(pa) == string(pb) && reflect.DeepEqual(a, b)
}
