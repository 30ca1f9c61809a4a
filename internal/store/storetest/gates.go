package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
)

// venueTicket inserts an order of the venue with one ticket per code.
func venueTickets(t *testing.T, db *store.DB, venue, orderID string, codes ...string) []usher.Ticket {
	t.Helper()
	o := testOrder(orderID)
	o.VenueID = venue
	var out []usher.Ticket
	mustTx(t, db, func(tx *store.Tx) error {
		out = out[:0]
		if err := tx.InsertOrder(t.Context(), o, testBuyer); err != nil {
			return err
		}
		for i, code := range codes {
			tk := testTicket(fmt.Sprintf("tkt_%s_%d", orderID, i), orderID, code)
			tk.VenueID = venue
			if err := tx.InsertTicket(t.Context(), tk); err != nil {
				return err
			}
			out = append(out, tk)
		}
		return nil
	})
	return out
}

func testScan(venue, nonce string, at time.Time) usher.Scan {
	return usher.Scan{
		VenueID: venue, Nonce: nonce, DeviceID: "dev_1", CodeHash: "hash_" + nonce, TicketID: "tkt_1", ShowID: "show_1",
		Mode: usher.ScanOffline, Decision: "admitted", Result: "admitted", Reason: "why", ScannedAt: at,
	}
}

func insertScan(t *testing.T, db *store.DB, s usher.Scan) int64 {
	t.Helper()
	return txValue(t, db, func(tx *store.Tx) (int64, error) { return tx.InsertScan(t.Context(), s) })
}

