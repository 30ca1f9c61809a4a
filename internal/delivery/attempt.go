package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/ticketing"
)

// StageDelivery is the dead-letter stage of failed deliveries.
const StageDelivery = "delivery"

// EventSubscriptionDisabled is the operator event emitted when a
// subscription is disabled by its failures or by a 410.
const EventSubscriptionDisabled = usher.TypeSubscriptionDisabled

// errNoEvent marks a delivery whose outbound event cannot be read.
var errNoEvent = errors.New("outbound event missing")

// Read limits of a response: the excerpt kept as the error, and how much is
// drained so that the connection can be reused.
const (
	excerptBytes = 256
	drainBytes   = 64 << 10
)

// timing is when an attempt was made, by the service's clock: sent at
// (signed into webhook-timestamp) and over at end, when its answer was read
// or it failed; a retry is scheduled from end. latency is the wall-clock
// time it took.
type timing struct {
	at, end time.Time
	latency time.Duration
}

// attempt posts a delivery once and returns what came back and when.
func (s *Service) attempt(ctx context.Context, sub usher.Subscription, keys []usher.SubscriptionKey, d usher.Delivery) (result, timing) {
	t := timing{at: s.now()}
	body, err := s.body(sub, d)
	if err != nil {
		t.end = t.at
		return result{err: fmt.Errorf("%w: %w", errNoEvent, err)}, t
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.URL, bytes.NewReader(body))
	if err != nil {
		t.end = t.at
		return result{err: err}, t
	}
	req.Header = signedHeaders(keys, d.EventID, t.at, body)
	s.versionHeaders(req.Header, s.eventVersion(sub))
	s.injectTrace(ctx, req.Header)
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		t.end, t.latency = s.now(), time.Since(start)
		return result{err: err}, t
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, excerptBytes))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainBytes))
	t.end, t.latency = s.now(), time.Since(start)
	return result{
		status:     resp.StatusCode,
		retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), t.end),
		excerpt:    printable(head),
	}, t
}

// printable keeps a response excerpt fit for a log line and an API field.
func printable(b []byte) string {
	s := strings.ToValidUTF8(string(b), "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, s)
	return strings.TrimSpace(s)
}

// release ends the lease of a delivery that was not attempted, so that it
// is attempted again without waiting for the lease to pass.
func (s *Service) release(d usher.Delivery) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.st.ReleaseDelivery(ctx, d.ID, d.LeaseToken); err != nil {
		s.log.Debug("release delivery", "subscription_id", d.SubscriptionID, "event_id", d.EventID, "err", err)
	}
}

// schedule returns the retry schedule of a subscription.
func (s *Service) schedule(sub usher.Subscription) []time.Duration {
	if len(sub.RetrySchedule) > 0 {
		return sub.RetrySchedule
	}
	return s.cfg.RetrySchedule
}

// settle records an attempt and its consequences in one transaction: the
// attempt row, the delivery's new state, a dead letter, the subscription's
// failing clock and, when it is disabled, the operator event. A settle that
// fails leaves the lease to run out, and the delivery is attempted again.
func (s *Service) settle(sub usher.Subscription, d usher.Delivery, r result, t timing) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	schedule := s.schedule(sub)
	d, v, reason := s.next(d, r, t, schedule)
	at, latency := t.at, t.latency
	var disabled string
	err := s.st.InTx(ctx, func(tx Tx) error {
		var err error
		disabled, err = s.record(ctx, tx, sub, d, v, r, reason, at, latency, schedule)
		return err
	})
	switch {
	case errors.Is(err, usher.ErrLeaseLost):
		s.log.Debug("delivery settled elsewhere", "subscription_id", d.SubscriptionID, "event_id", d.EventID)
		return
	case err != nil:
		s.log.Error("record delivery attempt", "subscription_id", d.SubscriptionID, "event_id", d.EventID, "err", err)
		return
	}
	s.metrics.attempt(sub.ID, outcomeOf(d.Status), r, latency)
	if d.Status == usher.DeliveryDead {
		s.log.Warn("delivery dead-lettered", "subscription_id", sub.ID, "event_id", d.EventID, "reason", reason, "attempts", d.Attempts, "error", d.LastError)
	}
	if disabled != "" {
		s.log.Warn("subscription disabled", "subscription_id", sub.ID, "reason", disabled)
		s.changed()
	}
}

// next returns the delivery as the attempt leaves it: delivered, due again
// the scheduled delay after the attempt ended, or dead, with the verdict
// and the dead-letter reason.
func (s *Service) next(d usher.Delivery, r result, t timing, schedule []time.Duration) (usher.Delivery, verdict, string) {
	v, reason := judge(r)
	d.Attempts++
	d.WindowAttempts++
	d.LastStatus, d.LastError = r.status, r.describe()
	if d.FirstError == "" {
		d.FirstError = d.LastError
	}
	switch {
	case v == delivered:
		d.Status = usher.DeliveryDelivered
	case v == retry && (d.WindowAttempts > len(schedule) || t.at.Sub(d.WindowStart) >= window(schedule)):
		d.Status, reason = usher.DeliveryDead, ReasonExhausted
	case v == retry:
		d.Status = usher.DeliveryPending
		left := d.WindowStart.Add(window(schedule)).Sub(t.end)
		d.NextAttemptAt = t.end.Add(retryDelay(schedule, d.WindowAttempts, r.retryAfter, left, s.cfg.Jitter, s.rnd))
	default:
		d.Status = usher.DeliveryDead
	}
	return d, v, reason
}

