package delivery

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/httpjson"
	"github.com/usherhq/usher/internal/problem"
)

type createSubscriptionRequest struct {
	URL           string   `json:"url"`
	EventTypes    []string `json:"event_types"`
	VenueIDs      []string `json:"venue_ids"`
	Description   string   `json:"description"`
	Signing       string   `json:"signing"`
	RetrySchedule []string `json:"retry_schedule"`
	PII           bool     `json:"pii"`
	Version       string   `json:"version"`
}

type createdSubscription struct {
	subscriptionView
	KeyID     string `json:"key_id"`
	Secret    string `json:"secret,omitempty"`
	PublicKey string `json:"public_key,omitempty"`
}

func (s *Service) handleCreateSubscription() http.Handler {
	return httpjson.WithBody(httpjson.Options{Limit: maxBody}, func(w http.ResponseWriter, r *http.Request, req createSubscriptionRequest) {
		if err := mayShare(r, req.PII); err != nil {
			problem.Fail(w, r, err)
			return
		}
		schedule, err := parseDurations("retry_schedule", req.RetrySchedule)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		sub, key, text, err := s.CreateSubscription(r.Context(), SubscriptionSpec{
			URL: req.URL, EventTypes: req.EventTypes, VenueIDs: req.VenueIDs, Description: req.Description,
			Signing: req.Signing, RetrySchedule: schedule, PII: req.PII, Version: req.Version,
		})
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		s.log.Info("subscription created", "subscription_id", sub.ID, "event_types", sub.EventTypes, "signing", sub.Signing)
		out := createdSubscription{subscriptionView: s.view(sub, 0), KeyID: key.ID}
		if keyKindOf(sub.Signing) == KeyPublicKey {
			out.PublicKey = text
		} else {
			out.Secret = text
		}
		w.Header().Set("Location", "/v1/subscriptions/"+sub.ID)
		respond(w, http.StatusCreated, out)
	})
}

func (s *Service) handleListSubscriptions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		subs, err := s.Subscriptions(r.Context())
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		out, err := s.views(r.Context(), subs...)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		respond(w, http.StatusOK, map[string]any{"subscriptions": out})
	})
}

func (s *Service) handleGetSubscription() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub, err := s.Subscription(r.Context(), r.PathValue("id"))
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		out, err := s.views(r.Context(), sub)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		respond(w, http.StatusOK, out[0])
	})
}

// views returns subs as the API shows them, with their pending deliveries.
func (s *Service) views(ctx context.Context, subs ...usher.Subscription) ([]subscriptionView, error) {
	pending, err := s.Pending(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]subscriptionView, 0, len(subs))
	for _, sub := range subs {
		out = append(out, s.view(sub, pending[sub.ID]))
	}
	return out, nil
}

// mayShare refuses a subscription with personal data to a caller without
// the pii:read scope: its deliveries would hand that data out.
func mayShare(r *http.Request, pii bool) error {
	if p, ok := auth.PrincipalFrom(r.Context()); ok && pii && !p.Has(auth.ScopePIIRead) {
		return usher.Errorf(usher.CodeForbidden, "a subscription with pii needs a token holding %q", auth.ScopePIIRead)
	}
	return nil
}

type patchSubscriptionRequest struct {
	URL           *string   `json:"url"`
	EventTypes    *[]string `json:"event_types"`
	VenueIDs      *[]string `json:"venue_ids"`
	Description   *string   `json:"description"`
	RetrySchedule *[]string `json:"retry_schedule"`
	PII           *bool     `json:"pii"`
	Signing       *string   `json:"signing"`
	Version       *string   `json:"version"`
}

func (s *Service) handlePatchSubscription() http.Handler {
	return httpjson.WithBody(httpjson.Options{Limit: maxBody}, func(w http.ResponseWriter, r *http.Request, req patchSubscriptionRequest) {
		if req.Signing != nil {
			problem.Fail(w, r, usher.Errorf(usher.CodeInvalid, "signing cannot change; create a new subscription"))
			return
		}
		if err := mayShare(r, req.PII != nil && *req.PII); err != nil {
			problem.Fail(w, r, err)
			return
		}
		p := SubscriptionPatch{URL: req.URL, EventTypes: req.EventTypes, VenueIDs: req.VenueIDs, Description: req.Description, PII: req.PII, Version: req.Version}
		if req.RetrySchedule != nil {
			schedule, err := parseDurations("retry_schedule", *req.RetrySchedule)
			if err != nil {
				problem.Fail(w, r, err)
				return
			}
			p.RetrySchedule = &schedule
		}
		sub, err := s.UpdateSubscription(r.Context(), r.PathValue("id"), p)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		s.log.Info("subscription updated", "subscription_id", sub.ID, "version", sub.Version)
		respond(w, http.StatusOK, s.view(sub, 0))
	})
}

