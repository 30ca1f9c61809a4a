package delivery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/delivery/ssrf"
)

// Dead-letter reasons of the delivery stage.
const (
	ReasonRejected  = "rejected"              // a 4xx that retrying cannot fix
	ReasonGone      = "gone"                  // 410: the receiver asked us to stop
	ReasonExhausted = "exhausted"             // the retry window is spent
	ReasonForbidden = "forbidden_destination" // the SSRF guard refused the address
	ReasonNoEvent   = "missing_event"         // the outbound event is not in the outbox
)

// verdict is what an attempt's result means for its delivery.
type verdict int

const (
	delivered verdict = iota
	retry             // a transient failure: try again on the schedule
	reject            // dead-letter at once
	gone              // dead-letter and disable the subscription
)

// result is what one attempt got back.
type result struct {
	status     int           // HTTP status; 0 when no response came
	err        error         // transport failure, when no response came
	retryAfter time.Duration // from Retry-After; 0 when absent
	excerpt    string        // the start of the response body
}

// judge classifies an attempt's result and names the dead-letter reason of
// the non-retriable ones.
func judge(r result) (verdict, string) {
	switch {
	case r.err != nil && errors.Is(r.err, ssrf.ErrForbiddenDestination):
		return reject, ReasonForbidden
	case r.err != nil && errors.Is(r.err, errNoEvent):
		return reject, ReasonNoEvent
	case r.err != nil:
		return retry, ""
	case r.status >= 200 && r.status < 300:
		return delivered, ""
	case r.status == http.StatusGone:
		return gone, ReasonGone
	case r.status >= 400 && r.status < 500 && !retriable4xx(r.status):
		return reject, ReasonRejected
	}
	return retry, "" // 5xx, 408, 409, 425, 429, 1xx and 3xx
}

func retriable4xx(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return false
}

// endpointFailed reports whether the result speaks against the endpoint's
// health, for the circuit breaker and the failing-since clock: no answer, a
// 5xx, or a request to slow down. A 4xx rejection is an answer.
func (r result) endpointFailed() bool {
	if r.err != nil {
		return !errors.Is(r.err, ssrf.ErrForbiddenDestination) && !errors.Is(r.err, errNoEvent)
	}
	return r.status >= 500 || r.status == http.StatusRequestTimeout || r.status == http.StatusTooManyRequests
}

// describe is the error text kept with the attempt; "" for a success.
func (r result) describe() string {
	switch {
	case r.err != nil:
		return describeTransport(r.err)
	case r.status >= 200 && r.status < 300:
		return ""
	case r.excerpt != "":
		return fmt.Sprintf("http %d: %s", r.status, r.excerpt)
	}
	return fmt.Sprintf("http %d", r.status)
}

func describeTransport(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, ssrf.ErrForbiddenDestination):
		return "refused by the ssrf guard: " + unwrapURL(err)
	case errors.Is(err, errNoEvent):
		return err.Error()
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout: " + unwrapURL(err)
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return "connect: " + unwrapURL(err)
	}
	return "transport: " + unwrapURL(err)
}

// unwrapURL drops the *url.Error prefix, which repeats the method and URL.
func unwrapURL(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// parseRetryAfter reads a Retry-After header, in seconds or as an HTTP
// date; 0 when absent, malformed or in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
		if n <= 0 || n > int64(maxRetryDelay/time.Second) {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// window is the span a delivery's retries may take.
func window(schedule []time.Duration) time.Duration {
	var total time.Duration
	for _, d := range schedule {
		total += d
	}
	return total
}

// retryDelay is the wait after the n-th failed attempt of a window (n from
// 1), counted from the attempt's end: the scheduled delay spread by ±jitter
// (rnd returns [0,1)). A Retry-After answer can lengthen the wait, never
// shorten it below the schedule, and is honoured in full as long as it
// fits in what is left of the window (left); one that reaches past the
// window's end is honoured up to that end, where the last attempt is made.
func retryDelay(schedule []time.Duration, n int, retryAfter, left time.Duration, jitter float64, rnd func() float64) time.Duration {
	base := schedule[n-1]
	d := base
	if jitter > 0 {
		d = time.Duration(float64(base) * (1 + jitter*(2*rnd()-1)))
	}
	if retryAfter > 0 {
		d = max(d, min(max(retryAfter, base), left))
	}
	return d
}
