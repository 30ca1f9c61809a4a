package ticketcode_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/ticketcode"
)

// TestOTPVectors checks the RFC 6238 appendix B vectors for HMAC-SHA256
// (8 digits, 30 s steps, the 32-byte ASCII seed).
func TestOTPVectors(t *testing.T) {
	t.Parallel()
	seed := []byte("12345678901234567890123456789012")
	for _, v := range []struct {
		unix int64
		want string
	}{
		{59, "46119246"},
		{1111111109, "68084774"},
		{1111111111, "67062674"},
		{1234567890, "91819424"},
		{2000000000, "90698825"},
		{20000000000, "77737706"},
	} {
		step := ticketcode.DisplayStep(time.Unix(v.unix, 0))
		if got := ticketcode.OTP(seed, step); got != v.want {
			t.Errorf("OTP at %d = %s, want %s", v.unix, got, v.want)
		}
	}
}

func TestDisplayStep(t *testing.T) {
	t.Parallel()
	for unix, want := range map[int64]int64{0: 0, 29: 0, 30: 1, 59: 1, -1: -1, -30: -1, -31: -2} {
		if got := ticketcode.DisplayStep(time.Unix(unix, 0)); got != want {
			t.Errorf("DisplayStep(%d) = %d, want %d", unix, got, want)
		}
	}
}

// displaySetup returns a ticket's display secret and a clock at the start of a step.
func displaySetup(t *testing.T) (secret []byte, start time.Time) {
	t.Helper()
	venueKey := ticketcode.VenueDisplayKey([]byte("server display secret, 32 bytes!"), "venue_demo")
	return ticketcode.DisplaySecret(venueKey, "tkt_1", 1), time.Date(2026, 5, 1, 19, 0, 0, 0, time.UTC)
}

func TestDisplayWindow(t *testing.T) {
	t.Parallel()
	secret, start := displaySetup(t)
	display, validUntil := ticketcode.Display("UT1.CODE", secret, start.Add(5*time.Second))
	if !validUntil.Equal(start.Add(ticketcode.DisplayPeriod)) {
		t.Fatalf("validUntil = %v, want the end of the step %v", validUntil, start.Add(ticketcode.DisplayPeriod))
	}
	code, otp := ticketcode.SplitDisplay(display)
	if code != "UT1.CODE" || len(otp) != ticketcode.DisplayDigits {
		t.Fatalf("SplitDisplay(%q) = %q, %q", display, code, otp)
	}
	step := ticketcode.DisplayStep(start)
	for _, tc := range []struct {
		after time.Duration
		want  error
	}{
		{-30 * time.Second, nil}, // a scanner clock one step behind
		{0, nil},                 // the step it was shown in
		{59 * time.Second, nil},  // one step of skew after
		{60 * time.Second, ticketcode.ErrStaleCode}, // two steps later: a screenshot
		{5 * time.Minute, ticketcode.ErrStaleCode},
		{11 * time.Minute, ticketcode.ErrBadDisplayCode},  // beyond the lookback
		{-31 * time.Second, ticketcode.ErrBadDisplayCode}, // two steps ahead of the scanner
	} {
		got, err := ticketcode.VerifyDisplay(secret, otp, start.Add(tc.after))
		if !errors.Is(err, tc.want) || (err == nil && got != step) {
			t.Errorf("VerifyDisplay %v after = %d, %v; want step %d, %v", tc.after, got, err, step, tc.want)
		}
	}
}

func TestDisplaySecretsDiffer(t *testing.T) {
	t.Parallel()
	server := []byte("server display secret, 32 bytes!")
	venue := ticketcode.VenueDisplayKey(server, "venue_demo")
	now := time.Date(2026, 5, 1, 19, 0, 0, 0, time.UTC)
	otp := func(secret []byte) string {
		_, o := ticketcode.SplitDisplay(must(ticketcode.Display("C", secret, now)))
		return o
	}
	base := otp(ticketcode.DisplaySecret(venue, "tkt_1", 1))
	for name, secret := range map[string][]byte{
		"next generation": ticketcode.DisplaySecret(venue, "tkt_1", 2),
		"other ticket":    ticketcode.DisplaySecret(venue, "tkt_2", 1),
		"other venue":     ticketcode.DisplaySecret(ticketcode.VenueDisplayKey(server, "venue_other"), "tkt_1", 1),
		"other server":    ticketcode.DisplaySecret(ticketcode.VenueDisplayKey([]byte("another server secret"), "venue_demo"), "tkt_1", 1),
	} {
		if _, err := ticketcode.VerifyDisplay(secret, base, now); err == nil {
			t.Errorf("%s: the password of tkt_1 generation 1 verified", name)
		}
	}
}

func must(s string, _ time.Time) string { return s }

func TestSplitDisplay(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][2]string{
		"UT1.ABCDEF.12345678":  {"UT1.ABCDEF", "12345678"},
		"UT1.ABCDEF":           {"UT1.ABCDEF", ""},
		"LEGACYCODE.00000000":  {"LEGACYCODE", "00000000"},
		"LEGACYCODE":           {"LEGACYCODE", ""},
		"UT1.ABCDEF.1234567":   {"UT1.ABCDEF.1234567", ""},
		"UT1.ABCDEF.123456789": {"UT1.ABCDEF.123456789", ""},
		"UT1.ABCDEF.1234567a":  {"UT1.ABCDEF.1234567a", ""},
		".12345678":            {".12345678", ""},
		"":                     {"", ""},
	} {
		code, otp := ticketcode.SplitDisplay(in)
		if code != want[0] || otp != want[1] {
			t.Errorf("SplitDisplay(%q) = %q, %q; want %q, %q", in, code, otp, want[0], want[1])
		}
	}
}

func TestVerifyDisplayMalformed(t *testing.T) {
	t.Parallel()
	secret, start := displaySetup(t)
	for _, otp := range []string{"", "1234567", "123456789", "1234567x", strings.Repeat("٣", 8)} {
		if _, err := ticketcode.VerifyDisplay(secret, otp, start); !errors.Is(err, ticketcode.ErrMalformed) {
			t.Errorf("VerifyDisplay(%q) = %v, want ErrMalformed", otp, err)
		}
	}
}
