// Package processor applies queued inbound events to the ticketing state.
// One queued batch is one store transaction; inside it, each event writes its
// dedupe record (source, event id, payload hash) together with every state
// change and outbound event it causes, so an event replayed any number of
// times has its effects exactly once.
package processor

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/queue"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/telemetry"
	"github.com/usherhq/usher/internal/ticketing"
)

// Processor applies batches of inbound events. Batches handed to it by the
// partition consumers at the same time are applied in one transaction (group
// commit on the store side): one fsync for many partitions' batches.
type Processor struct {
	db      *store.DB
	metrics *telemetry.Metrics
	log     *slog.Logger
	now     func() time.Time
	codes   CodeIssuer
	tracing *telemetry.Tracing
	// txTimeout bounds one transaction, its attempts included: a statement
	// that never returns (a lock held elsewhere, a connection lost without
	// a word) fails the batch, which is redelivered, instead of holding the
	// single committer, and every partition behind it, for good.
	txTimeout time.Duration

	jobs chan *job
	stop chan struct{}
	done chan struct{}
}

type job struct {
	b      queue.Batch
	prep   map[*usher.InboundEvent]*prepared
	result chan error
}

// maxMergedEvents bounds the events of one merged transaction.
const maxMergedEvents = 2048

// CodeIssuer makes the code of a ticket at its generation.
type CodeIssuer interface {
	IssueCode(t usher.Ticket) (string, error)
}

// RandomCodes issues unguessable random codes, checked online only.
type RandomCodes struct{}

// IssueCode returns 160 random bits in base32.
func (RandomCodes) IssueCode(usher.Ticket) (string, error) { return ticketing.NewTicketCode() }

// New returns a Processor and starts its committer; Close stops it.
func New(db *store.DB, codes CodeIssuer, metrics *telemetry.Metrics, log *slog.Logger, now func() time.Time, opts ...Option) *Processor {
	p := &Processor{db: db, codes: codes, metrics: metrics, log: log, now: now, txTimeout: DefaultTxTimeout,
		jobs: make(chan *job, 1024), stop: make(chan struct{}), done: make(chan struct{})}
	for _, o := range opts {
		o(p)
	}
	go p.commitLoop()
	return p
}

// DefaultTxTimeout bounds a processing transaction. A batch of the largest
// size commits in well under a second; a minute is a statement that will
// not return.
const DefaultTxTimeout = time.Minute

// WithTxTimeout bounds each processing transaction by d instead of
// DefaultTxTimeout.
func WithTxTimeout(d time.Duration) Option { return func(p *Processor) { p.txTimeout = d } }

// Close stops the committer after the transaction it is running. Batches
// handed over later fail and are redelivered by the queue.
func (p *Processor) Close() {
	close(p.stop)
	<-p.done
}

// errClosed is returned for batches handed over after Close.
var errClosed = errors.New("processor closed")

// Event outcomes as counted in metrics.
const (
	outcomeDuplicate = "duplicate"
	outcomeIDReuse   = "id_reuse"
)

type result struct {
	ev      *usher.InboundEvent
	outcome string
	venue   string // as prepared; "" when it was not
}

// HandleBatch applies a queued batch, in one transaction with whatever other
// partitions hand over at the same time. It returns an error only for
// transient failures, which redeliver the batch; permanent failures of single
// events are set aside as dead letters inside the transaction.
func (p *Processor) HandleBatch(ctx context.Context, b queue.Batch) error {
	if b.DecodeErr != nil {
		return p.setAsideUndecodable(ctx, b)
	}
	j := &job{b: b, prep: p.prepare(b), result: make(chan error, 1)}
	select {
	case p.jobs <- j:
	case <-p.stop:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-j.result:
		return err
	case <-ctx.Done():
		// The committer still finishes the job; its effects are deduplicated
		// when the batch is redelivered.
		return ctx.Err()
	}
}

// commitLoop takes every job waiting, applies them in one transaction and
// answers each. If the merged transaction fails, each job is retried alone so
// that one failing batch cannot hold up the others.
func (p *Processor) commitLoop() {
	defer close(p.done)
	ctx := context.Background()
	for {
		var first *job
		select {
		case <-p.stop:
			return
		case first = <-p.jobs:
		}
		jobs, events := []*job{first}, len(first.b.Events)
	fill:
		for events < maxMergedEvents {
			select {
			case j := <-p.jobs:
				jobs, events = append(jobs, j), events+len(j.b.Events)
			default:
				break fill
			}
		}
		err := p.applyJobs(ctx, jobs)
		if err != nil && len(jobs) > 1 {
			for _, j := range jobs {
				j.result <- p.applyJobs(ctx, []*job{j})
			}
			continue
		}
		for _, j := range jobs {
			j.result <- err
		}
	}
}

