package ssrf

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	testConnectTimeout = 200 * time.Millisecond
	testTotalTimeout   = 3 * time.Second
)

// TestNewClientRefusesInternalTargets sends requests to internal targets
// with the default policy and checks that each is refused and that nothing
// reaches the loopback listeners.
//
// No packet leaves the loopback interface:
//   - loopback IP literals go through NewClient exactly as built;
//   - host names resolve through a fake DNS server on 127.0.0.1 (or
//     /etc/hosts), never the machine's nameserver, and only ever to
//     loopback addresses;
//   - addresses off the loopback interface go through the same transport
//     with safetyNet, which refuses to connect even if the guard says yes.
func TestNewClientRefusesInternalTargets(t *testing.T) {
	p := Policy{}
	srv := mustStartCountingServer(t, okHandler)
	port := srv.port()
	dns := startFakeDNS(t)

	exact := p.NewClient(testConnectTimeout, testTotalTimeout)
	named := newClient(&net.Dialer{Timeout: testConnectTimeout, Control: p.Control, Resolver: dns.resolver()}, testTotalTimeout)
	netted := newClient(&net.Dialer{Timeout: testConnectTimeout, Control: safetyNet(p), Resolver: dns.resolver()}, testTotalTimeout)
	t.Cleanup(exact.CloseIdleConnections)
	t.Cleanup(named.CloseIdleConnections)
	t.Cleanup(netted.CloseIdleConnections)

	type target struct {
		url    string
		client *http.Client
		// mayNotResolve marks hosts Go's resolver rejects as invalid names:
		// the all-numeric spellings of 127.0.0.1.
		mayNotResolve bool
	}
	targets := []target{
		// Loopback literals, real dials through NewClient.
		{url: "http://127.0.0.1:" + port + "/", client: exact},
		{url: "http://127.0.0.2:" + port + "/", client: exact},
		{url: "http://[::ffff:127.0.0.1]:" + port + "/", client: exact},
		{url: "http://[::ffff:7f00:1]:" + port + "/", client: exact},
		{url: "http://0.0.0.0:" + port + "/", client: exact},
		{url: "http://[::]:" + port + "/", client: exact},

		// Names that resolve to loopback: /etc/hosts or the fake DNS.
		{url: "http://localhost:" + port + "/", client: named},
		{url: "http://LOCALHOST:" + port + "/", client: named},
		{url: "http://localhost.:" + port + "/", client: named},
		{url: "http://rebind.usher.test:" + port + "/", client: named},
		{url: "http://0x7f.0.0.1:" + port + "/", client: named},
		{url: "http://0x7f.1:" + port + "/", client: named},
		{url: "http://2130706433:" + port + "/", client: named, mayNotResolve: true},
		{url: "http://0177.0.0.1:" + port + "/", client: named, mayNotResolve: true},
		{url: "http://017700000001:" + port + "/", client: named, mayNotResolve: true},
		{url: "http://127.1:" + port + "/", client: named, mayNotResolve: true},

		// Off the loopback interface: never connected, even if the guard failed.
		{url: "http://10.0.0.1:" + port + "/", client: netted},
		{url: "http://172.16.0.1:" + port + "/", client: netted},
		{url: "http://192.168.1.1:" + port + "/", client: netted},
		{url: "http://100.64.0.1:" + port + "/", client: netted},
		{url: "http://169.254.169.254/latest/meta-data/", client: netted},
		{url: "http://100.100.100.200/latest/meta-data/", client: netted},
		{url: "http://[fd00:ec2::254]/latest/meta-data/", client: netted},
		{url: "http://[fe80::1]:" + port + "/", client: netted},
		{url: "http://[fc00::1]:" + port + "/", client: netted},
		{url: "http://[fd00::2]:" + port + "/", client: netted},
		{url: "http://[64:ff9b::7f00:1]:" + port + "/", client: netted},
		{url: "http://[2002:7f00:1::]:" + port + "/", client: netted},
		{url: "http://[::127.0.0.1]:" + port + "/", client: netted},
		{url: "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:" + port + "/", client: netted},
		{url: "http://224.0.0.1:" + port + "/", client: netted},
	}

	if ifs, err := net.Interfaces(); err == nil && len(ifs) > 0 {
		// A zoned link-local literal; the zone must name a real interface.
		targets = append(targets, target{url: "http://[fe80::1%25" + ifs[0].Name + "]:" + port + "/", client: netted})
	}

	srv6, err := startCountingServer(t, "tcp6", "[::1]:0", okHandler)
	if err != nil {
		t.Logf("IPv6 loopback unavailable, skipping the [::1] target: %v", err)
	} else {
		targets = append(targets, target{url: "http://[::1]:" + srv6.port() + "/", client: exact})
	}

	var refused, unresolved int
	for _, tc := range targets {
		resp, err := tc.client.Get(tc.url)
		if err == nil {
			resp.Body.Close()
			t.Errorf("GET %s: status %d, want a refusal", tc.url, resp.StatusCode)
			continue
		}
		var dnsErr *net.DNSError
		switch {
		case errors.Is(err, errWouldDial):
			t.Errorf("GET %s: the guard allowed the dial: %v", tc.url, err)
		case errors.Is(err, ErrForbiddenDestination):
			refused++
			t.Logf("refused by the guard: %s: %v", tc.url, err)
		case tc.mayNotResolve && (errors.As(err, &dnsErr) || strings.Contains(err.Error(), "no such host")):
			unresolved++
			t.Logf("resolution failure, nothing dialled: %s: %v", tc.url, err)
		default:
			t.Errorf("GET %s: %v, want an error wrapping ErrForbiddenDestination", tc.url, err)
		}
	}
	t.Logf("%d targets: %d refused by the guard, %d failed to resolve", len(targets), refused, unresolved)
	if len(targets) < 20 {
		t.Errorf("only %d targets", len(targets))
	}

	if n := srv.ln.accepted.Load(); n != 0 {
		t.Errorf("127.0.0.1 listener accepted %d connections, want 0", n)
	}
	if n := srv.requests.Load(); n != 0 {
		t.Errorf("127.0.0.1 server served %d requests, want 0", n)
	}
	if srv6 != nil {
		if n := srv6.ln.accepted.Load(); n != 0 {
			t.Errorf("[::1] listener accepted %d connections, want 0", n)
		}
	}
	if dns.queries.Load() == 0 {
		t.Error("the fake DNS server got no query: the rebinding targets were not exercised")
	}
}

