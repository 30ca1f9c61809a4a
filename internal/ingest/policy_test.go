package ingest

import (
	"net"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher"
)

func TestClientAddr(t *testing.T) {
	t.Parallel()
	trusted, err := ParseTrustedProxies([]string{"10.0.0.0/8", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		remote, xff, want string
		wantErr           bool
	}{
		{"198.51.100.7:4000", "", "198.51.100.7", false},
		{"198.51.100.7:4000", "203.0.113.1", "198.51.100.7", false}, // untrusted peer: header ignored
		{"10.1.2.3:4000", "203.0.113.1", "203.0.113.1", false},
		{"10.1.2.3:4000", "203.0.113.1, 10.9.9.9", "203.0.113.1", false},  // skip trusted hops from the right
		{"10.1.2.3:4000", "192.0.2.5, 203.0.113.1", "203.0.113.1", false}, // left-most is spoofable
		{"10.1.2.3:4000", "", "10.1.2.3", false},
		{"[::1]:4000", "2001:db8::1", "2001:db8::1", false},
		{"[::ffff:198.51.100.7]:1", "", "198.51.100.7", false},
		{"10.1.2.3:4000", "not-an-ip", "", true},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "/webhooks/x", nil)
		r.RemoteAddr = tt.remote
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		got, err := clientAddr(r, trusted)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got.String() != tt.want) {
			t.Errorf("clientAddr(%s, %q) = %v, %v; want %s (error %v)", tt.remote, tt.xff, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestPolicyAllows(t *testing.T) {
	t.Parallel()
	p, err := parsePolicy(usher.SourcePolicy{AllowCIDRs: []string{"203.0.113.0/24", "2001:db8::/32", "198.51.100.9"}})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{
		"203.0.113.200": true, "::ffff:203.0.113.1": true, "2001:db8::5": true, "198.51.100.9": true,
		"198.51.100.10": false, "127.0.0.1": false, "2001:db9::1": false,
	} {
		if got := p.allows(netip.MustParseAddr(addr)); got != want {
			t.Errorf("allows(%s) = %v, want %v", addr, got, want)
		}
	}
	if open, _ := parsePolicy(usher.SourcePolicy{}); !open.allows(netip.MustParseAddr("192.0.2.1")) {
		t.Error("an empty allowlist must admit any address")
	}
	if _, err := parsePolicy(usher.SourcePolicy{AllowCIDRs: []string{"300.1.1.1/8"}}); err == nil {
		t.Error("a bad CIDR was accepted")
	}
}

func TestTakeKeepsTheBucket(t *testing.T) {
	t.Parallel()
	var l limiters
	now := time.Unix(1000, 0)
	lim := l.get("shop", 1, 2)
	if take(lim, now) != nil || take(lim, now) != nil {
		t.Fatal("burst of 2 refused")
	}
	err := take(l.get("shop", 1, 2), now) // same settings: same bucket, now empty
	if secs, ok := retryAfterSeconds(err); !ok || secs != 1 {
		t.Fatalf("third request: %v (retry after %d), want rate limited with 1 s", err, secs)
	}
	if take(lim, now.Add(time.Second)) != nil {
		t.Error("a token did not come back after 1 s")
	}
	if l.get("shop", 0, 0) != nil {
		t.Error("rate 0 must mean no limit")
	}
}

func FuzzClientAddr(f *testing.F) {
	f.Add("10.1.2.3:4000", "203.0.113.1, 10.9.9.9")
	f.Add("[::1]:1", "::ffff:1.2.3.4,,")
	trusted, _ := ParseTrustedProxies([]string{"10.0.0.0/8", "::1/128"})
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := httptest.NewRequest("POST", "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		a, err := clientAddr(r, trusted)
		if err != nil {
			return
		}
		// The answer is a valid address that the peer or a header hop named.
		if !a.IsValid() {
			t.Fatalf("clientAddr(%q, %q) = invalid address", remote, xff)
		}
		named := strings.Contains(remote, a.String()) || strings.Contains(r.RemoteAddr, a.Unmap().String())
		for _, hop := range strings.Split(xff, ",") {
			if h, err := netip.ParseAddr(strings.TrimSpace(hop)); err == nil && h.Unmap() == a {
				named = true
			}
		}
		if !named {
			host, _, err := net.SplitHostPort(remote)
			if err != nil {
				host = remote
			}
			if p, err := netip.ParseAddr(host); err == nil && p.Unmap() == a {
				named = true
			}
		}
		if !named {
			t.Fatalf("clientAddr(%q, %q) = %v, named by neither", remote, xff, a)
		}
	})
}

// TestReceiversShareTheRate: with N receivers each bucket holds 1/N of the
// source's rate and burst, so N receivers together admit the configured
// rate; a burst smaller than N still admits one.
func TestReceiversShareTheRate(t *testing.T) {
	for _, tc := range []struct {
		share, burst int
		rate         float64
		wantRate     float64
		wantBurst    int
	}{
		{share: 0, rate: 10, burst: 20, wantRate: 10, wantBurst: 20},
		{share: 2, rate: 10, burst: 20, wantRate: 5, wantBurst: 10},
		{share: 4, rate: 10, burst: 2, wantRate: 2.5, wantBurst: 1},
	} {
		l := limiters{share: tc.share}
		lim := l.get("s", tc.rate, tc.burst)
		if float64(lim.Limit()) != tc.wantRate || lim.Burst() != tc.wantBurst {
			t.Errorf("share %d of %v/s burst %d: got %v/s burst %d, want %v/s burst %d",
				tc.share, tc.rate, tc.burst, lim.Limit(), lim.Burst(), tc.wantRate, tc.wantBurst)
		}
	}
}
