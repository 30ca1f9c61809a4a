package incident

import (
	"context"
	"strings"
	"time"

	"github.com/usherhq/usher"
)

// TagRequest names what to tag: items of one kind, by ref or by filter.
type TagRequest struct {
	// Kind is dead_letter, delivery or inbound.
	Kind string `json:"kind"`
	// IDs are refs: a dead letter id, subscription_id/event_id of a
	// delivery, source/event_id of an inbound event.
	IDs []string `json:"ids,omitempty"`
	// Filter selects the items when IDs is empty.
	Filter Filter `json:"filter,omitzero"`
}

// Filter selects items to tag. Dead letters take the fields of the
// dead-letter search; deliveries need subscription_id and take status,
// order_id and since; inbound events need source or order_id and take
// outcome and since.
type Filter struct {
	Stage          string `json:"stage,omitempty"`
	Source         string `json:"source,omitempty"`
	SubscriptionID string `json:"subscription_id,omitempty"`
	Type           string `json:"type,omitempty"`
	OrderID        string `json:"order_id,omitempty"`
	VenueID        string `json:"venue_id,omitempty"`
	Reason         string `json:"reason,omitempty"`
	Error          string `json:"error,omitempty"`
	State          string `json:"state,omitempty"`
	Status         string `json:"status,omitempty"`
	Outcome        string `json:"outcome,omitempty"`
	Since          string `json:"since,omitempty"`
	Until          string `json:"until,omitempty"`
	Limit          int    `json:"limit,omitempty"`
}

// TagResult says how many items a tag request matched and how many of them
// were not tagged before.
type TagResult struct {
	Matched int `json:"matched"`
	Added   int `json:"added"`
}

// Tag adds the items of req to an open incident.
func (s *Service) Tag(ctx context.Context, id string, req TagRequest) (TagResult, error) {
	refs, err := s.refs(ctx, req)
	if err != nil {
		return TagResult{}, err
	}
	res := TagResult{Matched: len(refs)}
	err = s.st.InTx(ctx, func(tx Tx) error {
		n, err := tx.TagIncident(ctx, id, req.Kind, refs, s.now().UTC())
		if err != nil {
			return err
		}
		res.Added = n
		detail := map[string]any{"kind": req.Kind, "matched": len(refs), "added": n}
		if len(req.IDs) > 0 {
			detail["ids"] = refs
		} else {
			detail["filter"] = req.Filter
		}
		return s.audit(ctx, tx, ActionTagged, id, detail)
	})
	return res, err
}

func (s *Service) refs(ctx context.Context, req TagRequest) ([]string, error) {
	if len(req.IDs) > 0 {
		return validRefs(req.Kind, req.IDs)
	}
	f := req.Filter
	limit := f.Limit
	if limit <= 0 || limit > maxTags {
		limit = maxTags
	}
	since, err := parseTime("since", f.Since)
	if err != nil {
		return nil, err
	}
	switch req.Kind {
	case usher.TagDeadLetter:
		return s.deadLetterRefs(ctx, f, since, limit)
	case usher.TagDelivery:
		if f.SubscriptionID == "" {
			return nil, usher.Errorf(usher.CodeInvalid, "tagging deliveries by filter needs filter.subscription_id")
		}
		return s.st.DeliveryRefs(ctx, usher.DeliveryRefFilter{SubscriptionID: f.SubscriptionID, Status: f.Status, OrderID: f.OrderID, Since: since, Limit: limit})
	case usher.TagInbound:
		if f.Source == "" && f.OrderID == "" {
			return nil, usher.Errorf(usher.CodeInvalid, "tagging inbound events by filter needs filter.source or filter.order_id")
		}
		return s.st.InboundRefs(ctx, usher.InboundRefFilter{Source: f.Source, OrderID: f.OrderID, Outcome: f.Outcome, Since: since, Limit: limit})
	}
	return nil, usher.Errorf(usher.CodeInvalid, "kind %q: want dead_letter, delivery or inbound", req.Kind)
}