// applyJobs runs jobs in one transaction and records their metrics on success.
// No event has a savepoint of its own: when one fails for good after it
// wrote something, or the store refuses its values, the transaction rolls
// back and runs again with that event set aside (see attempt) and the rest
// applied: one poison event never holds up its partition.
func (p *Processor) applyJobs(ctx context.Context, jobs []*job) (err error) {
	ctx, cancel := context.WithTimeout(ctx, p.txTimeout)
	defer cancel()
	start := p.now()
	ctx, span := p.startTx(ctx, jobs)
	defer func() { endSpan(span, err) }()
	at := &attempt{rejected: map[*usher.InboundEvent]string{}, failed: map[*usher.InboundEvent]*setAsideError{}}
	original := originalData(jobs)
	var results []result
	for {
		err := p.db.InTx(ctx, func(tx *store.Tx) error {
			var err error
			restoreData(original) // an earlier attempt may have vaulted personal data
			results, err = p.applyAll(ctx, tx, jobs, at, span)
			return err
		})
		if at.learn(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("apply %d batches: %w", len(jobs), err)
		}
		break
	}
	done := p.now()
	p.metrics.ProcessBatch.Observe(done.Sub(start).Seconds())
	for _, r := range results {
		p.metrics.ProcessedEvents.WithLabelValues(r.ev.Type, r.outcome).Inc()
		if r.outcome == usher.OutcomeApplied {
			p.metrics.ProcessingLag.WithLabelValues(r.ev.Type).Observe(done.Sub(r.ev.ReceivedAt).Seconds())
		}
	}
	p.published(ctx, results, done)
	return nil
}

// applyAll applies every event of jobs in tx, setting aside those that
// failed in an earlier attempt. An event's error comes back as an
// *eventError naming it.
func (p *Processor) applyAll(ctx context.Context, tx *store.Tx, jobs []*job, at *attempt, txSpan trace.Span) ([]result, error) {
	var keys []store.InboundKey
	for _, j := range jobs {
		for _, ev := range j.b.Events {
			keys = append(keys, store.InboundKey{Source: ev.Source, EventID: ev.ID})
		}
	}
	if err := tx.PrefetchInbound(ctx, keys); err != nil { // every dedupe record of the batch, in a few reads
		return nil, err
	}
	if err := prefetchOrders(ctx, tx, jobs); err != nil {
		return nil, err
	}
	var results []result
	for _, j := range jobs {
		for i := range j.b.Events {
			ev := &j.b.Events[i]
			var outcome string
			var err error
			// The writer holds a core for a whole batch: between events it
			// lets a request that became runnable run first.
			runtime.Gosched()
			ectx, span := p.startApply(ctx, txSpan, ev, j.b.Delivered)
			ectx = withPrepared(ectx, j.prep[ev])
			if detail, ok := at.rejected[ev]; ok {
				outcome, err = p.setAsideRejected(ectx, tx, ev, j.b.Delivered, detail)
			} else {
				outcome, err = p.applyOne(ectx, tx, ev, j.b.Delivered, at.failed[ev])
			}
			if err == nil && at.flushEach {
				err = tx.Flush(ectx)
			}
			endApply(span, outcome, err)
			if errors.Is(err, store.ErrHeldRows) && !at.flushEach {
				// Rows of an earlier event may be the refused ones: a run
				// that flushes after every event finds whose they are.
				return nil, err
			}
			if err != nil {
				return nil, &eventError{ev: ev, err: err}
			}
			var venue string
			if pr := j.prep[ev]; pr != nil {
				venue = pr.venue
			}
			results = append(results, result{ev, outcome, venue})
		}
	}
	return results, nil
}

// prefetchOrders reads, in a few statements, the orders (with their
// tickets) and the buyer tokens of the batch's events that are new: the
// handlers then find them in the transaction's memory.
func prefetchOrders(ctx context.Context, tx *store.Tx, jobs []*job) error {
	var ids []string
	for _, j := range jobs {
		for i := range j.b.Events {
			ev := &j.b.Events[i]
			if _, seen, err := tx.InboundRecord(ctx, ev.Source, ev.ID); err != nil {
				return err
			} else if !seen && ev.OrderID != "" {
				ids = append(ids, ev.OrderID)
			}
		}
	}
	if err := tx.PrefetchOrders(ctx, ids); err != nil {
		return err
	}
	return tx.PrefetchBuyers(ctx, ids)
}

