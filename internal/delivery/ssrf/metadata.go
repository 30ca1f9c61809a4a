package ssrf

import "net/netip"

// metadataAddrs are cloud instance metadata and credential endpoints. They
// are refused under every Policy: reaching one from a delivery worker can
// leak the credentials of the machine usher runs on. Read-only.
//
// 192.0.0.192 (Oracle Cloud's legacy metadata) needs no entry: all of
// 192.0.0.0/24 is refused.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"), // AWS, GCP, Azure, OCI, DigitalOcean, OpenStack
	netip.MustParseAddr("169.254.170.2"),   // AWS ECS task metadata and credentials
	netip.MustParseAddr("169.254.170.23"),  // AWS EKS Pod Identity agent
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
	netip.MustParseAddr("168.63.129.16"),   // Azure WireServer
	netip.MustParseAddr("fd00:ec2::254"),   // AWS IMDS over IPv6
	netip.MustParseAddr("fd00:ec2::23"),    // AWS EKS Pod Identity agent over IPv6
}

// isMetadata reports whether a, unmapped and without zone, is a metadata
// endpoint.
func isMetadata(a netip.Addr) bool {
	for _, m := range metadataAddrs {
		if a == m {
			return true
		}
	}
	return false
}
