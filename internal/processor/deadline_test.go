package processor_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/processor"
	"github.com/usherhq/usher/internal/queue"
	"github.com/usherhq/usher/internal/store/postgres"
	"github.com/usherhq/usher/internal/telemetry"
	"github.com/usherhq/usher/internal/ushertest"
)

// A statement that never returns must not hold the single committer, and so
// every partition, for good: the transaction gives up at its deadline, the
// batch fails (the queue redelivers it), and once the database answers
// again the same batch applies. Here another session holds the audit
// chain's head row, which every processing transaction updates.
func TestAHungTransactionGivesUpAtItsDeadline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := ushertest.PostgresURL(t)
	db, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutCapacity(ctx, "show", "GA", 10); err != nil {
		t.Fatal(err)
	}
	p := processor.New(db, processor.RandomCodes{}, telemetry.NewMetrics(), slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now,
		processor.WithTxTimeout(2*time.Second))
	t.Cleanup(func() { p.Close(); db.Close() })

	other, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lock, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.ExecContext(ctx, `SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	paid := event("paid-1", usher.TypeOrderPaid, time.Now(), map[string]any{"order_id": "ord_hung", "show_id": "show", "venue_id": "v",
		"items": []map[string]any{{"ticket_type": "GA", "quantity": 1}}})
	b := queue.Batch{Events: []usher.InboundEvent{paid}, Delivered: 1}
	done := make(chan error, 1)
	go func() { done <- p.HandleBatch(ctx, b) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the batch applied while the head row was locked elsewhere")
		}
		t.Logf("held up, the batch failed: %v", err)
	case <-time.After(30 * time.Second): // a bound on the wait, not a speed: without the deadline it never returns
		_ = lock.Rollback()
		t.Fatal("the committer is still waiting on the locked row after 30 s")
	}
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	b.Delivered = 2
	if err := p.HandleBatch(ctx, b); err != nil {
		t.Fatalf("the redelivered batch, the row free again: %v", err)
	}
	if o, err := db.OrderWithTickets(ctx, "ord_hung"); err != nil || o.Status != usher.OrderPaid || len(o.Tickets) != 1 {
		t.Fatalf("order after the redelivery: %+v, %v; want paid with one ticket", o, err)
	}
}
