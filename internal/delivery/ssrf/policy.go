package ssrf

import (
	"errors"
	"fmt"
	"net/netip"
)

// ErrForbiddenDestination is the sentinel every refusal wraps. The wrapping
// error names the refused address and the reason, e.g.
// "destination address not allowed: 10.0.0.1 (private network, rfc 1918)".
// Test for it with errors.Is; it survives the *url.Error and *net.OpError
// layers an *http.Client adds.
var ErrForbiddenDestination = errors.New("destination address not allowed")

// Policy says which destinations are allowed. The zero value is the
// production policy: only globally routable addresses.
type Policy struct {
	// AllowPrivate, set from USHER_ALLOW_PRIVATE_DESTINATIONS=true, also
	// allows loopback, private (RFC 1918), shared (CGNAT), link-local and
	// unique local addresses, for tests and on-premise installations. Cloud
	// metadata endpoints stay refused even then.
	AllowPrivate bool
}

// CheckAddr reports whether a delivery may connect to a. It returns nil for
// an allowed address and otherwise an error wrapping ErrForbiddenDestination
// that names a and the reason. It is a pure function of p and a; a zone
// (fe80::1%eth0) does not change the decision.
func (p Policy) CheckAddr(a netip.Addr) error {
	v, reason := classify(a)
	switch {
	case v == allowed:
		return nil
	case v == privateOnly && p.AllowPrivate:
		return nil
	case v == privateOnly:
		return fmt.Errorf("%w: %s (%s; private destinations are disabled)", ErrForbiddenDestination, a, reason)
	default:
		return fmt.Errorf("%w: %s (%s)", ErrForbiddenDestination, a, reason)
	}
}
