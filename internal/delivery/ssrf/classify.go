package ssrf

import (
	"fmt"
	"net/netip"
)

// verdict is the class of an address, before the Policy is applied.
type verdict int

const (
	// allowed addresses are globally routable.
	allowed verdict = iota
	// privateOnly addresses are allowed only with Policy.AllowPrivate.
	privateOnly
	// refused addresses are never allowed.
	refused
)

// classify returns the verdict for a and, unless allowed, a short
// lowercase reason.
func classify(a netip.Addr) (verdict, string) {
	if !a.IsValid() {
		return refused, "invalid address"
	}
	// netip.Prefix.Contains is false for any zoned address; the zone only
	// picks an interface, the range is decided by the bits.
	a = a.WithZone("")
	if a.Is4In6() {
		// ::ffff:a.b.c.d is an IPv4 socket to a.b.c.d.
		return classify(a.Unmap())
	}
	if isMetadata(a) {
		return refused, "cloud metadata endpoint"
	}
	rules := ipv6Rules
	if a.Is4() {
		rules = ipv4Rules
	}
	for _, r := range rules {
		if !r.prefix.Contains(a) {
			continue
		}
		if r.embedded != nil {
			return classifyEmbedded(a, r)
		}
		return r.verdict, r.reason
	}
	if a.Is6() && !globalUnicast6.Contains(a) {
		return refused, "reserved, outside the ipv6 global unicast range 2000::/3"
	}
	return allowed, ""
}

// classifyEmbedded judges a translation or tunnelling address by the IPv4
// addresses it embeds. Every embedded address must be globally allowed:
// AllowPrivate does not extend through NAT64, 6to4 or Teredo.
func classifyEmbedded(a netip.Addr, r rule) (verdict, string) {
	embedded, ok := r.embedded(a)
	if !ok {
		return refused, r.reason + " not in the only accepted layout"
	}
	for _, e := range embedded {
		if v, reason := classify(e); v != allowed {
			return refused, fmt.Sprintf("%s embedding %s, %s", r.reason, e, reason)
		}
	}
	return allowed, ""
}
