package clustertest

import (
	"context"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/usherhq/usher/internal/queue"
)

// applied returns the outcome and processing time (µs) of every event, and
// the order of every event, by event id.
type appliedEvent struct {
	order, typ, outcome string
	received, processed int64
}

func (d *deployment) events(ctx context.Context) (map[string]appliedEvent, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT event_id, order_id, type, outcome, received_at, processed_at FROM inbound_events`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	evs := map[string]appliedEvent{}
	for rows.Next() {
		var id string
		var e appliedEvent
		if err := rows.Scan(&id, &e.order, &e.typ, &e.outcome, &e.received, &e.processed); err != nil {
			return nil, err
		}
		evs[id] = e
	}
	return evs, rows.Err()
}

// waitApplied waits until every webhook of r has a dedupe record.
func (d *deployment) waitApplied(r *burstResult, timeout time.Duration) map[string]appliedEvent {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		evs, err := d.events(context.Background())
		if err == nil && len(evs) >= 2*len(r.orders) {
			return evs
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("after %s: %d of %d webhooks applied (last error %v)", timeout, len(evs), 2*len(r.orders), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// verify checks the end state: every acknowledged webhook applied exactly
// once and in its order's order, one ticket per seat and no other, the
// stream drained and replicated three times, `usher check` and `usher
// audit verify` passing.
func (d *deployment) verify(r *burstResult, evs map[string]appliedEvent) {
	d.t.Helper()
	if len(evs) != 2*len(r.orders) {
		d.t.Errorf("%d dedupe records, want %d (one per acknowledged webhook)", len(evs), 2*len(r.orders))
	}
	tickets := d.ticketsByOrder()
	for _, o := range r.orders {
		c, p := evs[o.Created], evs[o.Paid]
		if c.outcome != "applied" || p.outcome != "applied" {
			d.t.Errorf("order %s: created %q, paid %q; want both applied", o.ID, c.outcome, p.outcome)
		}
		if p.processed < c.processed {
			d.t.Errorf("order %s: paid applied %dµs before created, though sent after its acknowledgement", o.ID, c.processed-p.processed)
		}
		if tickets[o.ID] != o.Qty {
			d.t.Errorf("order %s: %d tickets, want %d", o.ID, tickets[o.ID], o.Qty)
		}
		delete(tickets, o.ID)
	}
	if len(tickets) > 0 {
		d.t.Errorf("tickets of unknown orders: %v", tickets)
	}
	d.verifyStream()
	for _, args := range [][]string{{"check"}, {"audit", "verify"}} {
		cmd := exec.Command(built.usher, append(args, "--postgres-url", d.pg.URL("postgres"))...)
		if out, err := cmd.CombinedOutput(); err != nil {
			d.t.Errorf("usher %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

func (d *deployment) ticketsByOrder() map[string]int {
	d.t.Helper()
	rows, err := d.db.Query(`SELECT order_id, count(*) FROM tickets GROUP BY order_id`)
	if err != nil {
		d.t.Fatal(err)
	}
	defer rows.Close()
	n := map[string]int{}
	for rows.Next() {
		var id string
		var c int
		if err := rows.Scan(&id, &c); err != nil {
			d.t.Fatal(err)
		}
		n[id] = c
	}
	return n
}

// verifyStream waits for every partition's inbound stream to drain (the
// processors purge what they applied) and checks each has three replicas:
// the default on a three-node cluster.
func (d *deployment) verifyStream() {
	d.t.Helper()
	nc, err := nats.Connect(d.nats.URL())
	if err != nil {
		d.t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	deadline := time.Now().Add(30 * time.Second)
	for p := 0; p < partitions; p++ {
		name := "USHER_INBOUND_" + strconv.Itoa(p)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			s, err := js.Stream(ctx, name)
			cancel()
			if err == nil && s.CachedInfo().State.Msgs == 0 {
				if got := s.CachedInfo().Config.Replicas; got != 3 {
					d.t.Errorf("stream %s replicas %d, want 3 (the default on a three-node cluster)", name, got)
				}
				break
			}
			if time.Now().After(deadline) {
				d.t.Errorf("stream %s not drained after 30s: %v", name, err)
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// stall is how long work waited: the longest time from acknowledgement to
// application of one webhook (backlog included), the longest time the whole
// deployment applied nothing, and the longest time one partition applied
// nothing between two of its webhooks (a hand-over shows here).
func stall(evs map[string]appliedEvent) (maxLatency, maxGap, partitionGap time.Duration) {
	all := []int64{}
	byPartition := map[int][]int64{}
	for _, e := range evs {
		maxLatency = max(maxLatency, time.Duration(e.processed-e.received)*time.Microsecond)
		all = append(all, e.processed)
		p := queue.Partition(e.order, partitions)
		byPartition[p] = append(byPartition[p], e.processed)
	}
	maxGap = longestGap(all)
	for _, ts := range byPartition {
		partitionGap = max(partitionGap, longestGap(ts))
	}
	return maxLatency, maxGap, partitionGap
}

func longestGap(ts []int64) time.Duration {
	slices.Sort(ts)
	var gap time.Duration
	for i := 1; i < len(ts); i++ {
		gap = max(gap, time.Duration(ts[i]-ts[i-1])*time.Microsecond)
	}
	return gap
}
