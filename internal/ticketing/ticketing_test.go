package ticketing_test

import (
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/ticketing"
)

func TestNewTicketIDSortsByTimeAndFollowsTheGrammar(t *testing.T) {
	base := time.Date(2026, 12, 2, 17, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	prev := ""
	for i := range 1000 {
		id, err := ticketing.NewTicketID(base.Add(time.Duration(i) * time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if !usher.ValidID(id) || len(id) != len(usher.NewID("tkt_")) {
			t.Fatalf("id %q: want tkt_ and 24 hex digits (as long as usher's other ids), a valid identifier", id)
		}
		if id <= prev {
			t.Fatalf("id %q made a millisecond after %q sorts before it", id, prev)
		}
		if seen[id] {
			t.Fatalf("id %q made twice", id)
		}
		seen[id], prev = true, id
	}
	// Within one millisecond the ids differ in their random part.
	a, _ := ticketing.NewTicketID(base)
	b, _ := ticketing.NewTicketID(base)
	if a == b || a[:15] != b[:15] {
		t.Fatalf("two ids of one millisecond: %q, %q; want the same time part and different random parts", a, b)
	}
}
