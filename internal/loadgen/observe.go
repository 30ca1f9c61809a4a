package loadgen

import (
	"io"
	"net/http"
	"time"
)

// observingClient is the HTTP client of a run with Config.Observe: the
// same connection settings as the attacker's own (keep-alive, HTTP/1.1,
// 30 s timeout, no redirects), with a transport that reports every
// request's event id, body and answer.
func observingClient(workers int, observe func(id string, body []byte, status int, err error)) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: observer{next: &http.Transport{
			MaxIdleConnsPerHost: workers,
			ForceAttemptHTTP2:   false,
		}, observe: observe},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type observer struct {
	next    http.RoundTripper
	observe func(id string, body []byte, status int, err error)
}

// RoundTrip sends req and reports it. The body is read again through
// GetBody, which vegeta's requests (built from bytes) carry.
func (o observer) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.GetBody != nil {
		if rc, err := req.GetBody(); err == nil {
			body, _ = io.ReadAll(rc)
			_ = rc.Close()
		}
	}
	id := req.Header.Get("Webhook-Id")
	resp, err := o.next.RoundTrip(req)
	if err != nil {
		o.observe(id, body, 0, err)
		return nil, err
	}
	o.observe(id, body, resp.StatusCode, nil)
	return resp, nil
}
