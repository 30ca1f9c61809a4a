package delivery

import (
	"context"
	"strconv"
	"time"

	"github.com/usherhq/usher"
)

// StageProcessing is the dead-letter stage of inbound events the processor
// set aside.
const StageProcessing = "processing"

// codeNotImplemented answers a replay nobody can perform here (a
// processing-stage item without a ProcessingReplayer): 501.
const codeNotImplemented = usher.CodeNotImplemented

// Replay limits: per request, and per page of work between two waits on
// the rate limiter.
const (
	defaultReplayLimit = 1000
	maxReplayLimit     = 10000
	replayPage         = 100
)

// ReplayResult counts what a bulk replay did.
type ReplayResult struct {
	// Matched is how many items the filter selected in this call.
	Matched int `json:"matched"`
	// Replayed is how many were queued again (or re-run, for processing).
	Replayed int `json:"replayed"`
	// Skipped is how many could not be: subscription deleted or disabled,
	// event gone, processing replay unavailable, or already pending.
	Skipped int `json:"skipped"`
	// NextCursor, when set, continues the replay where the limit stopped it.
	NextCursor string `json:"next_cursor,omitempty"`
}

// ReplayDeadLetter replays one dead letter: a delivery is queued again for
// its subscription with its original event id and a new retry window; a
// processing-stage item goes to the ProcessingReplayer. Errors are
// usher.CodeNotFound, usher.CodeConflict (subscription deleted or disabled,
// event gone) or codeNotImplemented.
func (s *Service) ReplayDeadLetter(ctx context.Context, id string) (usher.DeadLetterRecord, error) {
	dl, err := s.st.DeadLetterByID(ctx, id)
	if err != nil {
		return usher.DeadLetterRecord{}, err
	}
	if err := s.replayOne(ctx, dl.DeadLetter, map[string]usher.Subscription{}); err != nil {
		return usher.DeadLetterRecord{}, err
	}
	return s.st.DeadLetterByID(ctx, id)
}

func (s *Service) replayOne(ctx context.Context, dl usher.DeadLetter, subs map[string]usher.Subscription) error {
	now := s.now()
	if dl.Stage == StageProcessing {
		return s.replayProcessing(ctx, dl, now)
	}
	d, err := s.prepare(ctx, dl, subs, now)
	if err != nil {
		return err
	}
	return s.requeueDeadLetters(ctx, []usher.DeadLetter{dl}, []usher.Delivery{d}, now)
}

func (s *Service) replayProcessing(ctx context.Context, dl usher.DeadLetter, now time.Time) error {
	if s.processing == nil {
		return usher.Errorf(codeNotImplemented, "replaying processing-stage dead letters is not available in this process")
	}
	if err := s.processing.ReplayProcessing(ctx, dl); err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx Tx) error {
		if err := tx.MarkDeadLetterReplayed(ctx, dl.ID, now); err != nil {
			return err
		}
		return audit(ctx, tx, ActionDeadLettersReplayed, "dead_letter", dl.ID, map[string]any{"stage": dl.Stage, "event_id": dl.EventID})
	})
}

// prepare returns the delivery that replays a delivery-stage dead letter,
// or a usher.CodeConflict error when its subscription or event is gone or
// the subscription is disabled. subs caches subscriptions across a batch.
func (s *Service) prepare(ctx context.Context, dl usher.DeadLetter, subs map[string]usher.Subscription, now time.Time) (usher.Delivery, error) {
	sub, ok := subs[dl.SubscriptionID]
	if !ok {
		var err error
		if sub, err = s.st.Subscription(ctx, dl.SubscriptionID); err != nil {
			if usher.ErrorCode(err) == usher.CodeNotFound {
				return usher.Delivery{}, usher.Errorf(usher.CodeConflict, "subscription %s was deleted", dl.SubscriptionID)
			}
			return usher.Delivery{}, err
		}
		subs[sub.ID] = sub
	}
	if sub.Status == usher.SubscriptionDisabled {
		return usher.Delivery{}, usher.Errorf(usher.CodeConflict, "subscription %s is disabled; resume it first", sub.ID)
	}
	ev, err := s.st.OutboxEvent(ctx, dl.EventID)
	if err != nil {
		if usher.ErrorCode(err) == usher.CodeNotFound {
			return usher.Delivery{}, usher.Errorf(usher.CodeConflict, "event %s is no longer in the outbox", dl.EventID)
		}
		return usher.Delivery{}, err
	}
	return deliveryOf(sub, ev, now), nil
}

// requeueDeadLetters queues the deliveries again and closes their dead
// letters as replayed, in one transaction with one audit record.
func (s *Service) requeueDeadLetters(ctx context.Context, dls []usher.DeadLetter, ds []usher.Delivery, now time.Time) error {
	if len(ds) == 0 {
		return nil
	}
	ids := make([]string, len(dls))
	for i, dl := range dls {
		ids[i] = dl.ID
	}
	entity := ""
	if len(ids) == 1 {
		entity = ids[0]
	}
	err := s.st.InTx(ctx, func(tx Tx) error {
		for i, d := range ds {
			if _, err := tx.RequeueDelivery(ctx, d); err != nil {
				return err
			}
			if err := tx.MarkDeadLetterReplayed(ctx, dls[i].ID, now); err != nil {
				return err
			}
		}
		return audit(ctx, tx, ActionDeadLettersReplayed, "dead_letter", entity, map[string]any{"stage": StageDelivery, "ids": ids})
	})
	if err == nil {
		s.changed()
	}
	return err
}

