package delivery

import (
	"net/http"
	"strconv"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/httpjson"
)

// maxBody bounds an admin request body.
const maxBody = 1 << 20

// respond writes v as JSON with the status.
func respond(w http.ResponseWriter, status int, v any) { httpjson.Respond(w, status, v) }

// subscriptionView is a subscription as the API shows it.
type subscriptionView struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	EventTypes     []string   `json:"event_types"`
	VenueIDs       []string   `json:"venue_ids"`
	Description    string     `json:"description"`
	Signing        string     `json:"signing"`
	RetrySchedule  []string   `json:"retry_schedule,omitempty"`
	PII            bool       `json:"pii"`
	Status         string     `json:"status"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
	FailingSince   *time.Time `json:"failing_since,omitempty"`
	Breaker        string     `json:"breaker,omitempty"`
	Pending        int        `json:"pending"`
	// EventVersion is the outbound version asked for as "version" in a
	// create or update; "version" here is the record's revision, as on
	// every other resource.
	EventVersion      string    `json:"event_version"`
	DeprecatedVersion bool      `json:"deprecated_version"`
	Version           int64     `json:"version"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

func (s *Service) view(sub usher.Subscription, pending int) subscriptionView {
	v := subscriptionView{
		ID: sub.ID, URL: sub.URL, EventTypes: sub.EventTypes, VenueIDs: sub.VenueIDs, Description: sub.Description,
		Signing: sub.Signing, PII: sub.PII, Status: sub.Status, DisabledReason: sub.DisabledReason,
		Breaker: s.BreakerState(sub.ID), Pending: pending, Version: sub.Version, CreatedAt: sub.CreatedAt, UpdatedAt: sub.UpdatedAt,
		EventVersion: s.eventVersion(sub), DeprecatedVersion: s.deprecatedVersion(sub),
	}
	for _, d := range sub.RetrySchedule {
		v.RetrySchedule = append(v.RetrySchedule, d.String())
	}
	if !sub.FailingSince.IsZero() {
		v.FailingSince = &sub.FailingSince
	}
	return v
}

// keyView is a signing key as the API shows it: never its secret.
type keyView struct {
	KeyID     string     `json:"key_id"`
	Algorithm string     `json:"algorithm"`
	PublicKey string     `json:"public_key,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

func viewKey(k usher.SubscriptionKey) keyView {
	v := keyView{KeyID: k.ID, Algorithm: k.Algorithm, CreatedAt: k.CreatedAt}
	if s, ok := LookupSigner(k.Algorithm); ok {
		v.PublicKey = s.PublishedKey(k.PublicKey)
	}
	if !k.ExpiresAt.IsZero() {
		v.ExpiresAt = &k.ExpiresAt
	}
	return v
}

// parseDurations parses a list of Go durations ("5s", "2h").
func parseDurations(field string, in []string) ([]time.Duration, error) {
	if in == nil {
		return nil, nil
	}
	out := make([]time.Duration, 0, len(in))
	for _, v := range in {
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, usher.Errorf(usher.CodeInvalid, "%s: %q is not a duration such as 5s, 5m or 2h", field, v)
		}
		out = append(out, d)
	}
	return out, nil
}

// queryLimit reads ?limit= between 1 and max, def when absent.
func queryLimit(r *http.Request, def, max int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, usher.Errorf(usher.CodeInvalid, "limit %q: want 1 to %d", v, max)
	}
	return n, nil
}

// parseTime reads an RFC 3339 time; "" is the zero time.
func parseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, usher.Errorf(usher.CodeInvalid, "%s %q: want an RFC 3339 time such as 2025-01-02T15:04:05Z", field, v)
	}
	return t, nil
}