func (s *Service) deadLetterRefs(ctx context.Context, f Filter, since time.Time, limit int) ([]string, error) {
	until, err := parseTime("until", f.Until)
	if err != nil {
		return nil, err
	}
	q := usher.DeadLetterFilter{Stage: f.Stage, Source: f.Source, SubscriptionID: f.SubscriptionID, Type: f.Type,
		OrderID: f.OrderID, VenueID: f.VenueID, Reason: f.Reason, Error: f.Error, State: f.State, Since: since, Until: until}
	if q == (usher.DeadLetterFilter{State: f.State}) {
		return nil, usher.Errorf(usher.CodeInvalid, "name a filter (stage, subscription_id, type, reason, error, since, …) or ids")
	}
	var out []string
	for len(out) < limit {
		q.Limit = min(500, limit-len(out))
		page, next, err := s.st.SearchDeadLetters(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, d := range page {
			out = append(out, d.ID)
		}
		if q.Cursor = next; next == "" {
			break
		}
	}
	return out, nil
}

func validRefs(kind string, ids []string) ([]string, error) {
	if len(ids) > maxTags {
		return nil, usher.Errorf(usher.CodeInvalid, "at most %d ids per request", maxTags)
	}
	for _, id := range ids {
		switch kind {
		case usher.TagDeadLetter:
			if id == "" {
				return nil, usher.Errorf(usher.CodeInvalid, "an empty dead letter id")
			}
		case usher.TagDelivery, usher.TagInbound:
			if a, b, ok := strings.Cut(id, "/"); !ok || a == "" || b == "" {
				return nil, usher.Errorf(usher.CodeInvalid, "%s ref %q: want %s", kind, id, refForm(kind))
			}
		default:
			return nil, usher.Errorf(usher.CodeInvalid, "kind %q: want dead_letter, delivery or inbound", kind)
		}
	}
	return ids, nil
}

func refForm(kind string) string {
	if kind == usher.TagDelivery {
		return "subscription_id/event_id"
	}
	return "source/event_id"
}

func parseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, usher.Errorf(usher.CodeInvalid, "%s %q: want an RFC 3339 time", field, v)
	}
	return t, nil
}

// ReplayResult counts what replaying an incident did.
type ReplayResult struct {
	// Matched is how many open dead letters the incident covers.
	Matched  int `json:"matched"`
	Replayed int `json:"replayed"`
	// Skipped could not be replayed (subscription deleted or disabled,
	// event gone, processing replay unavailable).
	Skipped int `json:"skipped"`
}

// Replay replays every open dead letter the incident covers: those tagged
// and those of its tagged deliveries and inbound events. Delivered items
// have nothing to replay.
func (s *Service) Replay(ctx context.Context, id string) (ReplayResult, error) {
	if _, err := s.st.Incident(ctx, id); err != nil {
		return ReplayResult{}, err
	}
	if s.replay == nil {
		return ReplayResult{}, usher.Errorf(usher.CodeNotImplemented, "delivery is off in this process: nothing can be replayed")
	}
	ids, err := s.st.IncidentDeadLetters(ctx, id, maxReplay)
	if err != nil {
		return ReplayResult{}, err
	}
	res := ReplayResult{Matched: len(ids)}
	for _, dl := range ids {
		_, err := s.replay.ReplayDeadLetter(ctx, dl)
		switch code := usher.ErrorCode(err); {
		case err == nil:
			res.Replayed++
		case code == usher.CodeConflict || code == usher.CodeNotImplemented || code == usher.CodeNotFound:
			res.Skipped++
		default:
			return res, s.recordReplay(ctx, id, res, err)
		}
	}
	return res, s.recordReplay(ctx, id, res, nil)
}

// recordReplay audits what a replay did, also when it stopped on failure.
func (s *Service) recordReplay(ctx context.Context, id string, res ReplayResult, failure error) error {
	detail := map[string]any{"matched": res.Matched, "replayed": res.Replayed, "skipped": res.Skipped}
	if failure != nil {
		detail["stopped"] = usher.ErrorCode(failure)
	}
	ctx = context.WithoutCancel(ctx) // record what was done even when the caller left
	err := s.st.InTx(ctx, func(tx Tx) error { return s.audit(ctx, tx, ActionReplayed, id, detail) })
	if failure != nil {
		return failure
	}
	return err
}