var gateTests = []subtest{
	{"TicketByCode", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		want := venueTickets(t, db, "venue_a", "ord_1", "CODE-A", "CODE-B")
		mustTx(t, db, func(tx *store.Tx) error {
			got, found, err := tx.TicketByCode(ctx, "CODE-B")
			if err != nil || !found {
				t.Fatalf("TicketByCode(CODE-B) = %+v, %v, %v; want the ticket", got, found, err)
			}
			sameTicket(t, got, want[1], usher.TicketValid)
			if got, found, err := tx.TicketByCode(ctx, "code-b"); err != nil || found {
				t.Fatalf("TicketByCode(code-b) = %+v, %v, %v; want not found (codes are exact)", got, found, err)
			}
			return nil
		})
	}},
	{"VenueTicketsPaging", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		venueTickets(t, db, "venue_a", "ord_a", "A0", "A1", "A2", "A3", "A4")
		venueTickets(t, db, "venue_b", "ord_b", "B0")
		var pages [][]string
		for after := ""; ; {
			page, err := db.VenueTickets(ctx, "venue_a", after, 2)
			if err != nil {
				t.Fatalf("VenueTickets: %v", err)
			}
			if len(page) == 0 {
				break
			}
			var ids []string
			for _, tk := range page {
				if tk.VenueID != "venue_a" {
					t.Fatalf("ticket of %s in venue_a's page", tk.VenueID)
				}
				ids = append(ids, tk.TicketID)
			}
			pages = append(pages, ids)
			after = page[len(page)-1].TicketID
		}
		if fmt.Sprint(pages) != "[[tkt_ord_a_0 tkt_ord_a_1] [tkt_ord_a_2 tkt_ord_a_3] [tkt_ord_a_4]]" {
			t.Fatalf("pages = %v, want the five tickets by id, two a page", pages)
		}
	}},
	{"ScanNonceOncePerVenue", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		at := time.Now().Add(-time.Minute)
		first := testScan("venue_a", "n1", at)
		id := insertScan(t, db, first)
		err := tryTx(t, db, func(tx *store.Tx) error {
			_, err := tx.InsertScan(ctx, testScan("venue_a", "n1", at.Add(time.Second)))
			return err
		})
		wantConflict(t, "InsertScan of a nonce the venue has", err)
		other := insertScan(t, db, testScan("venue_b", "n1", at)) // another venue's nonce space
		second := insertScan(t, db, testScan("venue_a", "n2", at))
		if id <= 0 || other <= id || second <= other {
			t.Fatalf("scan ids %d, %d, %d: want increasing", id, other, second)
		}
		mustTx(t, db, func(tx *store.Tx) error {
			got, found, err := tx.ScanByNonce(ctx, "venue_a", "n1")
			if err != nil || !found {
				t.Fatalf("ScanByNonce = %v, %v", found, err)
			}
			want := first
			want.ID, want.ScannedAt, want.RecordedAt, want.UpdatedAt = id, micro(at), got.RecordedAt, got.UpdatedAt
			if got != want || got.RecordedAt.IsZero() {
				t.Fatalf("ScanByNonce = %+v, want %+v", got, want)
			}
			if _, found, err := tx.ScanByNonce(ctx, "venue_c", "n1"); err != nil || found {
				t.Fatalf("ScanByNonce(venue_c) found=%v, %v; want none", found, err)
			}
			return tx.SetScanResult(ctx, id, "duplicate_entry", "later")
		})
		err = tryTx(t, db, func(tx *store.Tx) error { return tx.SetScanResult(ctx, 99999, "x", "") })
		wantCode(t, "SetScanResult of no scan", err, usher.CodeNotFound)
		scans, err := db.Scans(ctx, "venue_a", 0, 10)
		if err != nil || len(scans) != 2 {
			t.Fatalf("Scans(venue_a) = %+v, %v; want 2", scans, err)
		}
		if scans[0].ID != id || scans[0].Result != "duplicate_entry" || scans[0].Reason != "later" || scans[0].Decision != "admitted" || scans[1].ID != second {
			t.Fatalf("Scans(venue_a) = %+v, want n1 relabelled duplicate_entry then n2", scans)
		}
		if page, err := db.Scans(ctx, "venue_a", id, 10); err != nil || len(page) != 1 || page[0].ID != second {
			t.Fatalf("Scans after %d = %+v, %v; want the second", id, page, err)
		}
	}},
	{"AdmissionSingleAndSwap", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		at := time.Now().Add(-time.Hour)
		adm := usher.Admission{TicketID: "tkt_1", VenueID: "venue_a", ScanID: 7, DeviceID: "dev_1", Nonce: "n7", AdmittedAt: at}
		mustTx(t, db, func(tx *store.Tx) error { return tx.InsertAdmission(ctx, adm) })
		err := tryTx(t, db, func(tx *store.Tx) error {
			return tx.InsertAdmission(ctx, usher.Admission{TicketID: "tkt_1", VenueID: "venue_a", ScanID: 8, DeviceID: "dev_2", Nonce: "n8", AdmittedAt: at})
		})
		wantConflict(t, "a second admission of one ticket", err)
		earlier := usher.Admission{TicketID: "tkt_1", VenueID: "venue_a", ScanID: 9, DeviceID: "dev_3", Nonce: "n9", AdmittedAt: at.Add(-time.Minute)}
		err = tryTx(t, db, func(tx *store.Tx) error { return tx.SwapAdmission(ctx, earlier, 8) })
		wantConflict(t, "SwapAdmission from a scan that does not hold it", err)
		mustTx(t, db, func(tx *store.Tx) error { return tx.SwapAdmission(ctx, earlier, 7) })
		mustTx(t, db, func(tx *store.Tx) error {
			got, found, err := tx.Admission(ctx, "tkt_1")
			if err != nil || !found || got.ScanID != 9 || got.DeviceID != "dev_3" || got.Nonce != "n9" || !got.AdmittedAt.Equal(micro(earlier.AdmittedAt)) {
				t.Fatalf("Admission = %+v, %v, %v; want the earlier scan's", got, found, err)
			}
			if _, found, err := tx.Admission(ctx, "tkt_none"); err != nil || found {
				t.Fatalf("Admission(tkt_none) found=%v, %v", found, err)
			}
			return nil
		})
		if all, err := db.Admissions(ctx, "venue_a"); err != nil || len(all) != 1 || all[0].ScanID != 9 {
			t.Fatalf("Admissions = %+v, %v; want one, held by scan 9", all, err)
		}
	}},
	{"RevokedAt", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		appendChange(t, db, change("venue_a", "tkt_1"))
		revoked := change("venue_a", "tkt_1")
		revoked.Status = "revoked"
		appendChange(t, db, revoked)
		appendChange(t, db, change("venue_a", "tkt_1")) // reinstated
		seq := appendChange(t, db, revoked)             // and revoked again: this one counts
		appendChange(t, db, change("venue_a", "tkt_2"))
		changes, err := db.TicketChanges(ctx, "venue_a", seq-1, 1)
		if err != nil || len(changes) != 1 {
			t.Fatalf("TicketChanges: %v, %v", changes, err)
		}
		mustTx(t, db, func(tx *store.Tx) error {
			at, found, err := tx.RevokedAt(ctx, "venue_a", "tkt_1")
			if err != nil || !found || !at.Equal(changes[0].ChangedAt) {
				t.Fatalf("RevokedAt(tkt_1) = %v, %v, %v; want %v", at, found, err, changes[0].ChangedAt)
			}
			if _, found, err := tx.RevokedAt(ctx, "venue_a", "tkt_2"); err != nil || found {
				t.Fatalf("RevokedAt(tkt_2) found=%v, %v; want never revoked", found, err)
			}
			if _, found, err := tx.RevokedAt(ctx, "venue_b", "tkt_1"); err != nil || found {
				t.Fatalf("RevokedAt(venue_b) found=%v, %v; want none", found, err)
			}
			return nil
		})
	}},
	{"DeliveredMarkClaimsEachChangeOnce", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		const n = 24
		for i := range n {
			appendChange(t, db, change("venue_a", fmt.Sprintf("tkt_%d", i)))
		}
		var (
			mu      sync.Mutex
			claimed []int64
			wg      sync.WaitGroup
		)
		for i := 1; i <= n; i++ {
			wg.Go(func() {
				prev, err := db.AdvanceFeedDelivered(ctx, "venue_a", int64(i), time.Now())
				if err != nil {
					t.Errorf("AdvanceFeedDelivered(%d): %v", i, err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for s := prev + 1; s <= int64(i); s++ {
					claimed = append(claimed, s)
				}
			})
		}
		wg.Wait()
		slices.Sort(claimed)
		for i, s := range claimed {
			if s != int64(i+1) {
				t.Fatalf("claimed seqs %v: want 1..%d, each once", claimed, n)
			}
		}
		if len(claimed) != n {
			t.Fatalf("claimed %d seqs, want %d", len(claimed), n)
		}
		if prev, err := db.AdvanceFeedDelivered(ctx, "venue_a", 3, time.Now()); err != nil || prev != n {
			t.Fatalf("AdvanceFeedDelivered(3) after %d = %d, %v; want %d and no change", n, prev, err, n)
		}
		st, err := db.FeedState(ctx, "venue_a")
		if err != nil || st.Head != n || st.DeliveredSeq != n || st.DeliveredAt.IsZero() || st.Last.Seq != n || !st.OldestUndelivered.IsZero() {
			t.Fatalf("FeedState = %+v, %v; want head and delivered %d", st, err, n)
		}
	}},
	{"FeedState", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		if st, err := db.FeedState(ctx, "venue_new"); err != nil || st.Head != 0 || st.Last.Seq != 0 || !st.LastScanAt.IsZero() {
			t.Fatalf("FeedState of an unknown venue = %+v, %v; want zero", st, err)
		}
		for i := range 3 {
			appendChange(t, db, change("venue_a", fmt.Sprintf("tkt_%d", i)))
		}
		if _, err := db.AdvanceFeedDelivered(ctx, "venue_a", 1, time.Now()); err != nil {
			t.Fatal(err)
		}
		second, _ := db.TicketChanges(ctx, "venue_a", 1, 1)
		insertScan(t, db, testScan("venue_a", "n1", time.Now()))
		st, err := db.FeedState(ctx, "venue_a")
		if err != nil {
			t.Fatalf("FeedState: %v", err)
		}
		if st.Head != 3 || st.DeliveredSeq != 1 || st.Last.TicketID != "tkt_2" || !st.OldestUndelivered.Equal(second[0].ChangedAt) || st.LastScanAt.IsZero() {
			t.Fatalf("FeedState = %+v; want head 3, delivered 1, last tkt_2, oldest undelivered at seq 2, a last scan", st)
		}
		if head, err := db.FeedHead(ctx, "venue_a"); err != nil || head != 3 {
			t.Fatalf("FeedHead = %d, %v; want 3", head, err)
		}
	}},
	{"PruneRaisesFloor", func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		for i := range 5 {
			appendChange(t, db, change("venue_a", fmt.Sprintf("tkt_%d", i)))
		}
		appendChange(t, db, change("venue_b", "tkt_b"))
		if n, err := db.PruneTicketChanges(ctx, time.Now().Add(-time.Hour), 10); err != nil || n != 0 {
			t.Fatalf("prune of nothing old = %d, %v", n, err)
		}
		var floors []int64
		for {
			n, err := db.PruneTicketChanges(ctx, time.Now().Add(time.Hour), 2)
			if err != nil {
				t.Fatalf("PruneTicketChanges: %v", err)
			}
			if n == 0 {
				break
			}
			floor, err := db.FeedFloor(ctx, "venue_a")
			if err != nil {
				t.Fatal(err)
			}
			floors = append(floors, floor)
		}
		if !slices.Equal(floors, []int64{2, 4, 5}) {
			t.Fatalf("floors after each prune of 2 = %v, want [2 4 5]", floors)
		}
		if rest, err := db.TicketChanges(ctx, "venue_a", 0, 10); err != nil || len(rest) != 0 {
			t.Fatalf("history after prune = %+v, %v; want empty", rest, err)
		}
		if floor, err := db.FeedFloor(ctx, "venue_b"); err != nil || floor != 1 {
			t.Fatalf("venue_b floor = %d, %v; want 1", floor, err)
		}
		if seq := appendChange(t, db, change("venue_a", "tkt_new")); seq != 6 {
			t.Fatalf("seq after pruning = %d, want 6: pruning must not reset the sequence", seq)
		}
	}},
}
