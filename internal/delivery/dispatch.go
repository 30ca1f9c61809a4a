package delivery

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/usherhq/usher"
)

// cursorName names the dispatcher's cursor in the store.
const cursorName = "outbox"

// maxGaps bounds the skipped sequence numbers the dispatcher waits for.
const maxGaps = 10000

// dispatcher turns outbox events into deliveries. It reads after a cursor
// it persists in the transaction that records the deliveries, so a crash
// between the two only makes it record again what the unique key of a
// delivery then ignores.
//
// On PostgreSQL a sequence number is taken at insert and becomes visible at
// commit, so a reader can see seq 8 before seq 7 commits. The dispatcher
// therefore remembers the numbers it skipped, keeps its persisted cursor
// below the oldest of them, and looks for them again on each pass until
// they appear or GapTimeout passes (a rolled-back insert leaves a number
// that never appears). SQLite commits one writer at a time and leaves no
// gaps.
type dispatcher struct {
	st      Store
	now     func() time.Time
	batch   int
	timeout time.Duration

	loaded bool
	scan   int64               // the highest seq read
	saved  int64               // the cursor as persisted
	gaps   map[int64]time.Time // skipped seqs, and when they were first missed
}

func newDispatcher(st Store, now func() time.Time, cfg Config) *dispatcher {
	return &dispatcher{st: st, now: now, batch: cfg.BatchSize, timeout: cfg.GapTimeout, gaps: map[int64]time.Time{}}
}

// pass records the deliveries of the next batch of outbox events and
// returns the subscriptions that got new deliveries, and whether more
// events are waiting.
//
// It reads the subscriptions after the events: an event committed after a
// subscription was created is then always delivered to it. Read the other
// way round, a subscription created and sent an event between the two
// reads would miss that event for good, as the cursor moves past it. An
// event committed just before a subscription may reach it too; an early
// event is harmless, a missing one is not.
func (d *dispatcher) pass(ctx context.Context) (touched map[string]bool, more bool, err error) {
	if !d.loaded {
		if d.scan, err = d.st.DeliveryCursor(ctx, cursorName); err != nil {
			return nil, false, err
		}
		d.saved, d.loaded = d.scan, true
	}
	evs, err := d.st.OutboxAfter(ctx, d.scan, d.batch)
	if err != nil {
		return nil, false, err
	}
	filled, err := d.gapEvents(ctx)
	if err != nil {
		return nil, false, err
	}
	now := d.now()
	gaps := maps.Clone(d.gaps)
	for _, ev := range filled {
		delete(gaps, ev.Seq)
	}
	scan := d.scan
	for _, ev := range evs {
		for s := scan + 1; s < ev.Seq && len(gaps) < maxGaps; s++ {
			gaps[s] = now
		}
		scan = ev.Seq
	}
	maps.DeleteFunc(gaps, func(_ int64, first time.Time) bool { return now.Sub(first) >= d.timeout })
	safe := scan
	if len(gaps) > 0 {
		safe = min(safe, slices.Min(slices.Collect(maps.Keys(gaps)))-1)
	}
	touched = map[string]bool{}
	if len(evs) == 0 && len(filled) == 0 && safe == d.saved {
		d.gaps = gaps
		return touched, false, nil // nothing new: no write
	}
	subs, err := d.st.Subscriptions(ctx)
	if err != nil {
		return nil, false, err
	}
	err = d.st.InTx(ctx, func(tx Tx) error {
		clear(touched)
		if err := enqueue(ctx, tx, append(filled, evs...), subs, now, touched); err != nil {
			return err
		}
		return tx.AdvanceDeliveryCursor(ctx, cursorName, safe)
	})
	if err != nil {
		return nil, false, err
	}
	d.scan, d.saved, d.gaps = scan, safe, gaps
	return touched, len(evs) == d.batch, nil
}

// enqueue records in tx a delivery due at now of each event to each
// subscription that wants it, and marks in touched the subscriptions that
// got a new one.
func enqueue(ctx context.Context, tx Tx, evs []usher.OutboundEvent, subs []usher.Subscription, now time.Time, touched map[string]bool) error {
	for _, ev := range evs {
		for _, sub := range subs {
			if !wants(sub, ev) {
				continue
			}
			added, err := tx.EnqueueDelivery(ctx, usher.Delivery{
				SubscriptionID: sub.ID, EventID: ev.ID, EventSeq: ev.Seq, Type: ev.Type,
				OrderID: ev.OrderID, VenueID: ev.VenueID, NextAttemptAt: now,
			})
			if err != nil {
				return err
			}
			if added {
				touched[sub.ID] = true
			}
		}
	}
	return nil
}

// gapEvents returns the events that appeared at skipped sequence numbers.
func (d *dispatcher) gapEvents(ctx context.Context) ([]usher.OutboundEvent, error) {
	if len(d.gaps) == 0 {
		return nil, nil
	}
	seqs := slices.Sorted(maps.Keys(d.gaps))
	if len(seqs) > 500 {
		seqs = seqs[:500]
	}
	return d.st.OutboxBySeq(ctx, seqs)
}

// wants reports whether a subscription takes an event: it is not disabled,
// the type is one of its event types ("*" takes all, "ticket.*" a family)
// and the venue one of its venues, when it names any.
func wants(sub usher.Subscription, ev usher.OutboundEvent) bool {
	if sub.Status == usher.SubscriptionDisabled {
		return false
	}
	if len(sub.VenueIDs) > 0 && !slices.Contains(sub.VenueIDs, ev.VenueID) {
		return false
	}
	return slices.ContainsFunc(sub.EventTypes, func(t string) bool {
		if t == "*" || t == ev.Type {
			return true
		}
		prefix, ok := strings.CutSuffix(t, "*")
		return ok && strings.HasPrefix(ev.Type, prefix)
	})
}
