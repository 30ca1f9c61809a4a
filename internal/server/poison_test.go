package server_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/queue"
	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/ushertest"
)

// poisonDeadline is generous on purpose: it bounds a wait, it does not
// measure speed. Before the fix the partition never advanced at all.
const poisonDeadline = 2 * time.Minute

// poisonEvent is an order.paid for orderID as it would sit on the queue if
// the edge had let it through (events queued by an older version, replays).
func poisonEvent(s *ushertest.Server, orderID string) usher.InboundEvent {
	data := ushertest.Paid(orderID, 1)
	raw, _ := json.Marshal(data)
	now := time.Now().UTC()
	id := ushertest.NewID()
	return usher.InboundEvent{Source: s.Source, ID: id, Type: usher.TypeOrderPaid, OrderID: orderID,
		Timestamp: now, ReceivedAt: now, PayloadHash: "poison-" + id, KeyID: "test", Data: raw}
}

// samePartition returns n order ids in partition p and n in other partitions.
func samePartition(q *queue.Queue, p, n int) (same, others []string) {
	for i := 0; len(same) < n || len(others) < n; i++ {
		id := fmt.Sprintf("ord_after_%d", i)
		switch {
		case queue.Partition(id, q.Partitions()) == p && len(same) < n:
			same = append(same, id)
		case queue.Partition(id, q.Partitions()) != p && len(others) < n:
			others = append(others, id)
		}
	}
	return same, others
}

// provePartitionAdvances enqueues the poison events directly, then sends 20
// orders through the edge to the first poison's partition and 20 to others,
// and checks that all 40 are applied, each poison is a store_rejected dead
// letter, and the partition's metrics show no backlog. It returns how long
// the 40 orders took from the first send.
func provePartitionAdvances(t *testing.T, s *ushertest.Server, poison ...usher.InboundEvent) time.Duration {
	t.Helper()
	ctx := context.Background()
	for i := range poison {
		if err := s.Queue().Enqueue(ctx, &poison[i]); err != nil {
			t.Fatalf("enqueue poison: %v", err)
		}
	}
	p := s.Queue().PartitionOf(&poison[0])
	same, others := samePartition(s.Queue(), p, 20)
	start := time.Now()
	for _, id := range append(same, others...) {
		mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid(id, 1)))
	}
	missing := 0
	ushertest.Eventually(t, poisonDeadline, "every order behind the poison applied", func() bool {
		missing = 0
		for _, id := range append(same, others...) {
			if o, err := s.Store().OrderWithTickets(ctx, id); err != nil || o.Status != usher.OrderPaid {
				missing++
			}
		}
		return missing == 0
	})
	delay := time.Since(start)
	dls, _, err := s.Store().SearchDeadLetters(ctx, usher.DeadLetterFilter{Stage: "processing", Reason: "store_rejected", Limit: 10})
	if err != nil || len(dls) != len(poison) {
		t.Fatalf("store_rejected dead letters = %d (%v), want %d", len(dls), err, len(poison))
	}
	for _, dl := range dls {
		if dl.LastError == "" || dl.Type != usher.TypeOrderPaid {
			t.Errorf("dead letter %+v: want the store's error and the event's type", dl)
		}
	}
	body := s.ScrapeMetrics()
	label := `{partition="` + strconv.Itoa(p) + `"}`
	if !regexp.MustCompile(`(?m)^usher_partition_pending_messages` + regexp.QuoteMeta(label) + ` 0$`).MatchString(body) {
		t.Errorf("metrics show a backlog in partition %d:\n%s", p, grep(body, "usher_partition_"))
	}
	m := regexp.MustCompile(`(?m)^usher_partition_last_progress_timestamp_seconds` + regexp.QuoteMeta(label) + ` (\S+)$`).FindStringSubmatch(body)
	if ts, _ := strconv.ParseFloat(safeIndex(m, 1), 64); ts < float64(start.Unix()) {
		t.Errorf("partition %d last progress %v, want after the orders were sent (%d)", p, m, start.Unix())
	}
	return delay
}

