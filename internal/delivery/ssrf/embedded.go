package ssrf

import "net/netip"

// nat64Embedded returns the IPv4 address in the last 32 bits of a
// 64:ff9b::/96 address (RFC 6052).
func nat64Embedded(a netip.Addr) ([]netip.Addr, bool) {
	b := a.As16()
	return []netip.Addr{netip.AddrFrom4([4]byte(b[12:16]))}, true
}

// localNAT64Embedded handles 64:ff9b:1::/48 (RFC 8215). The operator picks
// the translation prefix length inside the /48, and RFC 6052 places the IPv4
// address differently for /48, /56, /64 and /96. Only the /96 layout is
// accepted: bits 48 to 95 must be zero and the IPv4 address is the last 32
// bits. Read with the /48, /56 or /64 layout, such an address embeds an
// address in 0.0.0.0/8, which is refused and which no translator forwards,
// so a translator using another layout cannot be steered anywhere else.
func localNAT64Embedded(a netip.Addr) ([]netip.Addr, bool) {
	b := a.As16()
	for _, x := range b[6:12] {
		if x != 0 {
			return nil, false
		}
	}
	return nat64Embedded(a)
}

// sixToFourEmbedded returns the IPv4 address in bits 16 to 47 of a
// 2002::/16 address (RFC 3056).
func sixToFourEmbedded(a netip.Addr) ([]netip.Addr, bool) {
	b := a.As16()
	return []netip.Addr{netip.AddrFrom4([4]byte(b[2:6]))}, true
}

// teredoEmbedded returns the Teredo server IPv4 address (bits 32 to 63) and
// the client IPv4 address (the last 32 bits, each bit inverted) of a
// 2001::/32 address (RFC 4380).
func teredoEmbedded(a netip.Addr) ([]netip.Addr, bool) {
	b := a.As16()
	server := netip.AddrFrom4([4]byte(b[4:8]))
	client := netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]})
	return []netip.Addr{server, client}, true
}
