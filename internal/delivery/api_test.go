package delivery

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/problem"
	"github.com/usherhq/usher/internal/store"
)

// api mounts the delivery routes without their scope guard (the whole
// program's tests check the guard).
func (h *harness) api() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range h.svc.Routes() {
		mux.Handle(rt.Method+" "+rt.Pattern, rt.Handler)
	}
	return mux
}

// call sends a request to api and decodes a 2xx JSON answer into out; it
// checks that every error is a problem.
func call(t *testing.T, api http.Handler, method, path string, body, out any) int {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req := httptest.NewRequest(method, path, rd)
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	if rec.Code >= 400 && rec.Header().Get("Content-Type") != problem.ContentType {
		t.Errorf("%s %s: %d with %q, want a problem", method, path, rec.Code, rec.Header().Get("Content-Type"))
	}
	if out != nil {
		reflect.ValueOf(out).Elem().SetZero() // a field the answer omits must not keep an old value
	}
	if out != nil && rec.Code < 300 && rec.Code != http.StatusNoContent {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, rec.Body, err)
		}
	}
	if out != nil && rec.Code >= 400 {
		if p, ok := out.(*problem.Details); ok {
			_ = json.Unmarshal(rec.Body.Bytes(), p)
		}
	}
	return rec.Code
}

// gauge reads a delivery gauge for one label value from the registry.
func gauge(t *testing.T, h *harness, name, label string) float64 {
	t.Helper()
	families, err := h.reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					if m.GetGauge() != nil {
						return m.GetGauge().GetValue()
					}
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return -1
}

