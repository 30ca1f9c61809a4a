package server_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/ushertest"
)

// TestScaleOutOnExternalNATSAndPostgres runs two usher processes' worth of
// components against the machine's NATS server and PostgreSQL: both receive,
// both process, and every order is applied exactly once.
func TestScaleOutOnExternalNATSAndPostgres(t *testing.T) {
	t.Parallel()
	pgURL := ushertest.PostgresURL(t)
	natsURL, ns := ushertest.NATSURL(t)
	external := ushertest.WithConfig(func(c *server.Config) {
		c.PostgresURL, c.NATSURL, c.NATSNamespace = pgURL, natsURL, ns
		c.MasterKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // processes share the key
	})
	a := ushertest.Start(t, external)
	b := ushertest.Start(t, external)
	b.Source, b.Secret = a.Source, a.Secret

	const orders = 30
	var wg sync.WaitGroup
	for i := range orders {
		id, body := ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid(fmt.Sprintf("ord_x%d", i), 1))
		wg.Go(func() {
			mustAccept(t, a, id, body)
			mustAccept(t, b, id, body) // the same event through the other process
		})
	}
	wg.Wait()
	counts := waitProcessed(t, a, orders)
	ushertest.Eventually(t, waitLong, "queue drained", func() bool {
		n, err := a.Queue().Pending(context.Background())
		return err == nil && n == 0
	})
	counts, _ = a.Store().CountInbound(context.Background())
	if counts["applied"] != orders || len(counts) != 1 {
		t.Errorf("outcomes %v, want %d applied and nothing else", counts, orders)
	}
	if inv := inventory(t, a, server.DemoShow); inv.Sold != orders {
		t.Errorf("sold %d, want %d", inv.Sold, orders)
	}
	if a.Store().Engine() != "postgres" {
		t.Errorf("engine %s, want postgres", a.Store().Engine())
	}
}
