package crashtest

import (
	"context"
	"database/sql"
	"net/url"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite" // the store's own engine, opened read-only
)

// storeState is what the stopped usher left in its SQLite file.
type storeState struct {
	outcomes      map[string]string // event id → outcome
	orders        map[string]string // order id → status
	tickets       map[string]int    // order id → tickets
	validTickets  map[string]int    // order id → valid tickets
	validByShow   map[string]int
	sold          map[string]int // show → sold
	capacity      map[string]int
	feedEntries   int
	ticketsIssued int // outbox ticket.issued
	confirmed     int // outbox order.confirmed
	integrity     string
}

// integrityUnchecked is the integrity of a store with no integrity_check.
const integrityUnchecked = "unchecked"

// readStore opens the SQLite file of a stopped usher read-only.
func readStore(t *testing.T, dataDir string) storeState {
	t.Helper()
	var integrity string
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "query_only(ON)")
	dsn := (&url.URL{Scheme: "file", Path: filepath.Join(dataDir, "usher.db"), RawQuery: q.Encode()}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	defer db.Close()
	if err := db.QueryRowContext(context.Background(), `PRAGMA integrity_check`).Scan(&integrity); err != nil {
		t.Fatalf("integrity_check: %v", err)
	}
	s := readState(t, db)
	s.integrity = integrity
	return s
}

// readState reads what a stopped usher left in its store, SQLite or
// PostgreSQL, but for the integrity check.
func readState(t *testing.T, db *sql.DB) storeState {
	t.Helper()
	ctx := context.Background()
	s := storeState{
		outcomes: map[string]string{}, orders: map[string]string{}, tickets: map[string]int{},
		validTickets: map[string]int{}, validByShow: map[string]int{}, sold: map[string]int{}, capacity: map[string]int{},
	}
	query := func(sqlText string, scan func(*sql.Rows) error) {
		t.Helper()
		rows, err := db.QueryContext(ctx, sqlText)
		if err != nil {
			t.Fatalf("%s: %v", sqlText, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				t.Fatalf("%s: %v", sqlText, err)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", sqlText, err)
		}
	}
	query(`SELECT event_id, outcome FROM inbound_events`, func(r *sql.Rows) error {
		var id, outcome string
		err := r.Scan(&id, &outcome)
		s.outcomes[id] = outcome
		return err
	})
	query(`SELECT order_id, status FROM orders`, func(r *sql.Rows) error {
		var id, status string
		err := r.Scan(&id, &status)
		s.orders[id] = status
		return err
	})
	query(`SELECT order_id, show_id, status, count(*) FROM tickets GROUP BY order_id, show_id, status`, func(r *sql.Rows) error {
		var order, show, status string
		var n int
		err := r.Scan(&order, &show, &status, &n)
		s.tickets[order] += n
		if status == "valid" {
			s.validTickets[order] += n
			s.validByShow[show] += n
		}
		return err
	})
	query(`SELECT show_id, capacity, sold FROM inventory WHERE ticket_type = 'GA'`, func(r *sql.Rows) error {
		var show string
		var capacity, sold int
		err := r.Scan(&show, &capacity, &sold)
		s.capacity[show], s.sold[show] = capacity, sold
		return err
	})
	query(`SELECT count(*) FROM ticket_changes`, func(r *sql.Rows) error { return r.Scan(&s.feedEntries) })
	query(`SELECT type, count(*) FROM outbox GROUP BY type`, func(r *sql.Rows) error {
		var typ string
		var n int
		err := r.Scan(&typ, &n)
		switch typ {
		case "ticket.issued":
			s.ticketsIssued = n
		case "order.confirmed":
			s.confirmed = n
		}
		return err
	})
	return s
}

// checkExactlyOnce checks that every accepted order.paid in events was
// applied once and only once, and that no show is oversold. Events to shows
// in mustFit had seats to spare, so each of them must be paid in full.
func checkExactlyOnce(t *testing.T, s storeState, events map[string]event, mustFit map[string]bool) {
	t.Helper()
	switch s.integrity {
	case "ok":
	case integrityUnchecked:
		t.Log("integrity_check is SQLite's; PostgreSQL's own files are not checked")
	default:
		t.Errorf("integrity_check: got %q, want ok", s.integrity)
	}
	if len(s.outcomes) != len(events) {
		t.Errorf("dedupe records: got %d, want one per event: %d", len(s.outcomes), len(events))
	}
	paid, totalTickets := 0, 0
	for _, ev := range events {
		if got := s.outcomes[ev.ID]; got != "applied" {
			t.Errorf("event %s (order %s): outcome %q, want applied", ev.ID, ev.OrderID, got)
		}
		status, tickets := s.orders[ev.OrderID], s.tickets[ev.OrderID]
		totalTickets += tickets
		switch {
		case status == "paid" && tickets == ev.Quantity && s.validTickets[ev.OrderID] == ev.Quantity:
			paid++
		case status == "oversold" && tickets == 0 && !mustFit[ev.Show]:
		default:
			t.Errorf("order %s of %s: got %q with %d tickets (%d valid), want paid with %d (or oversold with none on a full show)",
				ev.OrderID, ev.Show, status, tickets, s.validTickets[ev.OrderID], ev.Quantity)
		}
	}
	if len(s.orders) != len(events) {
		t.Errorf("orders: got %d, want %d", len(s.orders), len(events))
	}
	for show, sold := range s.sold {
		if sold != s.validByShow[show] || sold > s.capacity[show] {
			t.Errorf("show %s: sold %d, valid tickets %d, capacity %d: want sold = valid tickets <= capacity",
				show, sold, s.validByShow[show], s.capacity[show])
		}
	}
	if s.feedEntries != totalTickets || s.ticketsIssued != totalTickets || s.confirmed != paid {
		t.Errorf("venue feed %d entries, outbox %d ticket.issued and %d order.confirmed; want %d, %d and %d",
			s.feedEntries, s.ticketsIssued, s.confirmed, totalTickets, totalTickets, paid)
	}
}