// record writes a settled attempt in tx and returns why the subscription
// was disabled, if this attempt disabled it.
func (s *Service) record(ctx context.Context, tx Tx, sub usher.Subscription, d usher.Delivery, v verdict, r result, reason string,
	at time.Time, latency time.Duration, schedule []time.Duration) (string, error) {
	if err := tx.SettleDelivery(ctx, d); err != nil {
		return "", err
	}
	if err := tx.InsertDeliveryAttempt(ctx, usher.DeliveryAttempt{
		DeliveryID: d.ID, SubscriptionID: d.SubscriptionID, EventID: d.EventID, Attempt: d.Attempts,
		StatusCode: r.status, LatencyMS: latency.Milliseconds(), Error: d.LastError, At: at,
	}); err != nil {
		return "", err
	}
	if d.Status == usher.DeliveryDead {
		if err := tx.UpsertDeadLetter(ctx, s.deadLetter(sub, d, reason)); err != nil {
			return "", err
		}
	}
	why, err := s.track(ctx, tx, sub.ID, d, v, r, reason, at, schedule)
	if err != nil || why == "" {
		return "", err
	}
	return s.disable(ctx, tx, sub, why, at)
}

// track keeps the subscription's failing clock and returns why the
// subscription must be disabled, if it must: the endpoint answered 410, or
// it has failed without a single success for a whole retry window.
func (s *Service) track(ctx context.Context, tx Tx, id string, d usher.Delivery, v verdict, r result, reason string, at time.Time, schedule []time.Duration) (string, error) {
	if v == gone {
		return "the endpoint answered 410 Gone", nil
	}
	if v == delivered {
		return "", tx.ClearSubscriptionFailing(ctx, id)
	}
	if !r.endpointFailed() {
		return "", nil
	}
	cur, found, err := tx.Subscription(ctx, id)
	if err != nil || !found {
		return "", err
	}
	if cur.FailingSince.IsZero() {
		return "", tx.MarkSubscriptionFailing(ctx, id, at)
	}
	wholeWindow := at.Sub(cur.FailingSince) >= window(schedule) ||
		(reason == ReasonExhausted && !cur.FailingSince.After(d.WindowStart))
	if wholeWindow {
		return fmt.Sprintf("no successful delivery since %s, a whole retry window", cur.FailingSince.Format(time.RFC3339)), nil
	}
	return "", nil
}

// disable disables the subscription and, if this call did it, emits the
// operator event. It returns the reason when it disabled.
func (s *Service) disable(ctx context.Context, tx Tx, sub usher.Subscription, why string, at time.Time) (string, error) {
	changed, err := tx.DisableSubscription(ctx, sub.ID, why)
	if err != nil || !changed {
		return "", err
	}
	data, err := json.Marshal(map[string]any{
		"subscription_id": sub.ID, "url": withoutQuery(sub.URL), "reason": why, "disabled_at": at.UTC().Format(time.RFC3339Nano),
	})
	if err != nil {
		return "", err
	}
	err = tx.AppendOutbox(ctx, usher.OutboundEvent{
		ID:   ticketing.StableID("evt_", EventSubscriptionDisabled, sub.ID, strconv.FormatInt(at.UnixMicro(), 10)),
		Type: EventSubscriptionDisabled, Data: data,
	})
	if err != nil {
		return "", err
	}
	if err := auditAs(ctx, tx, lanesActor, ActionSubscriptionDisabled, "subscription", sub.ID, map[string]any{"reason": why}); err != nil {
		return "", err
	}
	return why, nil
}

// withoutQuery drops the query of a URL, which may carry a receiver's token,
// for the operator event that every subscriber to it receives.
func withoutQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.RawQuery, u.Fragment = "", ""
	return u.String()
}

// deadLetterID is the stable id of a delivery's dead letter: a delivery that
// fails again after a replay updates the same one.
func deadLetterID(subscriptionID, eventID string) string {
	return ticketing.StableID("dlq_", StageDelivery, subscriptionID, eventID)
}

func (s *Service) deadLetter(sub usher.Subscription, d usher.Delivery, reason string) usher.DeadLetter {
	payload, err := s.body(sub, d)
	if err != nil {
		payload = []byte("null")
	}
	return usher.DeadLetter{
		ID: deadLetterID(d.SubscriptionID, d.EventID), Stage: StageDelivery, SubscriptionID: d.SubscriptionID,
		EventID: d.EventID, Type: d.Type, OrderID: d.OrderID, VenueID: d.VenueID, Reason: reason,
		Attempts: d.Attempts, FirstError: d.FirstError, LastError: d.LastError, Payload: payload,
	}
}

func outcomeOf(status string) string {
	switch status {
	case usher.DeliveryDelivered:
		return outcomeDelivered
	case usher.DeliveryDead:
		return outcomeDeadLettered
	}
	return outcomeRetry
}