func counter(t *testing.T, h *harness, sub, outcome string) float64 {
	t.Helper()
	families, _ := h.reg.Gather()
	for _, f := range families {
		if f.GetName() != "usher_deliveries_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["subscription_id"] == sub && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestSubscriptionsAPI(t *testing.T) {
	t.Parallel()
	h := setup(t)
	api := h.api()
	rc := newReceiver(t, nil)

	var created struct {
		subscriptionView
		KeyID  string `json:"key_id"`
		Secret string `json:"secret"`
	}
	code := call(t, api, http.MethodPost, "/v1/subscriptions", map[string]any{
		"url": rc.URL + "/hook", "event_types": []string{"ticket.issued", "order.*"}, "venue_ids": []string{"venue_1"},
		"description": "wallet", "retry_schedule": []string{"10s", "1m"},
	}, &created)
	if code != http.StatusCreated || !strings.HasPrefix(created.ID, "sub_") || created.Status != "active" || created.Signing != "hmac" {
		t.Fatalf("create: %d %+v", code, created)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(created.Secret, "whsec_"))
	if err != nil || len(key) != 32 || !strings.HasPrefix(created.Secret, "whsec_") {
		t.Fatalf("secret %q: want whsec_ and 32 bytes of base64", created.Secret)
	}
	if strings.Join(created.RetrySchedule, ",") != "10s,1m0s" {
		t.Errorf("retry schedule %v", created.RetrySchedule)
	}
	for _, bad := range []map[string]any{
		{"url": rc.URL, "event_types": []string{}},
		{"url": rc.URL, "event_types": []string{"Ticket Issued"}},
		{"url": rc.URL, "event_types": []string{"*"}, "signing": "rsa"},
		{"url": rc.URL, "event_types": []string{"*"}, "retry_schedule": []string{"0s"}},
		{"url": rc.URL, "event_types": []string{"*"}, "retry_schedule": []string{"soon"}},
		{"url": rc.URL, "event_types": []string{"*"}, "unknown": true},
	} {
		var p problem.Details
		if code := call(t, api, http.MethodPost, "/v1/subscriptions", bad, &p); code != http.StatusBadRequest || p.Code != "invalid_request" {
			t.Errorf("create %v: %d %+v, want 400 invalid_request", bad, code, p)
		}
	}

	path := "/v1/subscriptions/" + created.ID
	var got subscriptionView
	eventually(t, "the subscription's lane", func() bool { return h.svc.BreakerState(created.ID) != "" })
	if code := call(t, api, http.MethodGet, path, nil, &got); code != 200 || got.Breaker != "closed" || got.URL != rc.URL+"/hook" {
		t.Fatalf("get: %d %+v, want the subscription with its breaker closed", code, got)
	}
	var list struct {
		Subscriptions []subscriptionView `json:"subscriptions"`
	}
	if code := call(t, api, http.MethodGet, "/v1/subscriptions", nil, &list); code != 200 || len(list.Subscriptions) != 1 {
		t.Fatalf("list: %d %+v", code, list)
	}
	if code := call(t, api, http.MethodPatch, path, map[string]any{"description": "passes", "retry_schedule": []string{}}, &got); code != 200 ||
		got.Description != "passes" || got.RetrySchedule != nil || got.Version != 2 {
		t.Fatalf("patch: %d %+v, want the new description, the global schedule, version 2", code, got)
	}
	if code := call(t, api, http.MethodPatch, path, map[string]any{"signing": "ed25519"}, nil); code != 400 {
		t.Errorf("patch signing: %d, want 400", code)
	}
	if code := call(t, api, http.MethodPatch, path, map[string]any{"url": "gopher://x"}, nil); code != 400 {
		t.Errorf("patch with a bad url: %d, want 400", code)
	}
	if code := call(t, api, http.MethodPost, path+"/pause", nil, &got); code != 200 || got.Status != "paused" {
		t.Fatalf("pause: %d %+v", code, got)
	}
	// Paused: recorded, not sent.
	ev := h.emit("ticket.issued", "ord_p")[0]
	h.waitDelivery(created.ID, ev.ID, "recorded while paused", func(usher.Delivery) bool { return true })
	quiet(t, rc, 0, "a paused subscription")
	if code := call(t, api, http.MethodPost, path+"/resume", nil, &got); code != 200 || got.Status != "active" {
		t.Fatalf("resume: %d %+v", code, got)
	}
	h.waitDelivery(created.ID, ev.ID, "delivered after resume", func(d usher.Delivery) bool { return d.Status == usher.DeliveryDelivered })

	var rotated struct {
		KeyID  string    `json:"key_id"`
		Secret string    `json:"secret"`
		Until  time.Time `json:"previous_keys_expire_at"`
	}
	if code := call(t, api, http.MethodPost, path+"/secrets:rotate", map[string]any{"grace": "2h"}, &rotated); code != 200 ||
		!strings.HasPrefix(rotated.Secret, "whsec_") || rotated.Secret == created.Secret || !rotated.Until.Equal(h.clock.Now().Add(2*time.Hour)) {
		t.Fatalf("rotate: %d %+v", code, rotated)
	}
	if code := call(t, api, http.MethodPost, path+"/secrets:rotate", map[string]any{"grace": "30d"}, nil); code != 400 {
		t.Errorf("rotate with a bad grace: %d, want 400", code)
	}
	var keys struct {
		Signing string    `json:"signing"`
		Keys    []keyView `json:"keys"`
	}
	if code := call(t, api, http.MethodGet, path+"/public-keys", nil, &keys); code != 200 || keys.Signing != "hmac" || len(keys.Keys) != 0 {
		t.Errorf("public keys of an hmac subscription: %d %+v, want none", code, keys)
	}
	var attempts struct {
		Attempts []usher.DeliveryAttempt `json:"attempts"`
	}
	if code := call(t, api, http.MethodGet, path+"/attempts", nil, &attempts); code != 200 || len(attempts.Attempts) != 1 || attempts.Attempts[0].StatusCode != 200 {
		t.Errorf("attempts: %d %+v, want the one success", code, attempts)
	}

	if code := call(t, api, http.MethodDelete, path, nil, nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	var p problem.Details
	if code := call(t, api, http.MethodGet, path, nil, &p); code != 404 || p.Code != "not_found" {
		t.Fatalf("get after delete: %d %+v, want a 404 problem", code, p)
	}

	// Every change is in the audit chain, with no secret in it.
	records, err := h.db.AuditLog(context.Background(), usher.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range records {
		if r.EntityID == created.ID {
			actions = append(actions, r.Action)
		}
		if strings.Contains(string(r.Detail), "whsec_") || strings.Contains(string(r.Detail), created.Secret[6:]) {
			t.Errorf("audit record %s holds a secret: %s", r.Action, r.Detail)
		}
	}
	want := []string{ActionSubscriptionCreated, ActionSubscriptionUpdated, ActionSubscriptionPaused, ActionSubscriptionResumed,
		ActionSubscriptionRotated, ActionSubscriptionDeleted}
	if strings.Join(actions, " ") != strings.Join(want, " ") {
		t.Errorf("audit actions %v, want %v", actions, want)
	}
}

func TestDeadLetterAPIAndReplay(t *testing.T) {
	t.Parallel()
	h := setup(t)
	api := h.api()
	var accept atomic.Bool
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if !accept.Load() {
			http.Error(w, "no such order", http.StatusBadRequest)
		}
	})
	sub, _ := h.subscribe(rc.URL)
	other, _ := h.subscribe(newReceiver(t, status(http.StatusNotFound)).URL)
	evs := h.emit("ticket.issued", "ord_1", "ord_2", "ord_3")
	for _, ev := range evs {
		for _, s := range []string{sub.ID, other.ID} {
			h.waitDelivery(s, ev.ID, "dead", func(d usher.Delivery) bool { return d.Status == usher.DeliveryDead })
		}
	}
	var page struct {
		DeadLetters []usher.DeadLetterRecord `json:"dead_letters"`
		NextCursor  string                   `json:"next_cursor"`
	}
	if code := call(t, api, http.MethodGet, "/v1/dlq?stage=delivery&subscription_id="+sub.ID+"&reason=rejected&limit=2", nil, &page); code != 200 ||
		len(page.DeadLetters) != 2 || page.NextCursor == "" {
		t.Fatalf("list: %d %+v, want a first page of 2", code, page)
	}
	first := page.DeadLetters[0]
	if first.SubscriptionID != sub.ID || first.LastError != "http 400: no such order" || first.Attempts != 1 {
		t.Errorf("dead letter %+v", first)
	}
	if code := call(t, api, http.MethodGet, "/v1/dlq?subscription_id="+sub.ID+"&limit=2&cursor="+page.NextCursor, nil, &page); code != 200 || len(page.DeadLetters) != 1 || page.NextCursor != "" {
		t.Fatalf("second page: %d %+v, want the last one", code, page)
	}
	if code := call(t, api, http.MethodGet, "/v1/dlq?since=yesterday", nil, nil); code != 400 {
		t.Errorf("list with a bad since: %d, want 400", code)
	}

	var detail deadLetterDetail
	if code := call(t, api, http.MethodGet, "/v1/dlq/"+first.ID, nil, &detail); code != 200 || len(detail.DeliveryAttempts) != 1 ||
		detail.DeliveryAttempts[0].StatusCode != 400 || !bytes.Contains(detail.Payload, []byte(`"type":"ticket.issued"`)) {
		t.Fatalf("get: %d %+v, want the dead letter with its attempt and payload", code, detail)
	}

	accept.Store(true)
	var replayed usher.DeadLetterRecord
	if code := call(t, api, http.MethodPost, "/v1/dlq/"+first.ID+"/replay", nil, &replayed); code != 200 || replayed.ReplayedAt.IsZero() || replayed.Replays != 1 {
		t.Fatalf("replay: %d %+v", code, replayed)
	}
	h.waitDelivery(sub.ID, first.EventID, "delivered after the replay", func(d usher.Delivery) bool { return d.Status == usher.DeliveryDelivered })
	if r := rc.requests(); r[len(r)-1].ID != first.EventID {
		t.Errorf("replay delivered webhook-id %q, want the original %q", r[len(r)-1].ID, first.EventID)
	}

	// Bulk: a filter is required; then the rest of sub's dead letters go.
	if code := call(t, api, http.MethodPost, "/v1/dlq/replay", map[string]any{}, nil); code != 400 {
		t.Errorf("bulk replay without a filter: %d, want 400", code)
	}
	var res ReplayResult
	if code := call(t, api, http.MethodPost, "/v1/dlq/replay", map[string]any{"subscription_id": sub.ID}, &res); code != 200 || res.Replayed != 2 || res.Matched != 2 {
		t.Fatalf("bulk replay: %d %+v, want 2 replayed", code, res)
	}
	for _, ev := range evs {
		h.waitDelivery(sub.ID, ev.ID, "delivered after the bulk replay", func(d usher.Delivery) bool { return d.Status == usher.DeliveryDelivered })
	}
	if v := gauge(t, h, "usher_dead_letters", "delivery"); v != 3 {
		t.Errorf("open dead letters gauge %v, want 3 (the other subscription's)", v)
	}

	// Processing-stage items need a replayer: 501 without one.
	dl := usher.DeadLetter{ID: "dl_proc", Stage: StageProcessing, Source: "stripe", EventID: "evt_in", Type: "order.paid", Reason: "invalid_data",
		Attempts: 1, Payload: json.RawMessage(`{}`)}
	if err := h.db.InTx(context.Background(), func(tx *store.Tx) error { return tx.InsertDeadLetter(context.Background(), dl) }); err != nil {
		t.Fatal(err)
	}
	var p problem.Details
	if code := call(t, api, http.MethodPost, "/v1/dlq/dl_proc/replay", nil, &p); code != http.StatusNotImplemented || p.Status != 501 {
		t.Fatalf("replay of a processing item without a replayer: %d %+v, want 501", code, p)
	}
	if code := call(t, api, http.MethodPost, "/v1/dlq/replay", map[string]any{"stage": "processing"}, &res); code != 200 || res.Skipped != 1 || res.Replayed != 0 {
		t.Errorf("bulk replay of processing items without a replayer: %d %+v, want 1 skipped", code, res)
	}
	if code := call(t, api, http.MethodGet, "/v1/dlq/dl_none", nil, &p); code != 404 {
		t.Errorf("get a missing dead letter: %d", code)
	}
}

type recordingReplayer struct {
	mu  sync.Mutex
	ids []string
}

func (r *recordingReplayer) ReplayProcessing(_ context.Context, dl usher.DeadLetter) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, dl.ID)
	return nil
}