// With AllowPrivate the loopback listener is reachable, but the metadata
// endpoint is still refused.
func TestNewClientAllowPrivate(t *testing.T) {
	p := Policy{AllowPrivate: true}
	srv := mustStartCountingServer(t, okHandler)
	c := p.NewClient(testConnectTimeout, testTotalTimeout)
	t.Cleanup(c.CloseIdleConnections)

	resp, err := c.Get(srv.URL + "/hook")
	if err != nil {
		t.Fatalf("GET %s: %v", srv.URL, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Errorf("GET %s = %d %q, want 200 \"ok\"", srv.URL, resp.StatusCode, body)
	}
	if a, r := srv.ln.accepted.Load(), srv.requests.Load(); a != 1 || r != 1 {
		t.Errorf("listener accepted %d connections and served %d requests, want 1 and 1", a, r)
	}

	if err := p.Control("tcp4", "169.254.169.254:80", nil); !errors.Is(err, ErrForbiddenDestination) {
		t.Errorf("Control(tcp4, 169.254.169.254:80) = %v, want ErrForbiddenDestination", err)
	}
}

// The harness can reach the listener when the guard allows it, so the zero
// counts of TestNewClientRefusesInternalTargets come from the guard, not
// from names that never resolve.
func TestHarnessReachesListenerWhenAllowed(t *testing.T) {
	p := Policy{AllowPrivate: true}
	srv := mustStartCountingServer(t, okHandler)
	dns := startFakeDNS(t)
	c := newClient(&net.Dialer{Timeout: testConnectTimeout, Control: p.Control, Resolver: dns.resolver()}, testTotalTimeout)
	t.Cleanup(c.CloseIdleConnections)
	for _, host := range []string{"localhost", "rebind.usher.test", "0x7f.0.0.1"} {
		u := "http://" + host + ":" + srv.port() + "/"
		resp, err := c.Get(u)
		if err != nil {
			t.Errorf("GET %s: %v", u, err)
			continue
		}
		resp.Body.Close()
	}
	if r := srv.requests.Load(); r != 3 {
		t.Errorf("served %d requests, want 3", r)
	}
}

// Redirects are returned, not followed, so an allowed endpoint cannot bounce
// a delivery to another destination.
func TestNewClientDoesNotFollowRedirects(t *testing.T) {
	p := Policy{AllowPrivate: true}
	second := mustStartCountingServer(t, okHandler)
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		first := mustStartCountingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, second.URL+"/stolen", code)
		}))
		c := p.NewClient(testConnectTimeout, testTotalTimeout)
		resp, err := c.Post(first.URL+"/hook", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatalf("%d: POST: %v", code, err)
		}
		resp.Body.Close()
		c.CloseIdleConnections()
		if resp.StatusCode != code {
			t.Errorf("status %d, want the %d itself", resp.StatusCode, code)
		}
		if loc := resp.Header.Get("Location"); loc != second.URL+"/stolen" {
			t.Errorf("%d: Location %q, want %q", code, loc, second.URL+"/stolen")
		}
		if first.requests.Load() != 1 {
			t.Errorf("%d: first server served %d requests, want 1", code, first.requests.Load())
		}
	}
	if a, r := second.ln.accepted.Load(), second.requests.Load(); a != 0 || r != 0 {
		t.Errorf("redirect target accepted %d connections and served %d requests, want 0 and 0", a, r)
	}
}

