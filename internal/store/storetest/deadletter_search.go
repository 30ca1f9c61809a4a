package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
)

// deadLetterSearchTests cover the dead-letter search and its paging; they
// run in the Delivery group (see deliveryTests).
var deadLetterSearchTests = []subtest{
	{"DeadLetterSearch", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		entries := []usher.DeadLetter{
			dlqEntry("dl_1", "delivery", "sub_a", "ticket.issued", "rejected"),
			dlqEntry("dl_2", "delivery", "sub_a", "order.confirmed", "exhausted"),
			dlqEntry("dl_3", "delivery", "sub_b", "ticket.issued", "rejected"),
			dlqEntry("dl_4", "processing", "", "order.paid", "invalid_data"),
			dlqEntry("dl_5", "delivery", "sub_a", "ticket.issued", "gone"),
		}
		for _, e := range entries {
			mustTx(t, db, func(tx *store.Tx) error { return tx.UpsertDeadLetter(ctx, e) })
			time.Sleep(2 * time.Millisecond) // distinct creation times
		}
		search := func(f usher.DeadLetterFilter) []string {
			t.Helper()
			if f.Limit == 0 {
				f.Limit = 10
			}
			got, _, err := db.SearchDeadLetters(ctx, f)
			if err != nil {
				t.Fatalf("SearchDeadLetters(%+v): %v", f, err)
			}
			out := make([]string, len(got))
			for i, d := range got {
				out[i] = d.ID
			}
			return out
		}
		for _, tc := range []struct {
			f    usher.DeadLetterFilter
			want []string
		}{
			{usher.DeadLetterFilter{}, []string{"dl_5", "dl_4", "dl_3", "dl_2", "dl_1"}},
			{usher.DeadLetterFilter{Stage: "delivery", SubscriptionID: "sub_a"}, []string{"dl_5", "dl_2", "dl_1"}},
			{usher.DeadLetterFilter{Type: "ticket.issued", Reason: "rejected"}, []string{"dl_3", "dl_1"}},
			{usher.DeadLetterFilter{Stage: "processing"}, []string{"dl_4"}},
			{usher.DeadLetterFilter{VenueID: "venue_2"}, []string{}},
		} {
			if got := search(tc.f); !slices.Equal(got, tc.want) {
				t.Errorf("search %+v = %v, want %v", tc.f, got, tc.want)
			}
		}
		all, _, _ := db.SearchDeadLetters(ctx, usher.DeadLetterFilter{Limit: 10})
		if got := search(usher.DeadLetterFilter{Since: all[1].CreatedAt}); !slices.Equal(got, []string{"dl_5", "dl_4"}) {
			t.Errorf("since the second newest = %v", got)
		}
		// Paging walks every entry once.
		var paged []string
		f := usher.DeadLetterFilter{Limit: 2}
		for {
			page, next, err := db.SearchDeadLetters(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range page {
				paged = append(paged, d.ID)
			}
			if next == "" {
				break
			}
			f.Cursor = next
		}
		if !slices.Equal(paged, []string{"dl_5", "dl_4", "dl_3", "dl_2", "dl_1"}) {
			t.Errorf("paged = %v", paged)
		}
		_, _, err := db.SearchDeadLetters(ctx, usher.DeadLetterFilter{Cursor: "not-a-cursor", Limit: 2})
		wantCode(t, "search with a forged cursor", err, usher.CodeInvalid)
		// Replayed entries leave the open list; a new failure opens them again.
		mustTx(t, db, func(tx *store.Tx) error { return tx.MarkDeadLetterReplayed(ctx, "dl_1", time.Now()) })
		if got := search(usher.DeadLetterFilter{SubscriptionID: "sub_a"}); !slices.Equal(got, []string{"dl_5", "dl_2"}) {
			t.Errorf("open after replaying dl_1 = %v", got)
		}
		if got := search(usher.DeadLetterFilter{State: usher.DeadLettersReplayed}); !slices.Equal(got, []string{"dl_1"}) {
			t.Errorf("replayed = %v", got)
		}
		counts, err := db.OpenDeadLetters(ctx)
		if err != nil || counts["delivery"] != 3 || counts["processing"] != 1 {
			t.Errorf("OpenDeadLetters = %v, %v", counts, err)
		}
		again := dlqEntry("dl_1", "delivery", "sub_a", "ticket.issued", "exhausted")
		again.Attempts, again.FirstError, again.LastError = 9, "new first", "timeout"
		mustTx(t, db, func(tx *store.Tx) error { return tx.UpsertDeadLetter(ctx, again) })
		got, err := db.DeadLetterByID(ctx, "dl_1")
		if err != nil || !got.ReplayedAt.IsZero() || got.Replays != 1 || got.Reason != "exhausted" || got.Attempts != 9 ||
			got.FirstError != "http 500" || got.LastError != "timeout" {
			t.Errorf("dl_1 after failing again = %+v, %v; want open, 1 replay, new reason and last error, first error kept", got, err)
		}
		_, err = db.DeadLetterByID(ctx, "dl_none")
		wantCode(t, "DeadLetterByID(missing)", err, usher.CodeNotFound)
		err = tryTx(t, db, func(tx *store.Tx) error { return tx.MarkDeadLetterReplayed(ctx, "dl_none", time.Now()) })
		wantCode(t, "MarkDeadLetterReplayed(missing)", err, usher.CodeNotFound)
		// The spine's reader still sees every entry.
		if old, err := db.DeadLetters(ctx, 10); err != nil || len(old) != 5 {
			t.Errorf("DeadLetters = %d, %v; want 5", len(old), err)
		}
	}},
}
