package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
)

var incidentTests = []subtest{
	{"CreateTagClose", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		at := time.Now().UTC().Truncate(time.Microsecond)
		mustTx(t, db, func(tx *store.Tx) error {
			return tx.CreateIncident(ctx, usher.Incident{ID: "inc_1", Title: "lane down", CreatedBy: "tok_a", CreatedAt: at})
		})
		var added int
		mustTx(t, db, func(tx *store.Tx) (err error) {
			added, err = tx.TagIncident(ctx, "inc_1", usher.TagDeadLetter, []string{"dl_1", "dl_2", "dl_1"}, at)
			return err
		})
		if added != 2 {
			t.Fatalf("TagIncident added %d, want 2 (a repeated ref counts once)", added)
		}
		in, err := db.Incident(ctx, "inc_1")
		if err != nil || in.Status != usher.IncidentOpen || in.Tags[usher.TagDeadLetter] != 2 || !in.CreatedAt.Equal(at) {
			t.Fatalf("Incident = %+v, %v; want open with 2 dead letters", in, err)
		}
		mustTx(t, db, func(tx *store.Tx) error { return tx.CloseIncident(ctx, "inc_1", "fixed", at.Add(time.Hour)) })
		in, _ = db.Incident(ctx, "inc_1")
		if in.Status != usher.IncidentClosed || in.Summary != "fixed" || !in.ClosedAt.Equal(at.Add(time.Hour)) {
			t.Fatalf("closed incident = %+v", in)
		}
		err = db.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.TagIncident(ctx, "inc_1", usher.TagDeadLetter, []string{"dl_3"}, at)
			return err
		})
		wantCode(t, "TagIncident(closed)", err, usher.CodeConflict)
		err = db.InTx(ctx, func(tx *store.Tx) error { return tx.CloseIncident(ctx, "inc_none", "", at) })
		wantCode(t, "CloseIncident(missing)", err, usher.CodeNotFound)
		_, err = db.Incident(ctx, "inc_none")
		wantCode(t, "Incident(missing)", err, usher.CodeNotFound)
		list, err := db.Incidents(ctx, usher.IncidentClosed, 10)
		if err != nil || len(list) != 1 || list[0].ID != "inc_1" {
			t.Fatalf("Incidents(closed) = %+v, %v", list, err)
		}
		if open, _ := db.Incidents(ctx, usher.IncidentOpen, 10); len(open) != 0 {
			t.Fatalf("Incidents(open) = %+v, want none", open)
		}
	}},
	{"DeadLettersOfTags", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		at := time.Now()
		dls := []usher.DeadLetter{
			dlqEntry("dl_a", "delivery", "sub_a", "ticket.issued", "rejected"),
			dlqEntry("dl_b", "delivery", "sub_b", "ticket.issued", "rejected"),
			dlqEntry("dl_c", "delivery", "sub_c", "ticket.issued", "rejected"),
			dlqEntry("dl_p", "processing", "", "order.paid", "unknown_order"),
		}
		dls[3].Source = "stripe"
		for _, d := range dls {
			mustTx(t, db, func(tx *store.Tx) error { return tx.UpsertDeadLetter(ctx, d) })
		}
		mustTx(t, db, func(tx *store.Tx) error {
			if err := tx.CreateIncident(ctx, usher.Incident{ID: "inc_2", Title: "t", CreatedBy: "x", CreatedAt: at}); err != nil {
				return err
			}
			for kind, refs := range map[string][]string{
				usher.TagDeadLetter: {"dl_a"}, usher.TagDelivery: {"sub_b/evt_dl_b", "sub_x/evt_none"},
				usher.TagInbound: {"stripe/evt_dl_p"},
			} {
				if _, err := tx.TagIncident(ctx, "inc_2", kind, refs, at); err != nil {
					return err
				}
			}
			return tx.MarkDeadLetterReplayed(ctx, "dl_c", at)
		})
		got, err := db.IncidentDeadLetters(ctx, "inc_2", 100)
		if want := []string{"dl_a", "dl_b", "dl_p"}; err != nil || !slices.Equal(got, want) {
			t.Fatalf("IncidentDeadLetters = %v, %v; want %v (dl_c is untagged)", got, err, want)
		}
		mustTx(t, db, func(tx *store.Tx) error { return tx.MarkDeadLetterReplayed(ctx, "dl_a", at) })
		if got, _ := db.IncidentDeadLetters(ctx, "inc_2", 100); slices.Contains(got, "dl_a") {
			t.Fatalf("IncidentDeadLetters after a replay = %v, want only open ones", got)
		}
		tags, err := db.IncidentTags(ctx, "inc_2", 100)
		if err != nil || len(tags) != 4 {
			t.Fatalf("IncidentTags = %+v, %v; want 4", tags, err)
		}
	}},
	{"DeadLetterErrorText", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		a, b := dlqEntry("dl_x", "delivery", "sub_a", "ticket.issued", "rejected"), dlqEntry("dl_y", "delivery", "sub_a", "ticket.issued", "rejected")
		b.LastError, b.FirstError = "dial tcp: connection refused 100%_", "dial tcp"
		for _, d := range []usher.DeadLetter{a, b} {
			mustTx(t, db, func(tx *store.Tx) error { return tx.UpsertDeadLetter(ctx, d) })
		}
		for q, want := range map[string]int{"HTTP 503": 1, "Connection REFUSED": 1, "100%_": 1, "0%x": 0, "http 500": 1, "dial": 1, "": 2} {
			got, _, err := db.SearchDeadLetters(ctx, usher.DeadLetterFilter{Error: q, Limit: 10})
			if err != nil || len(got) != want {
				t.Errorf("SearchDeadLetters(error %q) = %d, %v; want %d", q, len(got), err, want)
			}
		}
	}},
	{"Refs", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		for i, o := range []string{"ord_1", "ord_2"} {
			insertInbound(t, db, usher.InboundRecord{Source: "stripe", EventID: "evt_" + o, PayloadHash: "h", Type: "order.paid",
				OrderID: o, KeyID: "key_" + string(rune('a'+i)), Outcome: usher.OutcomeApplied, EventAt: time.Now(), ReceivedAt: time.Now(), ProcessedAt: time.Now()})
		}
		refs, err := db.InboundRefs(ctx, usher.InboundRefFilter{OrderID: "ord_2", Limit: 10})
		if err != nil || !slices.Equal(refs, []string{"stripe/evt_ord_2"}) {
			t.Fatalf("InboundRefs(ord_2) = %v, %v", refs, err)
		}
		recs, err := db.InboundByEvent(ctx, "evt_ord_1")
		if err != nil || len(recs) != 1 || recs[0].OrderID != "ord_1" || recs[0].KeyID != "key_a" {
			t.Fatalf("InboundByEvent = %+v, %v", recs, err)
		}
		use, err := db.KeyUsage(ctx, "stripe", time.Now().Add(-time.Hour))
		if err != nil || len(use) != 2 || use[0].Events != 1 {
			t.Fatalf("KeyUsage = %+v, %v; want two keys used once", use, err)
		}
	}},
}