// Proxy settings in the environment are ignored: the guard, not a proxy,
// picks the destination.
func TestNewClientIgnoresProxyEnvironment(t *testing.T) {
	proxy := mustStartCountingServer(t, okHandler)
	for _, k := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"} {
		t.Setenv(k, proxy.URL)
	}
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")

	// 192.0.2.10 is a documentation address, refused under every policy:
	// a direct dial is stopped by Control, so only a proxy could answer.
	const target = "http://192.0.2.10/hook"
	p := Policy{AllowPrivate: true}
	c := p.NewClient(testConnectTimeout, testTotalTimeout)
	t.Cleanup(c.CloseIdleConnections)
	if tr := c.Transport.(*http.Transport); tr.Proxy != nil {
		t.Error("Transport.Proxy is set, want nil")
	}
	resp, err := c.Get(target)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("GET %s: status %d, want a refusal", target, resp.StatusCode)
	}
	if !errors.Is(err, ErrForbiddenDestination) {
		t.Errorf("GET %s: %v, want ErrForbiddenDestination", target, err)
	}
	if a := proxy.ln.accepted.Load(); a != 0 {
		t.Errorf("proxy accepted %d connections, want 0", a)
	}

	// Control: the same client with a proxy configured does reach it, so
	// the zero above is meaningful.
	proxyURL, err := url.Parse(proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctl := p.NewClient(testConnectTimeout, testTotalTimeout)
	ctl.Transport.(*http.Transport).Proxy = http.ProxyURL(proxyURL)
	t.Cleanup(ctl.CloseIdleConnections)
	resp, err = ctl.Get(target)
	if err != nil {
		t.Fatalf("GET %s through the proxy: %v", target, err)
	}
	resp.Body.Close()
	if a := proxy.ln.accepted.Load(); a != 1 {
		t.Errorf("proxy accepted %d connections with an explicit proxy, want 1", a)
	}
}

func TestNewClientConfiguration(t *testing.T) {
	c := Policy{}.NewClient(2*time.Second, 30*time.Second)
	if c.Timeout != 30*time.Second {
		t.Errorf("Timeout = %v, want 30s", c.Timeout)
	}
	if c.CheckRedirect == nil || !errors.Is(c.CheckRedirect(nil, nil), http.ErrUseLastResponse) {
		t.Error("CheckRedirect does not return http.ErrUseLastResponse")
	}
	tr, ok := c.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("Transport is %T, want *http.Transport", c.Transport)
	}
	if tr.Proxy != nil {
		t.Error("Transport.Proxy is set, want nil")
	}
	if tr.DialContext == nil || tr.Dial != nil || tr.DialTLSContext != nil || tr.DialTLS != nil {
		t.Error("Transport must dial through DialContext only")
	}
	if tr.TLSHandshakeTimeout <= 0 || tr.IdleConnTimeout <= 0 || tr.MaxIdleConnsPerHost <= 0 {
		t.Errorf("TLSHandshakeTimeout=%v IdleConnTimeout=%v MaxIdleConnsPerHost=%d, want all positive",
			tr.TLSHandshakeTimeout, tr.IdleConnTimeout, tr.MaxIdleConnsPerHost)
	}
}
