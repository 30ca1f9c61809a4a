package ssrf

import (
	"fmt"
	"net/netip"
	"syscall"
)

// Control is a net.Dialer Control hook. The dialer calls it after name
// resolution and before connect, once per attempted address, with address
// in "ip:port" form; refusing there means no packet ever leaves for a
// forbidden destination, and DNS rebinding cannot pass because the address
// judged is the one actually dialled. It refuses non-IP networks and
// addresses it cannot parse. Every error wraps ErrForbiddenDestination.
func (p Policy) Control(network, address string, _ syscall.RawConn) error {
	switch network {
	case "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6":
	default:
		return fmt.Errorf("%w: %s via network %q, not an ip network", ErrForbiddenDestination, address, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse dialled address %q: %w", ErrForbiddenDestination, address, err)
	}
	return p.CheckAddr(ap.Addr())
}
