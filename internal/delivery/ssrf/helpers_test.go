package ssrf

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"syscall"
	"testing"
)

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

// Accept accepts and counts one connection.
func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// countingServer is an httptest.Server on a counting loopback listener that
// also counts the requests it serves.
type countingServer struct {
	*httptest.Server
	ln       *countingListener
	requests atomic.Int64
}

// startCountingServer serves h on a new listener on network and address,
// which must be loopback; the server is closed when the test ends.
func startCountingServer(t *testing.T, network, address string, h http.Handler) (*countingServer, error) {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, err
	}
	s := &countingServer{ln: &countingListener{Listener: ln}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		h.ServeHTTP(w, r)
	}))
	srv.Listener.Close()
	srv.Listener = s.ln
	srv.Start()
	s.Server = srv
	t.Cleanup(srv.Close)
	return s, nil
}

// mustStartCountingServer is startCountingServer on 127.0.0.1:0.
func mustStartCountingServer(t *testing.T, h http.Handler) *countingServer {
	t.Helper()
	s, err := startCountingServer(t, "tcp4", "127.0.0.1:0", h)
	if err != nil {
		t.Fatalf("listen on 127.0.0.1: %v", err)
	}
	return s
}

// port returns the server's port.
func (s *countingServer) port() string {
	u, err := url.Parse(s.URL)
	if err != nil {
		panic(err)
	}
	return u.Port()
}

// okHandler answers 200 "ok".
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	_, _ = w.Write([]byte("ok"))
})

// fakeDNS is a UDP DNS server on 127.0.0.1 that answers every A query with
// 127.0.0.1 and every AAAA query with ::1, like a rebinding attacker's
// authoritative server. Tests resolve names through it so that no query
// ever reaches the machine's real (non-loopback) nameserver.
type fakeDNS struct {
	conn    net.PacketConn
	queries atomic.Int64
}

// startFakeDNS starts a fakeDNS that stops when the test ends.
func startFakeDNS(t *testing.T) *fakeDNS {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen udp on 127.0.0.1: %v", err)
	}
	d := &fakeDNS{conn: conn}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			d.queries.Add(1)
			if resp := dnsAnswer(buf[:n]); resp != nil {
				_, _ = conn.WriteTo(resp, from)
			}
		}
	}()
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
	return d
}

// resolver returns a pure Go resolver whose every query goes to d, whatever
// /etc/resolv.conf says. /etc/hosts is still consulted first.
func (d *fakeDNS) resolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dialer net.Dialer
			return dialer.DialContext(ctx, "udp4", d.conn.LocalAddr().String())
		},
	}
}

// dnsAnswer builds the response to the single-question query q, or returns
// nil for a malformed query.
func dnsAnswer(q []byte) []byte {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:6]) != 1 {
		return nil
	}
	end := 12
	for end < len(q) && q[end] != 0 {
		end += int(q[end]) + 1
	}
	end += 1 + 4 // root label, QTYPE, QCLASS
	if end > len(q) {
		return nil
	}
	var rdata []byte
	switch binary.BigEndian.Uint16(q[end-4 : end-2]) {
	case 1: // A
		rdata = []byte{127, 0, 0, 1}
	case 28: // AAAA
		rdata = net.IPv6loopback
	}
	resp := append([]byte{}, q[0:2]...)         // ID
	resp = append(resp, 0x85, 0x80)             // QR, AA, RD, RA, NOERROR
	resp = append(resp, 0, 1, 0, 0, 0, 0, 0, 0) // QDCOUNT 1, ANCOUNT set below
	if rdata != nil {
		resp[7] = 1
	}
	resp = append(resp, q[12:end]...)
	if rdata != nil {
		resp = append(resp, 0xc0, 12)        // name: pointer to the question
		resp = append(resp, q[end-4:end]...) // TYPE, CLASS
		resp = append(resp, 0, 0, 0, 1)      // TTL 1s
		resp = append(resp, 0, byte(len(rdata)))
		resp = append(resp, rdata...)
	}
	return resp
}

// errWouldDial is returned by safetyNet when the guard let an address
// through: the test then fails instead of connecting anywhere.
var errWouldDial = errors.New("test safety net: the guard allowed this address; connect stopped")

// safetyNet wraps p.Control for targets off the loopback interface: it
// returns the guard's refusal, and errWouldDial in place of a connection if
// the guard wrongly allows the address, so no packet ever leaves.
func safetyNet(p Policy) func(string, string, syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		if err := p.Control(network, address, c); err != nil {
			return err
		}
		return errWouldDial
	}
}
