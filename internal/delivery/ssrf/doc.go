// Package ssrf keeps outbound webhook deliveries away from internal networks.
//
// A subscriber controls the URL usher posts to, so without a guard a
// subscriber could make usher request its own admin API, a database on the
// private network or the cloud metadata service that hands out credentials
// (server-side request forgery). A Policy decides which IP addresses a
// delivery may reach; NewClient returns an *http.Client that enforces it.
//
// # Judging the dialled address
//
// The guard never parses hostnames. Policy.Control is installed as the
// net.Dialer Control hook, so it runs after name resolution, once per
// connection attempt, with the exact IP the socket is about to connect to,
// and before connect(2) sends a single packet. Consequences:
//
//   - DNS rebinding cannot pass: a name that resolved to a public address
//     during validation and to 127.0.0.1 at delivery time is refused at
//     delivery time, because only the dialled address counts.
//   - Every resolved address of a name is judged separately; a name with one
//     public and one private address can only reach the public one.
//   - Hosts written in decimal, octal or hexadecimal (http://2130706433/,
//     http://0177.0.0.1/, http://0x7f.1/, http://127.1/) cannot slip through.
//     Go's own resolver rejects the all-digit forms as invalid names and
//     sends the hexadecimal ones to DNS like any name; the C library's
//     inet_aton turns all of them into 127.0.0.1. Whatever the resolver
//     makes of them, the guard judges the address actually dialled, never
//     the spelling in the URL.
//   - IPv4-mapped IPv6 (::ffff:127.0.0.1) is unmapped and judged as the IPv4
//     address the kernel really connects to.
//
// NewClient also never follows redirects (a public endpoint answering 302
// to http://169.254.169.254/ gets its 302 back, not the metadata) and never
// takes a proxy from the environment (HTTP_PROXY would otherwise make the
// proxy, not the guard, choose the destination).
//
// # What is refused
//
// Always refused, whatever the Policy: unspecified and "this network"
// (0.0.0.0/8, ::), multicast (224.0.0.0/4, ff00::/8), limited broadcast and
// reserved (255.255.255.255, 240.0.0.0/4), IETF protocol assignments
// (192.0.0.0/24), documentation (192.0.2.0/24, 198.51.100.0/24,
// 203.0.113.0/24, 2001:db8::/32, 3fff::/20), benchmarking (198.18.0.0/15,
// 2001:2::/48), the deprecated 6to4 relay anycast (192.88.99.0/24),
// IPv4-compatible IPv6 (::a.b.c.d), site-local (fec0::/10), discard-only
// (100::/64), ORCHID (2001:10::/28, 2001:20::/28), IPv6 outside the global
// unicast block 2000::/3 (unassigned, hence not globally routable), and the
// cloud metadata and credential endpoints 169.254.169.254, 169.254.170.2,
// 169.254.170.23, 100.100.100.200, 168.63.129.16, fd00:ec2::254 and
// fd00:ec2::23.
//
// Refused unless Policy.AllowPrivate: loopback (127.0.0.0/8, ::1), RFC 1918
// (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16), shared address space / CGNAT
// (100.64.0.0/10), link-local (169.254.0.0/16, fe80::/10) and unique local
// (fc00::/7). The metadata endpoints inside these ranges stay refused.
//
// Addresses that embed an IPv4 address for translation or tunnelling are
// judged by the embedded address, which must be globally allowed even when
// AllowPrivate is set: NAT64 (64:ff9b::/96, and 64:ff9b:1::/48 in its /96
// layout only), 6to4 (2002::/16) and Teredo (2001::/32, both the server and
// the obfuscated client address).
//
// Everything else is allowed.
package ssrf