func (s *Service) handleDeleteSubscription() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if err := s.DeleteSubscription(r.Context(), id); err != nil {
			problem.Fail(w, r, err)
			return
		}
		s.log.Info("subscription deleted", "subscription_id", id)
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *Service) handlePause(resume bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		change := s.PauseSubscription
		if resume {
			change = s.ResumeSubscription
		}
		sub, err := change(r.Context(), r.PathValue("id"))
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		s.log.Info("subscription "+sub.Status, "subscription_id", sub.ID)
		respond(w, http.StatusOK, s.view(sub, 0))
	})
}

type rotateRequest struct {
	Grace *string `json:"grace"`
}

func (s *Service) handleRotate() http.Handler {
	return httpjson.WithBody(httpjson.Options{Limit: maxBody, Optional: true}, func(w http.ResponseWriter, r *http.Request, req rotateRequest) {
		grace := defaultGrace
		if req.Grace != nil {
			var err error
			if grace, err = time.ParseDuration(*req.Grace); err != nil {
				problem.Fail(w, r, usher.Errorf(usher.CodeInvalid, "grace %q is not a duration such as 24h", *req.Grace))
				return
			}
		}
		key, text, until, err := s.RotateSecret(r.Context(), r.PathValue("id"), grace)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		s.log.Info("subscription secret rotated", "subscription_id", key.SubscriptionID, "key_id", key.ID, "grace", grace.String())
		out := map[string]any{"key_id": key.ID, "algorithm": key.Algorithm, "previous_keys_expire_at": until}
		out[string(keyKindOf(key.Algorithm))] = text
		respond(w, http.StatusOK, out)
	})
}

func (s *Service) handlePublicKeys() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub, keys, err := s.PublicKeys(r.Context(), r.PathValue("id"))
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		out := make([]keyView, 0, len(keys))
		for _, k := range keys {
			out = append(out, viewKey(k))
		}
		respond(w, http.StatusOK, map[string]any{"subscription_id": sub.ID, "signing": sub.Signing, "keys": out})
	})
}

func (s *Service) handleAttempts() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit, err := queryLimit(r, 50, 500)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		f := usher.AttemptFilter{SubscriptionID: r.PathValue("id"), EventID: r.URL.Query().Get("event_id"), Limit: limit + 1}
		if c := r.URL.Query().Get("cursor"); c != "" {
			if f.Before, err = strconv.ParseInt(c, 10, 64); err != nil || f.Before <= 0 {
				problem.Fail(w, r, usher.Errorf(usher.CodeInvalid, "cursor %q is not one this API returned", c))
				return
			}
		}
		attempts, err := s.Attempts(r.Context(), f)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		out := map[string]any{"attempts": attempts}
		if len(attempts) > limit {
			attempts = attempts[:limit]
			out["attempts"], out["next_cursor"] = attempts, strconv.FormatInt(attempts[limit-1].ID, 10)
		}
		respond(w, http.StatusOK, out)
	})
}

type replaySubscriptionRequest struct {
	Since  string `json:"since"`
	Until  string `json:"until"`
	Limit  int    `json:"limit"`
	Cursor string `json:"cursor"`
}

func (s *Service) handleReplaySubscription() http.Handler {
	return httpjson.WithBody(httpjson.Options{Limit: maxBody}, func(w http.ResponseWriter, r *http.Request, req replaySubscriptionRequest) {
		if req.Since == "" {
			problem.Fail(w, r, usher.Errorf(usher.CodeInvalid, "since is required"))
			return
		}
		since, err := parseTime("since", req.Since)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		until, err := parseTime("until", req.Until)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		if req.Limit < 0 || req.Limit > maxReplayLimit {
			problem.Fail(w, r, usher.Errorf(usher.CodeInvalid, "limit %d: want 1 to %d", req.Limit, maxReplayLimit))
			return
		}
		id := r.PathValue("id")
		res, err := s.ReplaySubscription(r.Context(), id, since, until, req.Cursor, req.Limit)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		s.log.Info("subscription replayed", "subscription_id", id, "since", since, "replayed", res.Replayed)
		respond(w, http.StatusOK, res)
	})
}
