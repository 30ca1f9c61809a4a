package delivery

import (
	"context"
	"encoding/json"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/events"
	"github.com/usherhq/usher/internal/periodic"
	"github.com/usherhq/usher/internal/ticketing"
)

// EventVersionDeprecated is the operator event raised once per subscription
// and event version when the subscription is on a deprecated version.
const EventVersionDeprecated = usher.TypeSubscriptionVersionDeprecated

// Causes of a subscription.version_deprecated event: the subscription was
// created on or changed to the deprecated version, or it was on the version
// when the version became deprecated (found by the sweep).
const (
	causeCreated    = "created"
	causeUpdated    = "updated"
	causeDeprecated = "deprecated"
)

// noticeInterval is how often the sweep looks for subscriptions on a
// deprecated version that have not had their operator event.
const noticeInterval = time.Hour

// noticeDeprecated writes the operator event to the outbox in tx when sub is
// on a deprecated version and this subscription and version have not had
// it: the note and the event commit with the change that caused them, or
// not at all.
func (s *Service) noticeDeprecated(ctx context.Context, tx Tx, sub usher.Subscription, cause string) error {
	version := s.eventVersion(sub)
	_, sunset, ok := s.catalog.Deprecation(version)
	if !ok {
		return nil
	}
	id := ticketing.StableID("evt_", EventVersionDeprecated, sub.ID, version)
	noted, err := tx.NoteDeprecatedVersion(ctx, sub.ID, version, id)
	if err != nil || !noted {
		return err
	}
	data, err := json.Marshal(map[string]any{
		"subscription_id": sub.ID, "url": withoutQuery(sub.URL), "version": version,
		"sunset": sunset.Format(time.DateOnly), "current_version": s.catalog.CurrentVersion(events.Outbound),
		"cause": cause, "noticed_at": s.now().UTC().Format(time.RFC3339Nano),
	})
	if err != nil {
		return err
	}
	return tx.AppendOutbox(ctx, usher.OutboundEvent{ID: id, Type: EventVersionDeprecated, Data: data})
}

// noticeDeprecatedVersions raises the operator event of every subscription
// on a deprecated version that has not had it, each in a transaction that
// reads the subscription again. A version deprecated by a new release of
// usher is thus announced once, at the first start of that release, by
// whichever process gets there first.
func (s *Service) noticeDeprecatedVersions(ctx context.Context) error {
	subs, err := s.st.Subscriptions(ctx)
	if err != nil {
		return err
	}
	raised := false
	for _, sub := range subs {
		if !s.deprecatedVersion(sub) {
			continue
		}
		err := s.st.InTx(ctx, func(tx Tx) error {
			cur, found, err := tx.Subscription(ctx, sub.ID)
			if err != nil || !found {
				return err
			}
			return s.noticeDeprecated(ctx, tx, cur, causeDeprecated)
		})
		if err != nil {
			return err
		}
		raised = true
	}
	if raised {
		s.changed()
	}
	return nil
}

// noticeLoop runs the sweep at start and every noticeInterval.
func (s *Service) noticeLoop(ctx context.Context) {
	periodic.Every(ctx, noticeInterval, true, func(ctx context.Context) {
		if err := s.noticeDeprecatedVersions(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("deprecated version sweep failed", "err", err)
		}
	})
}