func TestProcessingReplayGoesToTheReplayer(t *testing.T) {
	t.Parallel()
	h := setup(t)
	rp := &recordingReplayer{}
	svc, err := New(bound(h.db), testConfig(), Options{Now: h.clock.Now, Processing: rp})
	if err != nil {
		t.Fatal(err)
	}
	dl := usher.DeadLetter{ID: "dl_proc", Stage: StageProcessing, Source: "stripe", EventID: "evt_in", Type: "order.paid", Reason: "invalid_data", Payload: json.RawMessage(`{}`)}
	if err := h.db.InTx(context.Background(), func(tx *store.Tx) error { return tx.InsertDeadLetter(context.Background(), dl) }); err != nil {
		t.Fatal(err)
	}
	got, err := svc.ReplayDeadLetter(context.Background(), "dl_proc")
	if err != nil || got.ReplayedAt.IsZero() || len(rp.ids) != 1 || rp.ids[0] != "dl_proc" {
		t.Fatalf("ReplayDeadLetter = %+v, %v; replayer got %v", got, err, rp.ids)
	}
}

func TestSubscriptionReplaySinceKeepsEventIDs(t *testing.T) {
	t.Parallel()
	h := setup(t)
	api := h.api()
	rc := newReceiver(t, nil)
	sub, _ := h.subscribe(rc.URL, func(s *SubscriptionSpec) { s.EventTypes = []string{"ticket.*"} })
	old := h.emit("ticket.issued", "ord_old")
	time.Sleep(5 * time.Millisecond)
	since := time.Now()
	time.Sleep(5 * time.Millisecond)
	recent := h.emit("ticket.issued", "ord_1", "ord_2")
	h.emit("order.confirmed", "ord_1") // not a type it takes
	for _, ev := range append(old, recent...) {
		h.waitDelivery(sub.ID, ev.ID, "delivered", func(d usher.Delivery) bool { return d.Status == usher.DeliveryDelivered })
	}
	var res ReplayResult
	code := call(t, api, http.MethodPost, "/v1/subscriptions/"+sub.ID+"/replay", map[string]any{"since": since.Format(time.RFC3339Nano)}, &res)
	if code != 200 || res.Replayed != 2 || res.Matched != 2 {
		t.Fatalf("replay since: %d %+v, want the 2 recent ticket events", code, res)
	}
	reqs := rc.waitCount(t, 5)
	got := map[string]int{}
	for _, r := range reqs {
		got[r.ID]++
	}
	if got[old[0].ID] != 1 || got[recent[0].ID] != 2 || got[recent[1].ID] != 2 {
		t.Fatalf("deliveries by webhook-id %v, want the recent ones twice under their original ids", got)
	}
	if code := call(t, api, http.MethodPost, "/v1/subscriptions/"+sub.ID+"/replay", map[string]any{}, nil); code != 400 {
		t.Errorf("replay without since: %d, want 400", code)
	}
	if code := call(t, api, http.MethodPost, "/v1/subscriptions/sub_none/replay", map[string]any{"since": since.Format(time.RFC3339)}, nil); code != 404 {
		t.Errorf("replay of a missing subscription: %d, want 404", code)
	}
}