func deliveryOf(sub usher.Subscription, ev usher.OutboundEvent, at time.Time) usher.Delivery {
	return usher.Delivery{
		SubscriptionID: sub.ID, EventID: ev.ID, EventSeq: ev.Seq, Type: ev.Type,
		OrderID: ev.OrderID, VenueID: ev.VenueID, NextAttemptAt: at,
	}
}

// ReplayDeadLetters replays the open dead letters that match f, newest
// first, at most f.Limit of them (default 1000, at most 10000), at the
// replay rate. Items that cannot be replayed are counted as skipped.
func (s *Service) ReplayDeadLetters(ctx context.Context, f usher.DeadLetterFilter) (ReplayResult, error) {
	limit := clampLimit(f.Limit)
	f.State = usher.DeadLettersOpen
	var res ReplayResult
	subs := map[string]usher.Subscription{}
	for res.Matched < limit {
		f.Limit = min(s.replayPage(), limit-res.Matched)
		page, next, err := s.st.SearchDeadLetters(ctx, f)
		if err != nil {
			return res, err
		}
		if err := s.limiter.WaitN(ctx, max(1, len(page))); err != nil {
			return res, usher.WrapError(usher.CodeUnavailable, err, "replay interrupted")
		}
		if err := s.replayBatch(ctx, page, subs, &res); err != nil {
			return res, err
		}
		if f.Cursor, res.NextCursor = next, next; next == "" {
			return res, nil
		}
	}
	return res, nil
}

// replayBatch replays a page of dead letters: the deliveries in one
// transaction, processing items one by one. Items that cannot be replayed
// are counted as skipped.
func (s *Service) replayBatch(ctx context.Context, page []usher.DeadLetterRecord, subs map[string]usher.Subscription, res *ReplayResult) error {
	now := s.now()
	var dls []usher.DeadLetter
	var ds []usher.Delivery
	for _, r := range page {
		res.Matched++
		var err error
		if r.Stage == StageProcessing {
			if err = s.replayProcessing(ctx, r.DeadLetter, now); err == nil {
				res.Replayed++
			}
		} else {
			var d usher.Delivery
			if d, err = s.prepare(ctx, r.DeadLetter, subs, now); err == nil {
				dls, ds = append(dls, r.DeadLetter), append(ds, d)
			}
		}
		switch code := usher.ErrorCode(err); {
		case err == nil:
		case code == usher.CodeConflict || code == codeNotImplemented:
			res.Skipped++
		default:
			return err
		}
	}
	if err := s.requeueDeadLetters(ctx, dls, ds, now); err != nil {
		return err
	}
	res.Replayed += len(ds)
	return nil
}

// ReplaySubscription queues again, with their original ids, the events a
// subscription takes that were created at or after since (and before until,
// when set), in outbox order from after cursor (an outbox seq, "" from the
// start), at most limit of them.
func (s *Service) ReplaySubscription(ctx context.Context, id string, since, until time.Time, cursor string, limit int) (ReplayResult, error) {
	sub, err := s.st.Subscription(ctx, id)
	if err != nil {
		return ReplayResult{}, err
	}
	if sub.Status == usher.SubscriptionDisabled {
		return ReplayResult{}, usher.Errorf(usher.CodeConflict, "subscription %s is disabled; resume it first", id)
	}
	var after int64
	if cursor != "" {
		if after, err = strconv.ParseInt(cursor, 10, 64); err != nil || after < 0 {
			return ReplayResult{}, usher.Errorf(usher.CodeInvalid, "cursor %q is not one this API returned", cursor)
		}
	}
	limit = clampLimit(limit)
	var res ReplayResult
	for {
		evs, err := s.st.OutboxSince(ctx, since, after, s.replayPage())
		if err != nil {
			return res, err
		}
		done, full := len(evs) < s.replayPage(), false
		var batch []usher.OutboundEvent
		for _, ev := range evs {
			if !until.IsZero() && !ev.CreatedAt.Before(until) {
				done = true
				break
			}
			after = ev.Seq
			if wants(sub, ev) {
				batch = append(batch, ev)
			}
			if full = res.Matched+len(batch) == limit; full {
				break
			}
		}
		if err := s.requeue(ctx, sub, batch, &res); err != nil {
			return res, err
		}
		if full && !done {
			res.NextCursor = strconv.FormatInt(after, 10)
			return res, nil
		}
		if done || full {
			return res, nil
		}
	}
}

// requeue queues a page of a subscription's events again, at the replay
// rate, and counts them into res.
func (s *Service) requeue(ctx context.Context, sub usher.Subscription, evs []usher.OutboundEvent, res *ReplayResult) error {
	if len(evs) == 0 {
		return nil
	}
	if err := s.limiter.WaitN(ctx, len(evs)); err != nil {
		return usher.WrapError(usher.CodeUnavailable, err, "replay interrupted")
	}
	now := s.now()
	changed := 0
	err := s.st.InTx(ctx, func(tx Tx) error {
		changed = 0
		for _, ev := range evs {
			ok, err := tx.RequeueDelivery(ctx, deliveryOf(sub, ev, now))
			if err != nil {
				return err
			}
			if ok {
				changed++
			}
		}
		return audit(ctx, tx, ActionSubscriptionReplayed, "subscription", sub.ID, map[string]any{
			"events": len(evs), "first_seq": evs[0].Seq, "last_seq": evs[len(evs)-1].Seq,
		})
	})
	if err != nil {
		return err
	}
	res.Matched += len(evs)
	res.Replayed += changed
	res.Skipped += len(evs) - changed
	s.changed()
	return nil
}

// replayPage is the work between two waits on the limiter: never more than
// its burst.
func (s *Service) replayPage() int { return min(replayPage, s.limiter.Burst()) }

func clampLimit(n int) int {
	if n <= 0 {
		return defaultReplayLimit
	}
	return min(n, maxReplayLimit)
}
