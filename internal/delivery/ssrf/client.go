package ssrf

import (
	"net"
	"net/http"
	"time"
)

// Transport limits of NewClient. They bound the resources one slow or
// hostile endpoint can hold; the caller's totalTimeout bounds the time.
const (
	tlsHandshakeTimeout    = 10 * time.Second
	expectContinueTimeout  = time.Second
	idleConnTimeout        = 90 * time.Second
	maxIdleConns           = 100
	maxIdleConnsPerHost    = 4
	maxResponseHeaderBytes = 64 << 10
)

// NewClient returns an *http.Client for deliveries that enforces p on every
// connection:
//
//   - it dials through a net.Dialer with Timeout connectTimeout and Control
//     p.Control, so each address actually dialled is checked;
//   - it never uses a proxy, whatever HTTP_PROXY, HTTPS_PROXY or NO_PROXY
//     say;
//   - it never follows redirects: a 3xx response is returned as it is, with
//     its body open for the caller to close;
//   - its Timeout is totalTimeout, covering connect, TLS, headers and body.
//
// A zero timeout means no limit, as in net and net/http. Each call returns
// a client with its own connection pool; share one client per Policy.
func (p Policy) NewClient(connectTimeout, totalTimeout time.Duration) *http.Client {
	return newClient(&net.Dialer{Timeout: connectTimeout, Control: p.Control}, totalTimeout)
}

// newClient builds the client NewClient returns around dialer. Tests use it
// to swap the dialer's resolver so that no name is ever sent to a real DNS
// server.
func newClient(dialer *net.Dialer, totalTimeout time.Duration) *http.Client {
	transport := &http.Transport{
		Proxy:                  nil, // never from the environment
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true, // a custom DialContext would disable it
		TLSHandshakeTimeout:    tlsHandshakeTimeout,
		ExpectContinueTimeout:  expectContinueTimeout,
		IdleConnTimeout:        idleConnTimeout,
		MaxIdleConns:           maxIdleConns,
		MaxIdleConnsPerHost:    maxIdleConnsPerHost,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
	}
	return &http.Client{
		Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
		Timeout: totalTimeout,
	}
}