// applyOne deduplicates and applies one event inside the batch transaction.
// failed is the permanent failure the event met in an earlier attempt of
// the transaction, after it had written: it is set aside at once.
func (p *Processor) applyOne(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent, delivered uint64, failed *setAsideError) (string, error) {
	var unusable *setAsideError
	if err := p.preparePersonal(ctx, tx, ev); err != nil && !errors.As(err, &unusable) {
		return "", err
	}
	if ev.Type == "" && unusable == nil {
		// The edge refuses such an event; one queued another way (an older
		// version, a hand-made message) is set aside, not retried.
		unusable = &setAsideError{reason: "invalid_event", detail: "the event has no type"}
	}
	if outcome, done, err := p.dedupe(ctx, tx, ev, delivered); done || err != nil {
		return outcome, err
	}
	rec := usher.InboundRecord{
		Source: ev.Source, EventID: ev.ID, PayloadHash: ev.PayloadHash, Type: ev.Type, OrderID: ev.OrderID,
		KeyID: ev.KeyID, Outcome: usher.OutcomeApplied, Data: ev.Data,
		EventAt: ev.Timestamp, ReceivedAt: ev.ReceivedAt, ProcessedAt: p.now(), TraceID: traceID(ev),
	}
	sa := cmp.Or(unusable, failed)
	if sa == nil {
		before := tx.Writes()
		ignored, err := p.apply(ctx, tx, ev)
		switch {
		case errors.As(err, &sa) && tx.Writes() != before:
			return "", sa // its writes must go: the transaction runs again with it set aside
		case sa == nil && err != nil:
			return "", err
		case ignored != "":
			rec.Outcome, rec.Reason = usher.OutcomeIgnored, ignored
		}
	}
	if sa != nil {
		rec.Outcome, rec.Reason = usher.OutcomeSetAside, sa.reason
		if err := tx.InsertDeadLetter(ctx, p.deadLetter(ev, sa.reason, delivered, sa.detail)); err != nil {
			return "", err
		}
		p.log.WarnContext(ctx, "event set aside", "source", ev.Source, "event_id", ev.ID, "type", ev.Type, "order_id", ev.OrderID, "reason", sa.reason, "detail", sa.detail)
	}
	if err := tx.InsertInbound(ctx, rec); err != nil {
		return "", err
	}
	return rec.Outcome, auditEvent(ctx, tx, ev, rec.Outcome, rec.Reason)
}

// dedupe looks up the event's dedupe record. done is true when the event
// was seen before (a duplicate, or its id reused with other content, kept
// as a dead letter); an operator's replay of what was set aside is applied
// afresh.
func (p *Processor) dedupe(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent, delivered uint64) (outcome string, done bool, err error) {
	prev, found, err := tx.InboundRecord(ctx, ev.Source, ev.ID)
	if err != nil {
		return "", true, err
	}
	if found && ev.Replay && prev.Outcome == usher.OutcomeSetAside && prev.PayloadHash == ev.PayloadHash {
		return "", false, tx.DeleteInbound(ctx, ev.Source, ev.ID)
	}
	if !found {
		return "", false, nil
	}
	if prev.PayloadHash == ev.PayloadHash {
		return outcomeDuplicate, true, nil
	}
	// Same id, other content: never applied, kept once for an operator.
	err = tx.InsertDeadLetter(ctx, p.deadLetter(ev, outcomeIDReuse, delivered,
		fmt.Sprintf("event id already used with payload hash %s", prev.PayloadHash)))
	return outcomeIDReuse, true, err
}

// auditEvent records the event's outcome. It goes last in the event's work:
// it takes the chain's head row, which then stays locked only until the
// commit.
func auditEvent(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent, outcome, reason string) error {
	return tx.AppendAudit(ctx, usher.AuditEntry{
		Actor: "source:" + ev.Source, Action: auditAction(ev.Type), EntityType: "event", EntityID: ev.ID, OrderID: ev.OrderID,
		Detail: map[string]string{"outcome": outcome, "reason": reason, "key_id": ev.KeyID, "payload_hash": ev.PayloadHash},
	})
}

// untypedAction is the audit action of an event that has no type.
const untypedAction = "event.untyped"

// auditAction is the audit action of an event of type typ: the type itself.
func auditAction(typ string) string { return cmp.Or(typ, untypedAction) }

