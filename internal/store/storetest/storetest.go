// Package storetest is the conformance suite of usher's store. Every engine
// runs it from its own tests, so the portable SQL of package store is held to
// one behaviour on SQLite and on PostgreSQL:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) *store.DB { return openFresh(t) })
//	}
//
// open must return a store on a fresh, empty, migrated database that no other
// test uses, and close it (and drop the database) in t.Cleanup.
package storetest

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/store"
)

// Run runs the conformance suite as subtests of t, each against a store from
// its own call of open.
func Run(t *testing.T, open func(t *testing.T) *store.DB) {
	t.Helper()
	groups := []struct {
		name  string
		tests []subtest
	}{
		{"Store", storeTests},
		{"InTx", txTests},
		{"Rejected", rejectedTests},
		{"Savepoint", savepointTests},
		{"Inbound", inboundTests},
		{"Inventory", inventoryTests},
		{"Orders", orderTests},
		{"Held", heldTests},
		{"Feed", feedTests},
		{"Outbox", outboxTests},
		{"DeadLetters", deadLetterTests},
		{"Sources", sourceTests},
		{"Tokens", tokenTests},
		{"TokenLifecycle", tokenLifecycleTests},
		{"Delivery", deliveryTests},
		{"Leases", leaseTests},
		{"Gates", gateTests},
		{"Codes", codeTests},
		{"Audit", auditTests},
		{"Buyers", buyerTests},
		{"Reseal", resealTests},
		{"Incidents", incidentTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, st := range g.tests {
				t.Run(st.name, func(t *testing.T) {
					db := open(t)
					if db == nil {
						t.Fatal("open returned a nil store")
					}
					st.fn(t, db)
				})
			}
		})
	}
}

// RunReopen checks that migrations are idempotent. open prepares a fresh,
// empty database for t and returns a function that opens a store on it; each
// call of that function must open the same database again. The stores it
// returns are closed by RunReopen.
func RunReopen(t *testing.T, open func(t *testing.T) func() (*store.DB, error)) {
	t.Helper()
	t.Run("Reopen", func(t *testing.T) {
		ctx := t.Context()
		reopen := open(t)
		first, err := reopen()
		if err != nil {
			t.Fatalf("first open: %v", err)
		}
		defer first.Close()
		created := time.Now().Add(-time.Hour)
		if err := first.CreateSource(ctx, usher.Source{Name: "stripe", Scheme: "stripe", CreatedAt: created}, nil); err != nil {
			t.Fatalf("CreateSource: %v", err)
		}

		// Open again while the first store is still open: the migrations
		// find everything applied and change nothing.
		second, err := reopen()
		if err != nil {
			t.Fatalf("second open of the same database (migrations not idempotent?): %v", err)
		}
		if src, _, err := second.Source(ctx, "stripe"); err != nil || src.Name != "stripe" {
			t.Fatalf("second store Source(stripe) = %+v, %v; want the source written through the first", src, err)
		}
		if err := second.Close(); err != nil {
			t.Fatalf("close second: %v", err)
		}
		if err := first.Close(); err != nil {
			t.Fatalf("close first: %v", err)
		}

		// And once more after both are closed.
		third, err := reopen()
		if err != nil {
			t.Fatalf("third open: %v", err)
		}
		defer third.Close()
		if src, _, err := third.Source(ctx, "stripe"); err != nil || !src.CreatedAt.Equal(created.Truncate(time.Microsecond)) {
			t.Fatalf("third store Source(stripe) = %+v, %v; want it created at %v", src, err, created)
		}
	})
}

type subtest struct {
	name string
	fn   func(t *testing.T, db *store.DB)
}

var storeTests = []subtest{
	{"PingAndEngine", func(t *testing.T, db *store.DB) {
		if err := db.Ping(t.Context()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		if e := db.Engine(); e != "sqlite" && e != "postgres" {
			t.Fatalf("Engine() = %q, want sqlite or postgres", e)
		}
	}},
}

// errRollback is returned from a transaction a test wants rolled back.
var errRollback = errors.New("storetest: roll back")

// mustTx runs fn in a transaction that must commit.
func mustTx(t *testing.T, db *store.DB, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := db.InTx(t.Context(), fn); err != nil {
		t.Fatalf("InTx: %v", err)
	}
}

// txValue runs fn in a transaction that must commit and returns its value.
func txValue[T any](t *testing.T, db *store.DB, fn func(tx *store.Tx) (T, error)) T {
	t.Helper()
	var v T
	mustTx(t, db, func(tx *store.Tx) error {
		var err error
		v, err = fn(tx)
		return err
	})
	return v
}

// tryTx runs fn once in a transaction that is then rolled back, and returns
// fn's error. A compare-and-swap failure is observed as it is, without the
// retries InTx makes when the transaction itself returns ErrConflict.
func tryTx(t *testing.T, db *store.DB, fn func(tx *store.Tx) error) error {
	t.Helper()
	var got error
	calls := 0
	err := db.InTx(t.Context(), func(tx *store.Tx) error {
		calls++
		got = fn(tx)
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("InTx = %v, want the rollback sentinel", err)
	}
	if calls != 1 {
		t.Fatalf("a transaction returning a plain error ran %d times, want 1", calls)
	}
	return got
}

// wantConflict fails unless err is a usher.ErrConflict.
func wantConflict(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, usher.ErrConflict) {
		t.Fatalf("%s = %v, want usher.ErrConflict", what, err)
	}
}

// wantCode fails unless err carries the usher error code.
func wantCode(t *testing.T, what string, err error, code usher.Code) {
	t.Helper()
	if got := usher.ErrorCode(err); got != code {
		t.Fatalf("%s = %v (code %q), want code %q", what, err, got, code)
	}
}

// seq makes unique names within a test binary.
var seq atomic.Int64

func uniq(prefix string) string { return fmt.Sprintf("%s_%d", prefix, seq.Add(1)) }

// micro is t as the store keeps it: microseconds, UTC.
func micro(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }
