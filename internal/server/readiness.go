package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/problem"
	"github.com/usherhq/usher/internal/queue"
)

// Readiness timings: a store write probe younger than probeFresh is reused,
// so that /readyz stays cheap under load; processing that has failed every
// batch for stallAfter is stalled.
const (
	probeFresh   = 2 * time.Second
	probeTimeout = 2 * time.Second
	stallAfter   = 30 * time.Second
)

// handleReadyz answers 200 when ingest and processing can both make
// progress: a write probe to the inbound stream succeeds, a write probe to
// the store commits, and the processor is not failing every batch. Otherwise
// it answers 503 with a problem naming each part that cannot progress.
func (a *App) handleReadyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), probeTimeout+time.Second)
		defer cancel()
		var code usher.Code
		var failures []string
		fail := func(c usher.Code, part string, err error) {
			if code == "" {
				code = c
			}
			failures = append(failures, part+": "+err.Error())
		}
		if err := a.queue.Ready(ctx); err != nil {
			fail(usher.CodeQueueUnavailable, "queue write probe failed", err)
		}
		if err := a.storeProbe.run(ctx, a.db.ProbeWrite); err != nil {
			fail(usher.CodeUnavailable, "store write probe failed", err)
		}
		if a.cfg.Has(RoleProcess) {
			if err := a.progress.stalled(time.Now()); err != nil {
				fail(usher.CodeUnavailable, "processor stalled", err)
			}
		}
		if len(failures) > 0 {
			problem.Write(w, r, usher.Errorf(code, "not ready: %s", strings.Join(failures, "; ")))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ready"}` + "\n"))
	})
}

// storeProbe runs the store's write probe at most once per probeFresh.
type storeProbe struct {
	mu  sync.Mutex
	at  time.Time
	err error
}

func (p *storeProbe) run(ctx context.Context, probe func(context.Context) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.at) < probeFresh {
		return p.err
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	p.err = probe(ctx)
	if errors.Is(p.err, context.Canceled) && ctx.Err() != nil {
		return p.err // the caller went away: do not keep its cancellation
	}
	p.at = time.Now()
	return p.err
}

// progress follows the processor's batches: since when every batch has
// failed, and why.
type progress struct {
	mu           sync.Mutex
	failingSince time.Time
	lastErr      error
}

// track wraps the batch handler to record each outcome.
func (p *progress) track(h queue.Handler) queue.Handler {
	return func(ctx context.Context, b queue.Batch) error {
		err := h(ctx, b)
		p.mu.Lock()
		defer p.mu.Unlock()
		switch {
		case err == nil:
			p.failingSince, p.lastErr = time.Time{}, nil
		case p.failingSince.IsZero():
			p.failingSince, p.lastErr = time.Now(), err
		default:
			p.lastErr = err
		}
		return err
	}
}

// stalled returns an error when every batch has failed for stallAfter.
func (p *progress) stalled(now time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failingSince.IsZero() || now.Sub(p.failingSince) < stallAfter {
		return nil
	}
	return fmt.Errorf("every batch has failed for %s: %w", now.Sub(p.failingSince).Round(time.Second), p.lastErr)
}
