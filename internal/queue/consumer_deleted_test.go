package queue_test

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/server"
	"github.com/usherhq/usher/internal/ushertest"
)

// lockedBuffer collects usher's log lines, written from many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// sendPaid sends an order.paid for orderID and waits until it is applied.
func sendPaid(t *testing.T, s *ushertest.Server, orderID string, wait time.Duration) {
	t.Helper()
	body := ushertest.Envelope("order.paid", ushertest.Paid(orderID, 1))
	if status, reply := s.Send(ushertest.NewID(), body); status != http.StatusAccepted {
		t.Fatalf("send %s: got %d %s, want 202", orderID, status, reply)
	}
	ushertest.Eventually(t, wait, "order "+orderID+" applied", func() bool {
		o, err := s.Store().OrderWithTickets(context.Background(), orderID)
		return err == nil && o.Status == usher.OrderPaid
	})
}

// TestDeletedConsumerIsCreatedAgain: on an external NATS, deleting a
// partition's durable consumer (an operator's `nats consumer rm`) used to
// stop the partition for good: the iterator reported "consumer deleted",
// then missing heartbeats every 5 s, and new webhooks stayed in the stream.
// usher now creates the consumer again and applies them.
func TestDeletedConsumerIsCreatedAgain(t *testing.T) {
	t.Parallel()
	natsURL, ns := ushertest.NATSURL(t)
	var logs lockedBuffer
	s := ushertest.StartLogging(t, &logs, ushertest.WithConfig(func(c *server.Config) {
		c.NATSURL, c.NATSNamespace, c.Partitions = natsURL, ns, 2
	}))
	const after = "ord_after_rm"
	p := s.Queue().PartitionOf(&usher.InboundEvent{OrderID: after})
	before := "ord_before_rm"
	for i := 0; s.Queue().PartitionOf(&usher.InboundEvent{OrderID: before}) != p; i++ {
		before = "ord_before_rm_" + strconv.Itoa(i) // one in the same partition
	}
	sendPaid(t, s, before, 20*time.Second) // the partition's consumer is live

	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	// The names queue.Config documents: stream <NAMESPACE>_INBOUND_<p>,
	// consumer <namespace>-processor-<p>.
	stream, consumer := strings.ToUpper(ns)+"_INBOUND_"+strconv.Itoa(p), ns+"-processor-"+strconv.Itoa(p)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The server may refuse a delete that races its own write of the
	// consumer's state ("unlinkat …: directory not empty"); an operator
	// would run it again, and so does the test.
	var delErr error
	for range 10 {
		if delErr = js.DeleteConsumer(ctx, stream, consumer); delErr == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if delErr != nil {
		t.Fatalf("delete consumer %s of %s: %v", consumer, stream, delErr)
	}

	sendPaid(t, s, after, 30*time.Second)
	if !strings.Contains(logs.String(), "created it again") {
		t.Errorf("no WARN says the consumer was created again; logs:\n%s", logs.String())
	}
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := js.Consumer(ctx, stream, consumer); err != nil {
		t.Errorf("consumer %s after the recovery: %v", consumer, err)
	}
}
