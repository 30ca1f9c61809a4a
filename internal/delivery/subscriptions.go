package delivery

import (
	"context"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/delivery/ssrf"
	"github.com/usherhq/usher/internal/events"
	"github.com/usherhq/usher/internal/ticketing"
)

// Limits of a subscription's fields.
const (
	maxURLLen         = 2048
	maxEventTypes     = 64
	maxVenueIDs       = 256
	maxDescriptionLen = 500
	defaultGrace      = 24 * time.Hour
	maxGrace          = 7 * 24 * time.Hour
)

var (
	eventTypePattern = regexp.MustCompile(`^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$`)
	numericLabel     = regexp.MustCompile(`^([0-9]+|0x[0-9a-f]*)$`)
)

// SubscriptionSpec is a subscription as an operator asks for it.
type SubscriptionSpec struct {
	URL           string
	EventTypes    []string
	VenueIDs      []string
	Description   string
	Signing       string          // SigningHMAC (default) or SigningEd25519
	RetrySchedule []time.Duration // nil: the global schedule
	PII           bool
	Version       string // the outbound event version; "" the current one
}

// SubscriptionPatch changes the fields it sets; nil fields stay as they
// are. A RetrySchedule pointing at an empty slice returns to the global one.
type SubscriptionPatch struct {
	URL           *string
	EventTypes    *[]string
	VenueIDs      *[]string
	Description   *string
	RetrySchedule *[]time.Duration
	PII           *bool
	Version       *string
}

// CreateSubscription validates spec and stores an active subscription with
// a new signing key. It returns the key and the text the subscriber is given
// once: the "whsec_…" secret, or for Ed25519 the "whpk_…" public key.
func (s *Service) CreateSubscription(ctx context.Context, spec SubscriptionSpec) (usher.Subscription, usher.SubscriptionKey, string, error) {
	if spec.Signing == "" {
		spec.Signing = SigningHMAC
	}
	if spec.Version == "" {
		spec.Version = s.catalog.CurrentVersion(events.Outbound)
	}
	sub := usher.Subscription{
		URL: spec.URL, EventTypes: spec.EventTypes, VenueIDs: spec.VenueIDs, Description: spec.Description,
		Signing: spec.Signing, RetrySchedule: spec.RetrySchedule, PII: spec.PII, Status: usher.SubscriptionActive,
		EventVersion: spec.Version,
	}
	if err := s.validate(sub); err != nil {
		return usher.Subscription{}, usher.SubscriptionKey{}, "", err
	}
	var err error
	if sub.ID, err = ticketing.NewID("sub_"); err != nil {
		return usher.Subscription{}, usher.SubscriptionKey{}, "", err
	}
	now := s.now().UTC()
	sub.CreatedAt, sub.UpdatedAt, sub.Version = now, now, 1
	key, text, err := newKey(sub.Signing, now)
	if err != nil {
		return usher.Subscription{}, usher.SubscriptionKey{}, "", err
	}
	key.SubscriptionID = sub.ID
	err = s.st.InTx(ctx, func(tx Tx) error {
		if err := tx.InsertSubscription(ctx, sub, key); err != nil {
			return err
		}
		err := audit(ctx, tx, ActionSubscriptionCreated, "subscription", sub.ID, map[string]any{
			"url": withoutQuery(sub.URL), "event_types": sub.EventTypes, "venue_ids": sub.VenueIDs,
			"signing": sub.Signing, "pii": sub.PII, "key_id": key.ID, "version": sub.EventVersion,
		})
		if err != nil {
			return err
		}
		return s.noticeDeprecated(ctx, tx, sub, causeCreated)
	})
	if err != nil {
		return usher.Subscription{}, usher.SubscriptionKey{}, "", err
	}
	s.changed()
	return sub, key, text, nil
}