func grep(body, prefix string) string {
	return fmt.Sprint(regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(prefix)+`.*$`).FindAllString(body, -1))
}

func safeIndex(m []string, i int) string {
	if len(m) <= i {
		return ""
	}
	return m[i]
}

// TestPoisonEventDoesNotStallItsPartitionOnSQLite: SQLite stores any text,
// so the poison is an order a trigger refuses (SQLITE_CONSTRAINT_TRIGGER,
// the same every try) — a stand-in for any constraint the processor does
// not check first.
func TestPoisonEventDoesNotStallItsPartitionOnSQLite(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.Config.DataDir, "usher.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER poison BEFORE INSERT ON orders WHEN NEW.order_id = 'ord_poison'
		BEGIN SELECT RAISE(ABORT, 'poison order'); END`); err != nil {
		t.Fatal(err)
	}
	delay := provePartitionAdvances(t, s, poisonEvent(s, "ord_poison"))
	t.Logf("sqlite: 40 orders sent behind a poison event applied %s after the first send", delay)
}

// TestPoisonEventDoesNotStallItsPartitionOnPostgres: the two ids of the
// hardening issue, a NUL byte (SQLSTATE 22021) and 10 KB of random text
// (54000), on PostgreSQL and the machine's NATS as in a scale-out.
func TestPoisonEventDoesNotStallItsPartitionOnPostgres(t *testing.T) {
	t.Parallel()
	pgURL := ushertest.PostgresURL(t)
	natsURL, ns := ushertest.NATSURL(t)
	s := ushertest.Start(t, ushertest.WithConfig(func(c *server.Config) {
		c.PostgresURL, c.NATSURL, c.NATSNamespace = pgURL, natsURL, ns
		c.MasterKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	}))
	random := make([]byte, 5<<10)
	_, _ = rand.Read(random)
	nul, long := poisonEvent(s, "ord_\x00nul"), poisonEvent(s, hex.EncodeToString(random))
	long.OrderID = nul.OrderID // the same partition, behind the first
	delay := provePartitionAdvances(t, s, nul, long)
	t.Logf("postgres: 40 orders sent behind two poison events applied %s after the first send", delay)
}

// An event without a type cannot reach the queue through the edge, but one
// queued another way (a hand-made message, an older version) must be set
// aside at once, not retried forever while its partition waits behind it.
func TestAnEventWithoutATypeIsSetAside(t *testing.T) {
	t.Parallel()
	s := ushertest.Start(t)
	ctx := context.Background()
	untyped := poisonEvent(s, "ord_untyped")
	untyped.Type = ""
	if err := s.Queue().Enqueue(ctx, &untyped); err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	same, _ := samePartition(s.Queue(), s.Queue().PartitionOf(&untyped), 1)
	mustAccept(t, s, ushertest.NewID(), ushertest.Envelope("order.paid", ushertest.Paid(same[0], 1)))
	ushertest.Eventually(t, poisonDeadline, "the order behind the untyped event applied", func() bool {
		o, err := s.Store().OrderWithTickets(ctx, same[0])
		return err == nil && o.Status == usher.OrderPaid
	})
	dls, _, err := s.Store().SearchDeadLetters(ctx, usher.DeadLetterFilter{Stage: "processing", Reason: "invalid_event", Limit: 10})
	if err != nil || len(dls) != 1 || dls[0].EventID != untyped.ID {
		t.Fatalf("invalid_event dead letters = %+v (%v), want the untyped event", dls, err)
	}
	recs, err := s.Store().InboundByEvent(ctx, untyped.ID)
	if err != nil || len(recs) != 1 || recs[0].Outcome != usher.OutcomeSetAside {
		t.Errorf("the untyped event's dedupe records = %+v (%v), want one, set aside", recs, err)
	}
}
