package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/webhook"
)

func (r *run) sendAll(ctx context.Context, hooks []venueStep) error {
	if len(hooks) == 0 {
		return nil
	}
	if r.outages.begun && !r.outages.ended {
		for _, h := range hooks {
			if h.v == r.out {
				if h.kind == stepPay {
					r.outages.paymentsDuringDark++
				} else {
					r.outages.refundsDuringDark++
				}
			}
		}
	}
	work := make(chan venueStep)
	errs := make(chan error, len(hooks))
	var wg sync.WaitGroup
	for range min(32, len(hooks)) {
		wg.Go(func() {
			for h := range work {
				errs <- r.hook(ctx, h)
			}
		})
	}
	for _, h := range hooks {
		work <- h
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	r.sent += len(hooks)
	return r.waitProcessed(ctx)
}

func (r *run) hook(ctx context.Context, h venueStep) error {
	id := h.v.orderID(h.order)
	if h.kind == stepRefund {
		return r.send(ctx, usher.TypeOrderRefunded, map[string]any{"order_id": id})
	}
	return r.send(ctx, usher.TypeOrderPaid, map[string]any{
		"order_id": id, "show_id": h.v.show(), "venue_id": h.v.name,
		"items": []map[string]any{{"ticket_type": "GA", "quantity": h.v.script.quantities[h.order]}},
		"buyer": map[string]string{"email": "holder@example.com", "name": "Drill Holder"},
	})
}

// send signs and posts one webhook, retrying while usher answers 503.
func (r *run) send(ctx context.Context, typ string, data any) error {
	body, err := json.Marshal(map[string]any{"type": typ, "timestamp": time.Now().UTC().Format(time.RFC3339), "data": data})
	if err != nil {
		return err
	}
	id := usher.NewID("drill_")
	scheme, _ := webhook.Lookup(webhook.SchemeStandardWebhooks)
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.target.URL+"/webhooks/"+r.target.Source, bytes.NewReader(body))
		if err != nil {
			return err
		}
		for k, v := range scheme.Sign(id, time.Now(), body, webhook.Secret{Key: r.target.Secret}) {
			req.Header[k] = v
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := r.http.Do(req)
		if err != nil {
			return fmt.Errorf("send %s: %w", typ, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusAccepted:
			return nil
		case resp.StatusCode == http.StatusServiceUnavailable && attempt < 5:
			time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
		default:
			return fmt.Errorf("send %s: %d", typ, resp.StatusCode)
		}
	}
}

// waitProcessed waits until usher has applied every webhook sent.
func (r *run) waitProcessed(ctx context.Context) error {
	deadline := time.Now().Add(time.Minute)
	for {
		counts, err := r.target.Store.CountInbound(ctx)
		if err != nil {
			return err
		}
		total := 0
		for _, n := range counts {
			total += n
		}
		if total >= r.base+r.sent {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("usher applied %d of %d webhooks within a minute", total-r.base, r.sent)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
