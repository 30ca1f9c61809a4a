package ticketcode_test

import (
	"testing"

	"github.com/usherhq/usher/internal/ticketcode"
)

// FuzzVerify checks that Verify never panics and that only genuinely signed
// codes verify: Ed25519 signatures are deterministic and the encoding is
// canonical, so a code that verifies must be exactly what the signing key
// issues for its claims.
func FuzzVerify(f *testing.F) {
	keys := []ticketcode.Key{fixedKey("1", 1, true), fixedKey("2", 2, true)}
	signers := []*ticketcode.Keyring{mustKeyring(f, keys[0]), mustKeyring(f, keys[1])}
	retired := keys[0]
	retired.Active = false
	ring := mustKeyring(f, retired, keys[1])
	for _, s := range signers {
		f.Add(mustIssue(f, s, claims))
		f.Add(mustIssue(f, s, ticketcode.Claims{TicketID: "t", ShowID: "s", VenueID: "v", Generation: 127}))
	}
	f.Add(mustIssue(f, mustKeyring(f, fixedKey("3", 3, true)), claims))
	f.Add("UT1.")
	f.Add("UT1.AAAAAAAA")
	f.Add("JBSWY3DPEHPK3PXP")
	f.Fuzz(func(t *testing.T, code string) {
		c, err := ring.Verify(code)
		if err != nil {
			return
		}
		id, err := ticketcode.KeyID(code)
		if err != nil {
			t.Fatalf("KeyID of a verified code: %v", err)
		}
		signer := signers[0]
		if id == "2" {
			signer = signers[1]
		}
		if want := mustIssue(t, signer, c); want != code {
			t.Fatalf("Verify accepted %q for %+v, but key %s issues %q", code, c, id, want)
		}
	})
}
