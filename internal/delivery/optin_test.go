package delivery

import (
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/delivery/ssrf"
)

// TestPrivateDestinationRefusalNamesTheOptIn: a subscription to a local
// receiver is refused with the setting that would allow it; an address the
// opt-in does not open (cloud metadata) is refused without that hint.
func TestPrivateDestinationRefusalNamesTheOptIn(t *testing.T) {
	t.Parallel()
	s := &Service{policy: ssrf.Policy{}}
	for _, u := range []string{"http://127.0.0.1:3000/hook", "http://localhost:3000/hook", "http://10.0.0.5/hook"} {
		err := s.validateURL(u)
		for _, name := range []string{"--allow-private-destinations", "USHER_ALLOW_PRIVATE_DESTINATIONS=true", "allow_private_destinations: true", "usher listen"} {
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s: %v, want a refusal naming %s", u, err, name)
			}
		}
	}
	if err := s.validateURL("http://169.254.169.254/latest"); err == nil || strings.Contains(err.Error(), "USHER_ALLOW_PRIVATE") {
		t.Errorf("metadata address: %v, want a refusal without the opt-in hint", err)
	}
	allowed := &Service{policy: ssrf.Policy{AllowPrivate: true}}
	if err := allowed.validateURL("http://127.0.0.1:3000/hook"); err != nil {
		t.Errorf("with the opt-in: %v", err)
	}
}
