package delivery

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/drain"
)

// A listen stream (GET /v1/listen, `usher listen`) is a temporary
// subscription whose destination is the stream itself: its URL is
// usher-listen://<stream id>?expires=<unix seconds>, a scheme the API
// refuses for ordinary subscriptions. Its deliveries are recorded by the
// dispatcher and attempted by its lane like any other, signed, retried and
// ordered the same way; the lane's HTTP client hands a request for that
// scheme to the stream instead of the network (listenHub.RoundTrip), and
// answers 200 once the stream has written it. Only the process holding the
// stream claims its deliveries. The stream renews the expiry while it is
// open and deletes the subscription when it closes; one whose process died
// is deleted by any process's delivery loop once it has expired.
const (
	listenScheme = "usher-listen"
	// listenTTL is how long a listen subscription outlives its last
	// renewal; the stream renews it every third of that.
	listenTTL = 60 * time.Second
)

var errListenerGone = errors.New("the listen stream is closed")

// listenDelivery is one signed request handed to a stream.
type listenDelivery struct {
	header http.Header
	body   []byte
	done   chan error // the stream's write result
}

// listenStream is one open stream of this process.
type listenStream struct {
	in     chan listenDelivery
	closed chan struct{}
}

// listenHub holds this process's open streams and routes the lanes'
// requests for them.
type listenHub struct {
	next http.RoundTripper

	mu      sync.Mutex
	streams map[string]*listenStream
	drain   *drain.Signal // closed when the HTTP server carrying the streams shuts down
}

// withListen returns c with its transport routing listen destinations to
// the hub; every other request goes on to c's transport.
func withListen(c *http.Client, h *listenHub) *http.Client {
	h.next = c.Transport
	if h.next == nil {
		h.next = http.DefaultTransport
	}
	wrapped := *c
	wrapped.Transport = h
	return &wrapped
}

func newListenHub() *listenHub {
	return &listenHub{streams: map[string]*listenStream{}, drain: drain.New()}
}

// listenURL is the destination of stream id, valid until expires.
func listenURL(id string, expires time.Time) string {
	return listenScheme + "://" + id + "?expires=" + strconv.FormatInt(expires.Unix(), 10)
}

// parseListenURL returns the stream id and expiry of a listen destination;
// ok is false for any other URL.
func parseListenURL(raw string) (id string, expires time.Time, ok bool) {
	if !strings.HasPrefix(raw, listenScheme+"://") {
		return "", time.Time{}, false
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", time.Time{}, false
	}
	sec, _ := strconv.ParseInt(u.Query().Get("expires"), 10, 64)
	return u.Host, time.Unix(sec, 0), true
}

// open registers a stream.
func (h *listenHub) open(id string) *listenStream {
	st := &listenStream{in: make(chan listenDelivery), closed: make(chan struct{})}
	h.mu.Lock()
	h.streams[id] = st
	h.mu.Unlock()
	return st
}

// close unregisters a stream; requests waiting for it fail.
func (h *listenHub) close(id string) {
	h.mu.Lock()
	st := h.streams[id]
	delete(h.streams, id)
	h.mu.Unlock()
	if st != nil {
		close(st.closed)
	}
}

func (h *listenHub) stream(id string) *listenStream {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.streams[id]
}

// claimable reports whether this process's lane may claim the deliveries
// of sub: every ordinary subscription, and a listen subscription whose
// stream is open here.
func (h *listenHub) claimable(sub usher.Subscription) bool {
	id, _, ok := parseListenURL(sub.URL)
	return !ok || h.stream(id) != nil
}

// RoundTrip hands a request for a listen destination to its stream and
// answers 200 once the stream has written it; any other request goes to
// the network through the wrapped transport.
func (h *listenHub) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != listenScheme {
		return h.next.RoundTrip(req)
	}
	st := h.stream(req.URL.Host)
	if st == nil {
		return nil, errListenerGone
	}
	body, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, err
	}
	d := listenDelivery{header: req.Header.Clone(), body: body, done: make(chan error, 1)}
	select {
	case st.in <- d:
	case <-st.closed:
		return nil, errListenerGone
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	select {
	case err = <-d.done:
	case <-st.closed:
		err = errListenerGone
	case <-req.Context().Done():
		err = req.Context().Err()
	}
	if err != nil {
		return nil, err
	}
	return &http.Response{Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: http.NoBody, Request: req}, nil
}

// CloseIdleConnections passes on to the wrapped transport.
func (h *listenHub) CloseIdleConnections() {
	if c, ok := h.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// sweepListeners deletes the listen subscriptions that expired without
// being renewed: their stream's process died.
func (s *Service) sweepListeners(ctx context.Context, subs []usher.Subscription) {
	now := s.now()
	for _, sub := range subs {
		id, expires, ok := parseListenURL(sub.URL)
		if !ok || now.Before(expires) || s.listen.stream(id) != nil {
			continue
		}
		err := s.st.InTx(ctx, func(tx Tx) error {
			if err := tx.DeleteSubscription(ctx, sub.ID); err != nil {
				return err
			}
			return auditAs(ctx, tx, lanesActor, ActionSubscriptionDeleted, "subscription", sub.ID, map[string]any{"listen": true, "reason": "expired"})
		})
		if err != nil && usher.ErrorCode(err) != usher.CodeNotFound {
			s.log.Warn("delete an expired listen subscription", "subscription_id", sub.ID, "err", err)
		}
	}
}
