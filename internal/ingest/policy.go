package ingest

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/usherhq/usher"
)

// policy is a source's edge policy, parsed once per cache load.
type policy struct {
	allow     []netip.Prefix // empty: any address
	limiter   *rate.Limiter  // nil: no rate limit
	maxBody   int64
	tolerance time.Duration
}

func parsePolicy(p usher.SourcePolicy) (policy, error) {
	var out policy
	for _, c := range p.AllowCIDRs {
		prefix, err := parsePrefix(c)
		if err != nil {
			return policy{}, err
		}
		out.allow = append(out.allow, prefix)
	}
	out.maxBody = p.MaxBodyBytes
	out.tolerance = time.Duration(p.ToleranceSeconds) * time.Second
	return out, nil
}

// parsePrefix accepts a CIDR or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("allowlist entry %q: %w", s, err)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("allowlist entry %q: %w", s, err)
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// allows reports whether the client address may send for the source.
func (p policy) allows(client netip.Addr) bool {
	if len(p.allow) == 0 {
		return true
	}
	client = client.Unmap()
	for _, prefix := range p.allow {
		if prefix.Contains(client) {
			return true
		}
	}
	return false
}

// limiters keeps one token bucket per source in memory. Buckets are per
// process; with share N (N receivers behind a balancer that spreads
// requests evenly) each admits 1/N of the rate and burst, so that the
// deployment admits the configured rate, not N times it.
type limiters struct {
	share   int // 0 means 1
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	rate    float64
	burst   int
	limiter *rate.Limiter
}

// get returns the source's limiter, keeping its tokens while its settings
// stay the same; nil when the source has no limit.
func (l *limiters) get(source string, perSecond float64, burst int) *rate.Limiter {
	if perSecond <= 0 {
		return nil
	}
	if burst < 1 {
		burst = int(math.Max(1, math.Ceil(perSecond)))
	}
	if l.share > 1 {
		perSecond /= float64(l.share)
		burst = max(1, burst/l.share)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	b, ok := l.buckets[source]
	if !ok || b.rate != perSecond || b.burst != burst {
		b = &bucket{rate: perSecond, burst: burst, limiter: rate.NewLimiter(rate.Limit(perSecond), burst)}
		l.buckets[source] = b
	}
	return b.limiter
}

// retryAfterError is a rate-limit rejection with the wait it advises.
type retryAfterError struct {
	err   *usher.Error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfter returns the advised wait.
func (e *retryAfterError) RetryAfter() time.Duration { return e.after }

// take spends one token or returns a rate-limit error with Retry-After.
func take(lim *rate.Limiter, now time.Time) error {
	if lim == nil {
		return nil
	}
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return &retryAfterError{usher.Errorf(usher.CodeRateLimited, "rate limit exceeded"), time.Second}
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return &retryAfterError{usher.Errorf(usher.CodeRateLimited, "rate limit exceeded; retry in %s", d.Round(time.Millisecond)), d}
	}
	return nil
}

// retryAfterSeconds finds an advised wait in err's chain: a rate limit, or
// the queue refusing at once while it cannot store (queue.Enqueue).
func retryAfterSeconds(err error) (int, bool) {
	var ra interface{ RetryAfter() time.Duration }
	if !errors.As(err, &ra) {
		return 0, false
	}
	return int(math.Max(1, math.Ceil(ra.RetryAfter().Seconds()))), true
}

// clientAddr returns the address of the client: the peer, or, when the peer
// is a trusted proxy, the right-most X-Forwarded-For entry that is not one.
func clientAddr(r *http.Request, trusted []netip.Prefix) (netip.Addr, error) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, usher.Errorf(usher.CodeAddressNotAllowed, "unknown client address")
	}
	peer = peer.Unmap()
	if !inAny(peer, trusted) {
		return peer, nil
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if hop == "" {
			continue // no header, or an empty list element
		}
		a, err := netip.ParseAddr(hop)
		if err != nil {
			return netip.Addr{}, usher.Errorf(usher.CodeAddressNotAllowed, "malformed X-Forwarded-For")
		}
		a = a.Unmap()
		if !inAny(a, trusted) {
			return a, nil
		}
	}
	return peer, nil
}

func inAny(a netip.Addr, prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ParseTrustedProxies parses a list of CIDRs or addresses.
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := parsePrefix(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
