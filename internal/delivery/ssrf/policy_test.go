package ssrf

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// expect is the outcome of CheckAddr for one address under both policies.
type expect int

const (
	public  expect = iota // allowed under both policies
	private               // refused by default, allowed with AllowPrivate
	never                 // refused under both policies
)

func (e expect) String() string {
	return [...]string{"public", "private", "never"}[e]
}

var checkAddrCases = []struct {
	addr string
	want expect
}{
	// Globally routable.
	{"8.8.8.8", public},
	{"1.1.1.1", public},
	{"93.184.215.14", public},
	{"100.63.255.255", public},  // just below 100.64.0.0/10
	{"100.128.0.0", public},     // just above 100.64.0.0/10
	{"172.15.255.255", public},  // just below 172.16.0.0/12
	{"172.32.0.0", public},      // just above 172.16.0.0/12
	{"192.167.255.255", public}, // just below 192.168.0.0/16
	{"169.253.255.255", public}, // just below 169.254.0.0/16
	{"198.17.255.255", public},  // just below 198.18.0.0/15
	{"198.20.0.0", public},      // just above 198.18.0.0/15
	{"223.255.255.255", public}, // just below multicast
	{"1.0.0.0", public},         // just above 0.0.0.0/8
	{"2606:4700:4700::1111", public},
	{"2001:4860:4860::8888", public},
	{"2a00:1450:4001:82b::200e", public},
	{"::ffff:8.8.8.8", public},
	{"64:ff9b::808:808", public},                     // NAT64 of 8.8.8.8
	{"64:ff9b:1::808:808", public},                   // local-use NAT64, /96 layout
	{"2002:808:808::1", public},                      // 6to4 of 8.8.8.8
	{"2001:0:4136:e378:8000:63bf:f7f7:f7f7", public}, // Teredo, server 65.54.227.120, client 8.8.8.8

	// Private: loopback, RFC 1918, CGNAT, link-local, ULA.
	{"127.0.0.1", private},
	{"127.255.255.254", private},
	{"10.0.0.1", private},
	{"10.255.255.255", private},
	{"172.16.0.1", private},
	{"172.31.255.255", private},
	{"192.168.1.1", private},
	{"100.64.0.1", private},
	{"100.127.255.255", private},
	{"169.254.0.1", private},
	{"169.254.169.253", private}, // Amazon DNS: link-local, not a credential endpoint
	{"::1", private},
	{"fe80::1", private},
	{"fe80::1%eth0", private},
	{"febf:ffff::1", private},
	{"fc00::1", private},
	{"fd12:3456:789a::1", private},
	{"fd00::2", private},
	{"::ffff:127.0.0.1", private},
	{"::ffff:10.1.2.3", private},
	{"::ffff:192.168.0.1", private},

	// Cloud metadata: refused even with AllowPrivate.
	{"169.254.169.254", never},
	{"169.254.170.2", never},
	{"169.254.170.23", never},
	{"100.100.100.200", never},
	{"168.63.129.16", never},
	{"fd00:ec2::254", never},
	{"fd00:ec2::254%eth0", never},
	{"fd00:ec2::23", never},
	{"::ffff:169.254.169.254", never},
	{"::ffff:a9fe:a9fe", never},
	{"64:ff9b::a9fe:a9fe", never},
	{"2002:a9fe:a9fe::", never},

	// Never routable destinations.
	{"0.0.0.0", never},
	{"0.1.2.3", never},
	{"::", never},
	{"::ffff:0.0.0.0", never},
	{"224.0.0.1", never},
	{"239.255.255.250", never},
	{"255.255.255.255", never},
	{"240.0.0.1", never},
	{"192.0.0.1", never},
	{"192.0.0.192", never}, // Oracle Cloud legacy metadata
	{"192.0.2.1", never},
	{"198.51.100.7", never},
	{"203.0.113.9", never},
	{"198.18.0.1", never},
	{"198.19.255.255", never},
	{"192.88.99.1", never},
	{"ff02::1", never},
	{"ff05::1:3", never},
	{"2001:db8::1", never},
	{"3fff::1", never},
	{"2001:2::1", never},
	{"2001:10::1", never},
	{"2001:20::1", never},
	{"fec0::1", never},
	{"100::1", never},
	{"::2", never},
	{"::127.0.0.1", never}, // IPv4-compatible
	{"::8.8.8.8", never},   // IPv4-compatible, even of a public address
	{"5f00::1", never},     // outside 2000::/3
	{"4000::1", never},     // outside 2000::/3

	// Translation and tunnelling prefixes embedding non-global IPv4.
	{"64:ff9b::7f00:1", never},
	{"64:ff9b::a00:1", never},
	{"64:ff9b::c0a8:101", never},
	{"64:ff9b:1::7f00:1", never},
	{"64:ff9b:1:7f00:0:100:808:808", never}, // not the /96 layout
	{"2002:7f00:1::", never},
	{"2002:a00:1::1", never},
	{"2001:0:4136:e378:8000:63bf:80ff:fffe", never}, // Teredo client 127.0.0.1
	{"2001:0:a00:1:8000:63bf:f7f7:f7f7", never},     // Teredo server 10.0.0.1
}

