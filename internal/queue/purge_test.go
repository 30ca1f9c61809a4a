package queue

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/usherhq/usher"
)

func openEmbedded(t *testing.T, dir string, cfg Config, log *slog.Logger) *Queue {
	t.Helper()
	cfg.Embedded = EmbeddedConfig{DataDir: dir, SyncAlways: true}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	q, err := Open(context.Background(), cfg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func enqueueN(t *testing.T, q *Queue, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		ev := &usher.InboundEvent{Source: "s", ID: fmt.Sprintf("e%03d", i), OrderID: "ord", ReceivedAt: time.Now()}
		if err := q.Enqueue(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
}

// streamMessages counts the event messages the stream holds, applied or not.
func streamMessages(t *testing.T, q *Queue) uint64 {
	t.Helper()
	var n uint64
	for _, st := range q.distinctStreams() {
		m, err := q.eventMessages(context.Background(), st)
		if err != nil {
			t.Fatal(err)
		}
		n += m
	}
	return n
}

// consumeAll applies every message until want events were seen, and returns
// the event ids in the order they were applied.
func consumeAll(t *testing.T, q *Queue, want int) []string {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	done := make(chan struct{})
	cs, err := q.Consume(context.Background(), func(_ context.Context, b Batch) error {
		mu.Lock()
		defer mu.Unlock()
		for _, ev := range b.Events {
			seen = append(seen, ev.ID)
		}
		if len(seen) == want {
			close(done)
		}
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("applied %d of %d events", len(seen), want)
	}
	cs.Stop()
	mu.Lock()
	defer mu.Unlock()
	return seen
}

// TestAppliedMessagesArePurged: the consumers purge what they applied, so
// the limits stream does not keep it, and a restart delivers nothing twice.
func TestAppliedMessagesArePurged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	q := openEmbedded(t, dir, Config{Partitions: 1, PurgeInterval: 20 * time.Millisecond}, nil)
	if q.retention != jetstream.LimitsPolicy {
		t.Fatalf("a new stream has retention %s, want limits", q.retention)
	}
	enqueueN(t, q, 0, 30)
	if got := consumeAll(t, q, 30); len(got) != 30 {
		t.Fatalf("applied %d events, want 30", len(got))
	}
	if n := streamMessages(t, q); n != 0 {
		t.Fatalf("the stream holds %d applied messages after the consumers stopped", n)
	}
	enqueueN(t, q, 30, 5)
	q.Close()

	q = openEmbedded(t, dir, Config{Partitions: 1}, nil)
	defer q.Close()
	if got := consumeAll(t, q, 5); strings.Join(got, ",") != "e030,e031,e032,e033,e034" {
		t.Fatalf("after a restart applied %v, want only the five new events", got)
	}
}

// TestAFreshConsumerStartsAfterTheAcknowledged: what a consumer acknowledged
// but no purge removed (a crash between the two) is purged when the next
// run creates the consumer anew, so it is not delivered again; what was not
// acknowledged is delivered, in order, and counted as pending.
func TestAFreshConsumerStartsAfterTheAcknowledged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := openEmbedded(t, t.TempDir(), Config{Partitions: 1, MaxBatchEvents: 1}, nil)
	defer q.Close()
	enqueueN(t, q, 0, 10)
	cons, err := q.freshConsumer(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(6, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	acked := 0
	for msg := range batch.Messages() {
		if err := msg.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
		acked++
	}
	if acked != 6 {
		t.Fatalf("fetched %d messages, want 6", acked)
	}
	if n := streamMessages(t, q); n != 10 {
		t.Fatalf("the stream holds %d messages before any purge, want all 10", n)
	}
	if n, err := q.Pending(ctx); err != nil || n != 4 {
		t.Fatalf("pending %d (%v), want the 4 unacknowledged", n, err)
	}

	cons, err = q.freshConsumer(ctx, 0) // what a restart does
	if err != nil {
		t.Fatal(err)
	}
	if n := streamMessages(t, q); n != 4 {
		t.Fatalf("the stream holds %d messages after the reset, want the 4 unacknowledged", n)
	}
	batch, err = cons.Fetch(10, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for msg := range batch.Messages() {
		events, err := decodeEvents(msg.Data())
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range events {
			got = append(got, ev.ID)
		}
	}
	if strings.Join(got, ",") != "e006,e007,e008,e009" {
		t.Fatalf("the fresh consumer delivered %v, want e006..e009", got)
	}
}

// TestTheSingleStreamOfAnEarlierUsherIsKeptUntilEmpty: the single
// work-queue stream an earlier usher kept every partition in stays in use
// while it holds events (NATS cannot change its retention, and they must
// not be lost), is consumed as before, and is replaced by a stream per
// partition at the first start that finds it empty.
func TestTheSingleStreamOfAnEarlierUsherIsKeptUntilEmpty(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	q := openEmbedded(t, dir, Config{Partitions: 2}, nil)
	for p := range 2 {
		if err := q.js.DeleteStream(ctx, q.streamName(p)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := q.js.CreateStream(ctx, q.legacyStreamConfig(jetstream.WorkQueuePolicy)); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		ev := &usher.InboundEvent{Source: "s", ID: fmt.Sprintf("e%03d", i), OrderID: fmt.Sprintf("ord_%d", i), ReceivedAt: time.Now()}
		if err := q.Enqueue(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()

	var log strings.Builder
	var logMu sync.Mutex
	q = openEmbedded(t, dir, Config{Partitions: 2}, slog.New(slog.NewTextHandler(lockedWriter{&logMu, &log}, nil)))
	if !q.legacy || q.retention != jetstream.WorkQueuePolicy {
		t.Fatalf("the single work-queue stream holding events opened as legacy=%t with retention %s", q.legacy, q.retention)
	}
	logMu.Lock()
	if !strings.Contains(log.String(), "stays in use until a start finds it empty") {
		t.Errorf("nothing logged about the kept stream: %s", log.String())
	}
	logMu.Unlock()
	if err := q.Ready(ctx); err != nil {
		t.Fatalf("readiness on the single stream: %v", err)
	}
	if got := consumeAll(t, q, 6); len(got) != 6 {
		t.Fatalf("applied %v from the single stream", got)
	}
	if n := streamMessages(t, q); n != 0 {
		t.Fatalf("the work-queue stream holds %d messages after they were applied", n)
	}
	q.Close()

	q = openEmbedded(t, dir, Config{Partitions: 2}, nil)
	defer q.Close()
	if q.legacy || q.retention != jetstream.LimitsPolicy {
		t.Fatalf("the emptied single stream was not replaced: legacy=%t, retention %s", q.legacy, q.retention)
	}
	if _, err := q.js.Stream(ctx, q.legacyStreamName()); err == nil {
		t.Fatal("the single stream still exists beside the partitions' streams")
	}
	if err := q.Ready(ctx); err != nil {
		t.Fatalf("readiness on the partitions' streams: %v", err)
	}
	enqueueN(t, q, 6, 2)
	if got := consumeAll(t, q, 2); strings.Join(got, ",") != "e006,e007" {
		t.Fatalf("applied %v from the new streams", got)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestAcknowledgedMessagesOfARemovedPartitionAreNoBacklog: with fewer
// partitions, what the removed partitions' consumers acknowledged is purged
// and does not block the start; an unacknowledged message still does.
func TestAcknowledgedMessagesOfARemovedPartitionAreNoBacklog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	q := openEmbedded(t, dir, Config{Partitions: 4, MaxBatchEvents: 1}, nil)
	var onThree []*usher.InboundEvent
	for i := 0; len(onThree) < 2; i++ {
		ev := &usher.InboundEvent{Source: "s", ID: fmt.Sprintf("e%03d", i), OrderID: fmt.Sprintf("ord_%d", i), ReceivedAt: time.Now()}
		if q.PartitionOf(ev) == 3 {
			onThree = append(onThree, ev)
		}
	}
	for _, ev := range onThree {
		if err := q.Enqueue(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := q.freshConsumer(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	ack := func() {
		t.Helper()
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if err := msg.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ack()
	q.Close()

	if _, err := Open(ctx, Config{Partitions: 2, Embedded: EmbeddedConfig{DataDir: dir, SyncAlways: true}}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil); err == nil || !strings.Contains(err.Error(), "holds 1 unprocessed batches on partition 3") {
		t.Fatalf("Open with 2 partitions over one unacknowledged message on partition 3: %v", err)
	}
	q = openEmbedded(t, dir, Config{Partitions: 4}, nil)
	if cons, err = q.streams[3].Consumer(ctx, q.consumerName(3)); err != nil {
		t.Fatal(err)
	}
	ack()
	q.Close()
	q = openEmbedded(t, dir, Config{Partitions: 2}, nil)
	defer q.Close()
	if n := streamMessages(t, q); n != 0 {
		t.Fatalf("the stream holds %d acknowledged messages of the removed partition", n)
	}
}
