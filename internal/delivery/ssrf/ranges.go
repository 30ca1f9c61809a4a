package ssrf

import "net/netip"

// rule classifies the addresses of one prefix. A rule with embedded set is a
// translation or tunnelling prefix, judged by the IPv4 addresses it embeds.
type rule struct {
	prefix   netip.Prefix
	verdict  verdict
	reason   string
	embedded func(netip.Addr) ([]netip.Addr, bool)
}

// ipv4Rules is read-only; the first rule whose prefix contains the address
// wins, so narrower prefixes come before the wider ones that contain them.
var ipv4Rules = []rule{
	{prefix: netip.MustParsePrefix("0.0.0.0/8"), verdict: refused, reason: "unspecified, this network"},
	{prefix: netip.MustParsePrefix("127.0.0.0/8"), verdict: privateOnly, reason: "loopback"},
	{prefix: netip.MustParsePrefix("10.0.0.0/8"), verdict: privateOnly, reason: "private network, rfc 1918"},
	{prefix: netip.MustParsePrefix("172.16.0.0/12"), verdict: privateOnly, reason: "private network, rfc 1918"},
	{prefix: netip.MustParsePrefix("192.168.0.0/16"), verdict: privateOnly, reason: "private network, rfc 1918"},
	{prefix: netip.MustParsePrefix("100.64.0.0/10"), verdict: privateOnly, reason: "shared address space, cgnat"},
	{prefix: netip.MustParsePrefix("169.254.0.0/16"), verdict: privateOnly, reason: "link-local"},
	{prefix: netip.MustParsePrefix("192.0.0.0/24"), verdict: refused, reason: "ietf protocol assignments"},
	{prefix: netip.MustParsePrefix("192.0.2.0/24"), verdict: refused, reason: "documentation"},
	{prefix: netip.MustParsePrefix("198.51.100.0/24"), verdict: refused, reason: "documentation"},
	{prefix: netip.MustParsePrefix("203.0.113.0/24"), verdict: refused, reason: "documentation"},
	{prefix: netip.MustParsePrefix("198.18.0.0/15"), verdict: refused, reason: "benchmarking"},
	{prefix: netip.MustParsePrefix("192.88.99.0/24"), verdict: refused, reason: "deprecated 6to4 relay anycast"},
	{prefix: netip.MustParsePrefix("224.0.0.0/4"), verdict: refused, reason: "multicast"},
	{prefix: netip.MustParsePrefix("255.255.255.255/32"), verdict: refused, reason: "limited broadcast"},
	{prefix: netip.MustParsePrefix("240.0.0.0/4"), verdict: refused, reason: "reserved"},
}

// ipv6Rules is read-only; first match wins, as for ipv4Rules. IPv4-mapped
// addresses (::ffff:0:0/96) never reach it: classify unmaps them first.
// Addresses no rule matches are allowed only inside globalUnicast6.
var ipv6Rules = []rule{
	{prefix: netip.MustParsePrefix("::/128"), verdict: refused, reason: "unspecified"},
	{prefix: netip.MustParsePrefix("::1/128"), verdict: privateOnly, reason: "loopback"},
	{prefix: netip.MustParsePrefix("::/96"), verdict: refused, reason: "deprecated ipv4-compatible ipv6"},
	{prefix: netip.MustParsePrefix("64:ff9b::/96"), reason: "nat64", embedded: nat64Embedded},
	{prefix: netip.MustParsePrefix("64:ff9b:1::/48"), reason: "local-use nat64", embedded: localNAT64Embedded},
	{prefix: netip.MustParsePrefix("100::/64"), verdict: refused, reason: "discard-only"},
	{prefix: netip.MustParsePrefix("2001::/32"), reason: "teredo", embedded: teredoEmbedded},
	{prefix: netip.MustParsePrefix("2001:2::/48"), verdict: refused, reason: "benchmarking"},
	{prefix: netip.MustParsePrefix("2001:10::/28"), verdict: refused, reason: "deprecated orchid"},
	{prefix: netip.MustParsePrefix("2001:20::/28"), verdict: refused, reason: "orchid v2"},
	{prefix: netip.MustParsePrefix("2001:db8::/32"), verdict: refused, reason: "documentation"},
	{prefix: netip.MustParsePrefix("2002::/16"), reason: "6to4", embedded: sixToFourEmbedded},
	{prefix: netip.MustParsePrefix("3fff::/20"), verdict: refused, reason: "documentation"},
	{prefix: netip.MustParsePrefix("fe80::/10"), verdict: privateOnly, reason: "link-local"},
	{prefix: netip.MustParsePrefix("fec0::/10"), verdict: refused, reason: "deprecated site-local"},
	{prefix: netip.MustParsePrefix("fc00::/7"), verdict: privateOnly, reason: "unique local address"},
	{prefix: netip.MustParsePrefix("ff00::/8"), verdict: refused, reason: "multicast"},
}

// globalUnicast6 is the only IPv6 block IANA allocates for global unicast;
// the rest of the space is reserved or special-purpose and matched above.
var globalUnicast6 = netip.MustParsePrefix("2000::/3")