func TestCheckAddr(t *testing.T) {
	if n := len(checkAddrCases); n < 40 {
		t.Fatalf("only %d cases", n)
	}
	for _, tc := range checkAddrCases {
		a := netip.MustParseAddr(tc.addr)
		for _, allowPrivate := range []bool{false, true} {
			err := Policy{AllowPrivate: allowPrivate}.CheckAddr(a)
			wantErr := tc.want == never || tc.want == private && !allowPrivate
			switch {
			case wantErr && err == nil:
				t.Errorf("AllowPrivate=%v CheckAddr(%s) = nil, want refusal (%s)", allowPrivate, tc.addr, tc.want)
			case !wantErr && err != nil:
				t.Errorf("AllowPrivate=%v CheckAddr(%s) = %v, want nil (%s)", allowPrivate, tc.addr, err, tc.want)
			case err != nil && !errors.Is(err, ErrForbiddenDestination):
				t.Errorf("AllowPrivate=%v CheckAddr(%s) = %v, does not wrap ErrForbiddenDestination", allowPrivate, tc.addr, err)
			case err != nil && !strings.Contains(err.Error(), a.String()):
				t.Errorf("AllowPrivate=%v CheckAddr(%s) = %q, does not name the address", allowPrivate, tc.addr, err)
			}
		}
	}
}

// An IPv4-mapped address is judged exactly like the IPv4 address it maps.
func TestCheckAddrMappedMatchesIPv4(t *testing.T) {
	for _, tc := range checkAddrCases {
		a := netip.MustParseAddr(tc.addr)
		if !a.Is4() {
			continue
		}
		mapped := netip.AddrFrom16(a.As16())
		for _, p := range []Policy{{}, {AllowPrivate: true}} {
			if got, want := p.CheckAddr(mapped) == nil, p.CheckAddr(a) == nil; got != want {
				t.Errorf("%+v: CheckAddr(%s) allowed=%v but CheckAddr(%s) allowed=%v", p, mapped, got, a, want)
			}
		}
	}
}

func TestCheckAddrInvalid(t *testing.T) {
	for _, p := range []Policy{{}, {AllowPrivate: true}} {
		if err := p.CheckAddr(netip.Addr{}); !errors.Is(err, ErrForbiddenDestination) {
			t.Errorf("%+v: CheckAddr(zero Addr) = %v, want ErrForbiddenDestination", p, err)
		}
	}
}

func TestCheckAddrErrorMessage(t *testing.T) {
	err := Policy{}.CheckAddr(netip.MustParseAddr("10.0.0.1"))
	const want = "destination address not allowed: 10.0.0.1 (private network, rfc 1918; private destinations are disabled)"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
	err = Policy{AllowPrivate: true}.CheckAddr(netip.MustParseAddr("64:ff9b::a9fe:a9fe"))
	const want6 = "destination address not allowed: 64:ff9b::a9fe:a9fe (nat64 embedding 169.254.169.254, cloud metadata endpoint)"
	if err == nil || err.Error() != want6 {
		t.Errorf("err = %v, want %q", err, want6)
	}
}