// validate checks every field of a subscription; errors are
// usher.CodeInvalid, or usher.CodeAddressNotAllowed for a URL naming an
// address the SSRF guard refuses.
func (s *Service) validate(sub usher.Subscription) error {
	if err := s.validateURL(sub.URL); err != nil {
		return err
	}
	if len(sub.EventTypes) == 0 || len(sub.EventTypes) > maxEventTypes {
		return usher.Errorf(usher.CodeInvalid, "event_types: want 1 to %d event types", maxEventTypes)
	}
	for _, t := range sub.EventTypes {
		if !eventTypePattern.MatchString(t) {
			return usher.Errorf(usher.CodeInvalid, "event type %q: want a dotted name such as ticket.issued, a family such as ticket.*, or *", t)
		}
	}
	if len(sub.VenueIDs) > maxVenueIDs {
		return usher.Errorf(usher.CodeInvalid, "venue_ids: at most %d", maxVenueIDs)
	}
	for _, v := range sub.VenueIDs {
		if err := usher.ValidateID("venue_ids", v); err != nil {
			return err
		}
	}
	if len(sub.Description) > maxDescriptionLen {
		return usher.Errorf(usher.CodeInvalid, "description: at most %d bytes", maxDescriptionLen)
	}
	if _, ok := LookupSigner(sub.Signing); !ok {
		return usher.Errorf(usher.CodeInvalid, "signing %q: want one of %s", sub.Signing, strings.Join(SignerNames(), ", "))
	}
	if err := s.checkEventVersion(sub.EventVersion); err != nil {
		return err
	}
	if sub.RetrySchedule != nil {
		if err := validateSchedule(sub.RetrySchedule); err != nil {
			return usher.Errorf(usher.CodeInvalid, "%v", err)
		}
	}
	return nil
}

// privateOptIn names the opt-in that a refusal of a private destination
// would have needed.
const privateOptIn = "to deliver to a receiver on this machine or a private network, start usher with --allow-private-destinations " +
	"(env USHER_ALLOW_PRIVATE_DESTINATIONS=true, YAML delivery: {allow_private_destinations: true}), " +
	"or try it locally with `usher listen --forward-to URL`, which needs no opt-in"

