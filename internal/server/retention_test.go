package server_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/ushertest"
)

func TestDedupeRetentionDefaultsTo35Days(t *testing.T) {
	t.Parallel()
	if got := (server.Config{}).WithDefaults().DedupeRetention; got != 840*time.Hour {
		t.Fatalf("default dedupe retention %s, want 840h (35 days)", got)
	}
}

// TestDedupePrunerHonoursTheRetention starts usher with a 100h retention on
// a clock ten days behind the wall clock: the pruner that runs at start
// deletes the records older than 100h by that clock and keeps the newer.
func TestDedupePrunerHonoursTheRetention(t *testing.T) {
	t.Parallel()
	clock := ushertest.NewClock(time.Now().Add(-10 * 24 * time.Hour).Truncate(time.Second))
	s := ushertest.Start(t, ushertest.WithClock(clock),
		ushertest.WithConfig(func(c *server.Config) { c.DedupeRetention = 100 * time.Hour }))
	ages := map[string]time.Duration{ // id → age by the clock; pruned when older than 100h
		"evt_99h": 99 * time.Hour, "evt_101h": 101 * time.Hour, "evt_500h": 500 * time.Hour,
	}
	err := s.Store().InTx(context.Background(), func(tx *store.Tx) error {
		for id, age := range ages {
			at := clock.Now().Add(-age)
			err := tx.InsertInbound(context.Background(), usher.InboundRecord{
				Source: "retention", EventID: id, PayloadHash: "sha256:" + id, Type: "order.paid", OrderID: "ord_" + id,
				Outcome: usher.OutcomeApplied, Data: []byte(`{}`), EventAt: at, ReceivedAt: at, ProcessedAt: at,
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("insert dedupe records: %v", err)
	}
	s.Restart() // the pruner runs at start
	found := func(id string) bool {
		recs, err := s.Store().InboundRecords(context.Background(), "ord_"+id)
		if err != nil {
			t.Fatalf("InboundRecords: %v", err)
		}
		return len(recs) == 1
	}
	ushertest.Eventually(t, time.Minute, "the records older than the retention pruned", func() bool {
		return !found("evt_101h") && !found("evt_500h")
	})
	if !found("evt_99h") {
		t.Fatal("a record younger than the retention was pruned")
	}
}

func TestShortDedupeRetentionWarnsAtStart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		retention time.Duration
		warns     bool
	}{
		{72 * time.Hour, true},
		{719 * time.Hour, true},
		{720 * time.Hour, false},
		{0, false}, // the default, 840h
	} {
		var logs syncBuffer
		app, err := server.Start(context.Background(), server.Config{
			Addr: "127.0.0.1:0", DataDir: t.TempDir(), Partitions: 1, DedupeRetention: tc.retention,
		}, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
		if err != nil {
			t.Fatalf("start with dedupe retention %s: %v", tc.retention, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := app.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		cancel()
		if got := strings.Contains(logs.String(), "dedupe retention is below 30 days"); got != tc.warns {
			t.Errorf("dedupe retention %s: warned %v, want %v; log:\n%s", tc.retention, got, tc.warns, logs.String())
		}
	}
}
