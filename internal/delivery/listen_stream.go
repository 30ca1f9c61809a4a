package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/events"
	"github.com/usherhq/usher/internal/problem"
	"github.com/usherhq/usher/internal/ticketing"
)

// listenKeepalive is how often an idle stream writes a comment, so that
// proxies and the client see it is alive.
const listenKeepalive = 15 * time.Second

// ListenReady is the first event of a listen stream: the temporary
// subscription and the secret its deliveries are signed with.
type ListenReady struct {
	SubscriptionID string    `json:"subscription_id"`
	Secret         string    `json:"secret"`
	EventTypes     []string  `json:"event_types"`
	VenueIDs       []string  `json:"venue_ids"`
	ExpiresAt      time.Time `json:"expires_at"`
}

// ListenDelivery is one delivery event of a listen stream: the request the
// lane would have posted, its headers (webhook-id, webhook-timestamp,
// webhook-signature, …) and its body, byte for byte.
type ListenDelivery struct {
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// handleListen serves GET /v1/listen: a Server-Sent Events stream of the
// deliveries of a temporary subscription that lives as long as the stream.
func (s *Service) handleListen() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		types, venues := splitList(q["event_types"]), splitList(q["venue_ids"])
		if len(types) == 0 {
			types = []string{"*"}
		}
		id := usher.NewID("lst_")
		st := s.listen.open(id)
		defer s.listen.close(id)
		sub, secret, err := s.createListener(r.Context(), id, types, venues)
		if err != nil {
			problem.Fail(w, r, err)
			return
		}
		defer s.dropListener(sub.ID)
		s.listen.drain.Watch(r)
		s.log.Info("listen stream opened", "subscription_id", sub.ID, "event_types", types)
		rc := http.NewResponseController(w)
		_ = rc.SetWriteDeadline(time.Time{}) // the stream outlives the server's write timeout
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_, expires, _ := parseListenURL(sub.URL)
		ready := ListenReady{SubscriptionID: sub.ID, Secret: secret, EventTypes: sub.EventTypes, VenueIDs: sub.VenueIDs, ExpiresAt: expires.UTC()}
		if err := writeEvent(w, rc, "ready", "", ready); err != nil {
			return
		}
		s.serveListen(r.Context(), w, rc, sub.ID, st)
	})
}

// serveListen writes the stream's deliveries as they come, keeps it alive
// and renews its subscription until the client or the server ends it.
func (s *Service) serveListen(ctx context.Context, w io.Writer, rc *http.ResponseController, subID string, st *listenStream) {
	keepalive := time.NewTicker(listenKeepalive)
	defer keepalive.Stop()
	renew := time.NewTicker(listenTTL / 3)
	defer renew.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.listen.drain.Done():
			return
		case d := <-st.in:
			err := writeEvent(w, rc, "delivery", d.header.Get(headerID), ListenDelivery{Headers: flatHeaders(d.header), Body: string(d.body)})
			d.done <- err
			if err != nil {
				return
			}
		case <-keepalive.C:
			if _, err := io.WriteString(w, ": keepalive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case <-renew.C:
			if err := s.renewListener(ctx, subID); err != nil && ctx.Err() == nil {
				s.log.Warn("renew a listen subscription", "subscription_id", subID, "err", err)
			}
		}
	}
}

// writeEvent writes one Server-Sent Event with a JSON data line and
// flushes it.
func writeEvent(w io.Writer, rc *http.ResponseController, name, id string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "event: %s\n", name)
	if id != "" {
		fmt.Fprintf(&b, "id: %s\n", id)
	}
	fmt.Fprintf(&b, "data: %s\n\n", data)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return rc.Flush()
}

// flatHeaders keeps the first value of each header, under its lower-case
// name, as the Standard Webhooks verifiers read them.
func flatHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		if len(v) > 0 {
			out[strings.ToLower(k)] = v[0]
		}
	}
	return out
}

// splitList reads a repeated or comma-separated query parameter.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// createListener stores the temporary subscription of stream id, checked
// like any subscription, and returns it with its signing secret.
func (s *Service) createListener(ctx context.Context, id string, types, venues []string) (usher.Subscription, string, error) {
	now := s.now().UTC()
	sub := usher.Subscription{
		URL: "https://listen.invalid/", EventTypes: types, VenueIDs: venues, Description: "usher listen (temporary)",
		Signing: SigningHMAC, Status: usher.SubscriptionActive, EventVersion: s.catalog.CurrentVersion(events.Outbound),
	}
	if err := s.validate(sub); err != nil {
		return usher.Subscription{}, "", err
	}
	var err error
	if sub.ID, err = ticketing.NewID("sub_"); err != nil {
		return usher.Subscription{}, "", err
	}
	sub.URL = listenURL(id, now.Add(listenTTL))
	sub.CreatedAt, sub.UpdatedAt, sub.Version = now, now, 1
	key, secret, err := newKey(SigningHMAC, now)
	if err != nil {
		return usher.Subscription{}, "", err
	}
	key.SubscriptionID = sub.ID
	err = s.st.InTx(ctx, func(tx Tx) error {
		if err := tx.InsertSubscription(ctx, sub, key); err != nil {
			return err
		}
		return audit(ctx, tx, ActionSubscriptionCreated, "subscription", sub.ID, map[string]any{
			"listen": true, "event_types": sub.EventTypes, "venue_ids": sub.VenueIDs, "key_id": key.ID, "version": sub.EventVersion,
		})
	})
	if err != nil {
		return usher.Subscription{}, "", err
	}
	s.changed()
	return sub, secret, nil
}

// renewListener moves the expiry of a listen subscription a TTL ahead.
func (s *Service) renewListener(ctx context.Context, subID string) error {
	return s.st.InTx(ctx, func(tx Tx) error {
		sub, found, err := tx.Subscription(ctx, subID)
		if err != nil || !found {
			return err
		}
		id, _, ok := parseListenURL(sub.URL)
		if !ok {
			return nil
		}
		sub.URL = listenURL(id, s.now().Add(listenTTL))
		return tx.UpdateSubscription(ctx, sub)
	})
}

// dropListener deletes the subscription of a stream that ended, with its
// pending deliveries.
func (s *Service) dropListener(subID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.st.InTx(ctx, func(tx Tx) error {
		if err := tx.DeleteSubscription(ctx, subID); err != nil {
			return err
		}
		return auditAs(ctx, tx, lanesActor, ActionSubscriptionDeleted, "subscription", subID, map[string]any{"listen": true, "reason": "stream closed"})
	})
	if err != nil {
		s.log.Warn("delete a listen subscription; it expires on its own", "subscription_id", subID, "err", err)
		return
	}
	s.log.Info("listen stream closed", "subscription_id", subID)
	s.changed()
}