// validateURL accepts an absolute http or https URL without credentials.
// A host that is an IP address must pass the SSRF policy now; a name is
// judged again by the address it resolves to at each delivery.
func (s *Service) validateURL(raw string) error {
	if len(raw) > maxURLLen {
		return usher.Errorf(usher.CodeInvalid, "url: at most %d bytes", maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return usher.Errorf(usher.CodeInvalid, "url: %v", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return usher.Errorf(usher.CodeInvalid, "url: the scheme must be http or https")
	case u.User != nil:
		return usher.Errorf(usher.CodeInvalid, "url: credentials in the URL are not accepted")
	case u.Hostname() == "":
		return usher.Errorf(usher.CodeInvalid, "url: a host is required")
	case u.Fragment != "":
		return usher.Errorf(usher.CodeInvalid, "url: a fragment is not sent and not accepted")
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if addr, err := netip.ParseAddr(host); err == nil {
		if err := s.policy.CheckAddr(addr); err != nil {
			msg := "url: " + err.Error()
			if (ssrf.Policy{AllowPrivate: true}).CheckAddr(addr) == nil {
				msg += "; " + privateOptIn
			}
			return usher.WrapError(usher.CodeAddressNotAllowed, err, msg)
		}
		return nil
	}
	if numericForm(host) {
		return usher.Errorf(usher.CodeInvalid, "url: write an IP address host in its usual dotted form")
	}
	if (host == "localhost" || strings.HasSuffix(host, ".localhost")) && !s.policy.AllowPrivate {
		return usher.Errorf(usher.CodeAddressNotAllowed, "url: localhost is not allowed (private destinations are disabled); "+privateOptIn)
	}
	return nil
}

// numericForm reports whether host spells an address in a form other than
// dotted decimal (2130706433, 0177.0.0.1, 0x7f.1): every label is a number.
// No DNS name is all numbers, since top-level domains are not.
func numericForm(host string) bool {
	for _, label := range strings.Split(host, ".") {
		if !numericLabel.MatchString(label) {
			return false
		}
	}
	return true
}

// Subscription returns a subscription, or a usher.CodeNotFound error.
func (s *Service) Subscription(ctx context.Context, id string) (usher.Subscription, error) {
	return s.st.Subscription(ctx, id)
}

// Subscriptions lists every subscription.
func (s *Service) Subscriptions(ctx context.Context) ([]usher.Subscription, error) {
	return s.st.Subscriptions(ctx)
}

// modify applies fn to the stored subscription and writes it back, in one
// transaction with a compare-and-swap on its version and the audit record of
// action with the detail fn returns.
func (s *Service) modify(ctx context.Context, id, action string, fn func(tx Tx, sub *usher.Subscription) (any, error)) (usher.Subscription, error) {
	var out usher.Subscription
	err := s.st.InTx(ctx, func(tx Tx) error {
		sub, found, err := tx.Subscription(ctx, id)
		if err != nil {
			return err
		}
		if !found {
			return usher.Errorf(usher.CodeNotFound, "subscription %q not found", id)
		}
		detail, err := fn(tx, &sub)
		if err != nil {
			return err
		}
		if err := tx.UpdateSubscription(ctx, sub); err != nil {
			return err
		}
		if out, _, err = tx.Subscription(ctx, id); err != nil {
			return err
		}
		return audit(ctx, tx, action, "subscription", id, detail)
	})
	if err != nil {
		return usher.Subscription{}, err
	}
	s.updateLane(ctx, out)
	s.changed()
	return out, nil
}

// updateLane gives this process's lane of the subscription its new state at
// once, so that a pause stops it before the next tick; lanes elsewhere
// learn it at theirs.
func (s *Service) updateLane(ctx context.Context, sub usher.Subscription) {
	s.mu.Lock()
	l := s.lanes[sub.ID]
	s.mu.Unlock()
	if l != nil {
		l.update(ctx, sub)
	}
}

// UpdateSubscription applies a patch after validating the result.
func (s *Service) UpdateSubscription(ctx context.Context, id string, p SubscriptionPatch) (usher.Subscription, error) {
	return s.modify(ctx, id, ActionSubscriptionUpdated, func(tx Tx, sub *usher.Subscription) (any, error) {
		var fields []string
		set := func(name string, apply func()) {
			apply()
			fields = append(fields, name)
		}
		if p.URL != nil {
			set("url", func() { sub.URL = *p.URL })
		}
		if p.EventTypes != nil {
			set("event_types", func() { sub.EventTypes = *p.EventTypes })
		}
		if p.VenueIDs != nil {
			set("venue_ids", func() { sub.VenueIDs = *p.VenueIDs })
		}
		if p.Description != nil {
			set("description", func() { sub.Description = *p.Description })
		}
		if p.RetrySchedule != nil {
			set("retry_schedule", func() {
				sub.RetrySchedule = *p.RetrySchedule
				if len(sub.RetrySchedule) == 0 {
					sub.RetrySchedule = nil
				}
			})
		}
		if p.PII != nil {
			set("pii", func() { sub.PII = *p.PII })
		}
		if p.Version != nil {
			set("version", func() { sub.EventVersion = *p.Version })
		}
		if err := s.validate(*sub); err != nil {
			return nil, err
		}
		if p.Version == nil {
			return map[string]any{"fields": fields}, nil
		}
		return map[string]any{"fields": fields}, s.noticeDeprecated(ctx, tx, *sub, causeUpdated)
	})
}

// DeleteSubscription deletes a subscription and its pending deliveries.
func (s *Service) DeleteSubscription(ctx context.Context, id string) error {
	err := s.st.InTx(ctx, func(tx Tx) error {
		if err := tx.DeleteSubscription(ctx, id); err != nil {
			return err
		}
		return audit(ctx, tx, ActionSubscriptionDeleted, "subscription", id, nil)
	})
	if err != nil {
		return err
	}
	s.changed()
	return nil
}

// PauseSubscription stops sending to an active subscription; its deliveries
// are still recorded and wait. A disabled subscription cannot be paused.
func (s *Service) PauseSubscription(ctx context.Context, id string) (usher.Subscription, error) {
	return s.modify(ctx, id, ActionSubscriptionPaused, func(_ Tx, sub *usher.Subscription) (any, error) {
		if sub.Status == usher.SubscriptionDisabled {
			return nil, usher.Errorf(usher.CodeConflict, "subscription %s is disabled; resume it instead", id)
		}
		sub.Status = usher.SubscriptionPaused
		return nil, nil
	})
}

// ResumeSubscription makes a paused or disabled subscription active again,
// with a fresh failing clock.
func (s *Service) ResumeSubscription(ctx context.Context, id string) (usher.Subscription, error) {
	return s.modify(ctx, id, ActionSubscriptionResumed, func(tx Tx, sub *usher.Subscription) (any, error) {
		detail := map[string]any{"from": sub.Status}
		sub.Status, sub.DisabledReason = usher.SubscriptionActive, ""
		return detail, tx.ClearSubscriptionFailing(ctx, id)
	})
}

// RotateSecret gives a subscription a new signing key of its algorithm. The
// keys it replaces keep signing for grace (0 to 7 days), so that receivers
// can switch without losing a delivery. It returns the new key, the text the
// subscriber is given, and the end of the grace window.
func (s *Service) RotateSecret(ctx context.Context, id string, grace time.Duration) (usher.SubscriptionKey, string, time.Time, error) {
	if grace < 0 || grace > maxGrace {
		return usher.SubscriptionKey{}, "", time.Time{}, usher.Errorf(usher.CodeInvalid, "grace %s: want 0 to %s", grace, maxGrace)
	}
	now := s.now().UTC()
	until := now.Add(grace)
	var key usher.SubscriptionKey
	var text string
	_, err := s.modify(ctx, id, ActionSubscriptionRotated, func(tx Tx, sub *usher.Subscription) (any, error) {
		var err error
		if key, text, err = newKey(sub.Signing, now); err != nil {
			return nil, err
		}
		key.SubscriptionID = id
		if err := tx.ExpireSubscriptionKeys(ctx, id, until, now); err != nil {
			return nil, err
		}
		detail := map[string]any{"key_id": key.ID, "grace": grace.String(), "previous_keys_expire_at": until}
		return detail, tx.AddSubscriptionKey(ctx, key)
	})
	if err != nil {
		return usher.SubscriptionKey{}, "", time.Time{}, err
	}
	return key, text, until, nil
}

// PublicKeys returns the Ed25519 keys a subscription signs with now: the
// current one and those inside a rotation's grace window.
func (s *Service) PublicKeys(ctx context.Context, id string) (usher.Subscription, []usher.SubscriptionKey, error) {
	sub, err := s.st.Subscription(ctx, id)
	if err != nil {
		return usher.Subscription{}, nil, err
	}
	keys, err := s.st.SubscriptionKeys(ctx, id)
	if err != nil {
		return usher.Subscription{}, nil, err
	}
	now := s.now()
	keys = slices.DeleteFunc(keys, func(k usher.SubscriptionKey) bool {
		return keyKindOf(k.Algorithm) != KeyPublicKey || !live(k, now)
	})
	return sub, keys, nil
}

// Attempts lists a subscription's recent attempts, newest first.
func (s *Service) Attempts(ctx context.Context, f usher.AttemptFilter) ([]usher.DeliveryAttempt, error) {
	if _, err := s.st.Subscription(ctx, f.SubscriptionID); err != nil {
		return nil, err
	}
	return s.st.DeliveryAttempts(ctx, f)
}

// Pending returns how many deliveries wait, by subscription.
func (s *Service) Pending(ctx context.Context) (map[string]int, error) {
	return s.st.PendingDeliveries(ctx)
}
