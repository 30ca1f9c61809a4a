package ingest

import (
	"context"
	"sync"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/webhook"
)

// SourceStore reads a source and its secrets.
type SourceStore interface {
	Source(ctx context.Context, name string) (usher.Source, []usher.SourceSecret, error)
}

// source is what the receiver needs to verify one source's webhooks.
type source struct {
	name      string
	scheme    webhook.Scheme
	secrets   []usher.SourceSecret
	tolerance time.Duration
	policy    policy
	rate      float64
	burst     int
	err       error // a cached "unknown source"
	loadedAt  time.Time
}

// verifyingSecrets returns the secrets that verify at now: active ones, and
// retiring ones inside their grace window.
func (s *source) verifyingSecrets(now time.Time) []webhook.Secret {
	out := make([]webhook.Secret, 0, len(s.secrets))
	for _, sec := range s.secrets {
		switch {
		case sec.State == usher.SecretActive,
			sec.State == usher.SecretRetiring && now.Before(sec.NotAfter):
			out = append(out, webhook.Secret{ID: sec.ID, Key: sec.Secret})
		}
	}
	return out
}

// sourceCache keeps sources in memory for ttl so that the receiver does not
// read the store on every request; an unknown name is cached too, so a flood
// of made-up names does not reach the store either.
type sourceCache struct {
	store SourceStore
	ttl   time.Duration
	now   func() time.Time

	mu      sync.Mutex
	entries map[string]*source
}

func newSourceCache(st SourceStore, ttl time.Duration, now func() time.Time) *sourceCache {
	return &sourceCache{store: st, ttl: ttl, now: now, entries: map[string]*source{}}
}

// maxCachedSources bounds the cache against a flood of made-up names.
const maxCachedSources = 10000

func (c *sourceCache) get(ctx context.Context, name string) (*source, error) {
	now := c.now()
	c.mu.Lock()
	s, ok := c.entries[name]
	c.mu.Unlock()
	if ok && now.Sub(s.loadedAt) < c.ttl {
		return s, s.err
	}
	stale := s
	s = &source{name: name, loadedAt: now}
	src, secrets, err := c.store.Source(ctx, name)
	switch {
	case usher.ErrorCode(err) == usher.CodeUnknownSource:
		s.err = err
	case err != nil && ok && stale.err == nil:
		// The store is down (a PostgreSQL restart): keep receiving with the
		// secrets last read, so webhooks still go into the stream.
		return stale, nil
	case err != nil:
		return nil, usher.WrapError(usher.CodeUnavailable, err, "source registry unavailable")
	default:
		scheme, ok := webhook.Lookup(src.Scheme)
		if !ok {
			return nil, usher.Errorf(usher.CodeInternal, "source %q has unknown scheme %q", name, src.Scheme)
		}
		pol, err := parsePolicy(src.SourcePolicy)
		if err != nil {
			return nil, usher.WrapError(usher.CodeInternal, err, "source policy is invalid")
		}
		s.scheme, s.secrets, s.policy = scheme, secrets, pol
		s.tolerance = scheme.DefaultTolerance()
		if pol.tolerance > 0 {
			s.tolerance = pol.tolerance
		}
		s.rate, s.burst = src.RatePerSecond, src.Burst
	}
	c.mu.Lock()
	if len(c.entries) >= maxCachedSources {
		clear(c.entries)
	}
	c.entries[name] = s
	c.mu.Unlock()
	return s, s.err
}

// forget drops a source so that the next request reads it again.
func (c *sourceCache) forget(name string) {
	c.mu.Lock()
	delete(c.entries, name)
	c.mu.Unlock()
}
