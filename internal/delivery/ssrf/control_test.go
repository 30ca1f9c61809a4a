package ssrf

import (
	"errors"
	"testing"
)

func TestControl(t *testing.T) {
	cases := []struct {
		network, address string
		allowPrivate     bool
		wantErr          bool
	}{
		{"tcp4", "8.8.8.8:443", false, false},
		{"tcp6", "[2606:4700:4700::1111]:443", false, false},
		{"tcp4", "127.0.0.1:8080", false, true},
		{"tcp4", "127.0.0.1:8080", true, false},
		{"tcp6", "[::1]:8080", false, true},
		{"tcp6", "[::1]:8080", true, false},
		{"tcp6", "[fe80::1%eth0]:80", false, true},
		{"tcp6", "[fe80::1%eth0]:80", true, false},
		{"tcp6", "[::ffff:127.0.0.1]:80", false, true},
		{"tcp4", "10.0.0.1:80", false, true},
		{"tcp4", "100.64.0.1:80", false, true},
		{"tcp4", "0.0.0.0:80", true, true},
		{"tcp6", "[::]:80", true, true},
		{"tcp6", "[64:ff9b::7f00:1]:80", true, true},
		{"tcp6", "[2002:7f00:1::]:80", true, true},
		{"tcp6", "[::127.0.0.1]:80", true, true},
		{"udp4", "10.0.0.1:53", false, true},
		{"unix", "/run/docker.sock", true, true},
		{"ip4:icmp", "8.8.8.8", true, true},
		{"tcp4", "localhost:80", true, true}, // never a name: the dialer resolves first
		{"tcp4", "2130706433:80", true, true},
		{"tcp4", "127.0.0.1", true, true}, // no port
		{"tcp4", "", true, true},
	}
	for _, tc := range cases {
		err := Policy{AllowPrivate: tc.allowPrivate}.Control(tc.network, tc.address, nil)
		if (err != nil) != tc.wantErr {
			t.Errorf("AllowPrivate=%v Control(%q, %q) = %v, want error %v", tc.allowPrivate, tc.network, tc.address, err, tc.wantErr)
		}
		if err != nil && !errors.Is(err, ErrForbiddenDestination) {
			t.Errorf("Control(%q, %q) = %v, does not wrap ErrForbiddenDestination", tc.network, tc.address, err)
		}
	}
}

// The metadata endpoints are refused by Control even with AllowPrivate,
// without dialling anything.
func TestControlMetadataAlwaysRefused(t *testing.T) {
	for _, address := range []string{
		"169.254.169.254:80",
		"169.254.170.2:80",
		"169.254.170.23:80",
		"100.100.100.200:80",
		"168.63.129.16:80",
		"[fd00:ec2::254]:80",
		"[fd00:ec2::23]:80",
		"[::ffff:169.254.169.254]:80",
	} {
		for _, p := range []Policy{{}, {AllowPrivate: true}} {
			network := "tcp4"
			if address[0] == '[' {
				network = "tcp6"
			}
			if err := p.Control(network, address, nil); !errors.Is(err, ErrForbiddenDestination) {
				t.Errorf("%+v: Control(%q, %q) = %v, want ErrForbiddenDestination", p, network, address, err)
			}
		}
	}
}