func TestBulkReplayOfAThousandDeliversEachOnce(t *testing.T) {
	t.Parallel()
	// Delivery is at least once: an attempt that times out after the receiver
	// took it is sent again. Generous timeouts keep a starved -race run on a
	// shared machine from turning into such a resend, which this test, counting
	// exactly one success per event, would take for a double replay.
	h := setup(t, func(c *Config) { c.Concurrency = 32; c.Timeout = 2 * time.Minute; c.ConnectTimeout = time.Minute })
	api := h.api()
	var accept atomic.Bool
	var mu sync.Mutex
	successes := map[string]int{}
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if !accept.Load() {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		successes[r.Header.Get(headerID)]++
		mu.Unlock()
	})
	sub, _ := h.subscribe(rc.URL)
	orders := make([]string, 1000)
	for i := range orders {
		orders[i] = fmt.Sprintf("ord_%04d", i)
	}
	evs := h.emit("ticket.issued", orders...)
	// A thousand deliveries twice over through SQLite, under -race on a
	// shared machine: a bound for a stuck test, not a measurement.
	eventuallyWithin(t, 5*time.Minute, "1000 dead letters", func() bool {
		n, _ := h.db.OpenDeadLetters(context.Background())
		return n[StageDelivery] == 1000
	})
	accept.Store(true)
	var res ReplayResult
	if code := call(t, api, http.MethodPost, "/v1/dlq/replay", map[string]any{"subscription_id": sub.ID, "limit": 1000}, &res); code != 200 || res.Replayed != 1000 {
		t.Fatalf("bulk replay: %d %+v, want 1000 replayed", code, res)
	}
	eventuallyWithin(t, 5*time.Minute, "1000 successes", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(successes) == 1000
	})
	if code := call(t, api, http.MethodPost, "/v1/dlq/replay", map[string]any{"subscription_id": sub.ID}, &res); code != 200 || res.Matched != 0 {
		t.Fatalf("a second bulk replay: %d %+v, want nothing left to replay", code, res)
	}
	quiet(t, rc, rc.count(), "after every replay was delivered")
	mu.Lock()
	defer mu.Unlock()
	for _, ev := range evs {
		if successes[ev.ID] != 1 {
			t.Errorf("event %s delivered %d times after the replay, want 1", ev.ID, successes[ev.ID])
		}
	}
	mu.Unlock()
	// The receiver answers before the lane settles: the counter follows
	// each attempt's commit, so it may still be catching up here.
	eventuallyWithin(t, 5*time.Minute, "1000 deliveries counted", func() bool {
		return counter(t, h, sub.ID, outcomeDelivered) >= 1000
	})
	mu.Lock()
	if got := counter(t, h, sub.ID, outcomeDelivered); got != 1000 {
		t.Errorf("usher_deliveries_total delivered = %v, want 1000", got)
	}
	if v := gauge(t, h, "usher_dead_letters", StageDelivery); v > 0 {
		t.Errorf("open dead letters gauge %v, want none", v)
	}
}