// apply dispatches on the canonical type. It returns a non-empty reason when
// the event is recorded but changes nothing.
func (p *Processor) apply(ctx context.Context, tx *store.Tx, ev *usher.InboundEvent) (ignored string, err error) {
	switch ev.Type {
	case usher.TypeOrderCreated:
		return p.applyCreated(ctx, tx, ev)
	case usher.TypeOrderPaid:
		return p.applyPaid(ctx, tx, ev)
	case usher.TypeOrderPaymentFailed:
		return p.applyUnpaid(ctx, tx, ev, usher.OrderPaymentFailed)
	case usher.TypeOrderCanceled:
		return p.applyUnpaid(ctx, tx, ev, usher.OrderCanceled)
	case usher.TypeOrderExpired:
		return p.applyUnpaid(ctx, tx, ev, usher.OrderExpired)
	case usher.TypeOrderRefunded:
		return p.applyRefunded(ctx, tx, ev)
	case usher.TypeOrderChargeback:
		return p.applyChargeback(ctx, tx, ev)
	case usher.TypeOrderChargebackReversed:
		return p.applyChargebackReversed(ctx, tx, ev)
	case usher.TypeTicketTransferred:
		return p.applyTransferred(ctx, tx, ev)
	case usher.TypeInventoryAdjusted:
		return p.applyInventoryAdjusted(ctx, tx, ev)
	default:
		return "unhandled_type", nil
	}
}

// setAsideError is a permanent failure of one event.
type setAsideError struct {
	reason string
	detail string
}

func (e *setAsideError) Error() string { return e.reason + ": " + e.detail }

func setAside(reason, format string, args ...any) error {
	return &setAsideError{reason: reason, detail: fmt.Sprintf(format, args...)}
}

func (p *Processor) deadLetter(ev *usher.InboundEvent, reason string, delivered uint64, detail string) usher.DeadLetter {
	return usher.DeadLetter{
		ID:     ticketing.StableID("dlq_", "processing", ev.Source, ev.ID, ev.PayloadHash),
		Stage:  "processing",
		Source: ev.Source, EventID: ev.ID, Type: ev.Type, OrderID: ev.OrderID,
		VenueID: venueOf(ev), Reason: reason, Attempts: int(delivered),
		FirstError: detail, LastError: detail, Payload: mustJSON(ev),
	}
}

func (p *Processor) setAsideUndecodable(ctx context.Context, b queue.Batch) error {
	id := ticketing.StableID("dlq_", "processing-undecodable", string(b.Raw))
	p.log.Error("undecodable queue message set aside", "partition", b.Partition, "dead_letter", id, "err", b.DecodeErr)
	return p.db.InTx(ctx, func(tx *store.Tx) error {
		return tx.InsertDeadLetter(ctx, usher.DeadLetter{
			ID: id, Stage: "processing", EventID: id, Type: "undecodable", Reason: "undecodable",
			Attempts: int(b.Delivered), FirstError: b.DecodeErr.Error(), LastError: b.DecodeErr.Error(),
			Payload: mustJSON(map[string]string{"raw": string(b.Raw)}),
		})
	})
}

// ExpireHolds releases the holds that lapsed before now, as order.expired
// would, and returns how many it released.
func (p *Processor) ExpireHolds(ctx context.Context, now time.Time) (int, error) {
	ids, err := p.db.ExpiredHolds(ctx, now, 500)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		ev := &usher.InboundEvent{Source: "usher", ID: "hold-expiry/" + id, Type: usher.TypeOrderExpired, OrderID: id, Timestamp: now, ReceivedAt: now}
		err := p.db.InTx(ctx, func(tx *store.Tx) error {
			o, found, err := tx.Order(ctx, id)
			if err != nil || !found || !o.PaidAt.IsZero() || len(o.HeldItems) == 0 || !o.HoldExpiresAt.Before(now) {
				return err // paid or released meanwhile
			}
			ev.Data = mustJSON(map[string]string{"order_id": id})
			_, err = p.applyUnpaid(ctx, tx, ev, usher.OrderExpired)
			return err
		})
		if err != nil {
			return n, fmt.Errorf("expire hold of %s: %w", id, err)
		}
		n++
	}
	return n, nil
}

// Replayer re-enqueues processing-stage dead letters, keeping their event
// ids: an event set aside is applied again, anything else stays deduplicated.
type Replayer struct {
	Queue interface {
		Enqueue(ctx context.Context, ev *usher.InboundEvent) error
	}
}

// ReplayProcessing puts the dead letter's event back on the queue.
func (r Replayer) ReplayProcessing(ctx context.Context, dl usher.DeadLetter) error {
	var ev usher.InboundEvent
	if err := json.Unmarshal(dl.Payload, &ev); err != nil || ev.ID == "" {
		return usher.Errorf(usher.CodeConflict, "dead letter %s holds no replayable event", dl.ID)
	}
	ev.Replay = true
	return r.Queue.Enqueue(ctx, &ev)
}
