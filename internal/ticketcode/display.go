package ticketcode

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Display codes defeat screenshots: the holder's app shows the ticket code
// followed by a one-time password that changes every DisplayPeriod (RFC 6238
// TOTP with HMAC-SHA256). A gate accepts the password of the current step
// and of DisplaySkew steps either side, and each step once.
const (
	DisplayPeriod = 30 * time.Second
	DisplayDigits = 8
	DisplaySkew   = 1
	// DisplayLookback is how many steps before the window a password is
	// still recognised, to tell a stale screenshot (ErrStaleCode) from a
	// password that was never issued (ErrBadDisplayCode). It bounds the
	// HMACs a refused password costs.
	DisplayLookback = 20
)

// Errors of display codes.
var (
	// ErrStaleCode: the password belongs to a step before the window.
	ErrStaleCode = errors.New("display code is stale")
	// ErrBadDisplayCode: the password matches no recent step.
	ErrBadDisplayCode = errors.New("display code does not match")
	// ErrReplayedCode: the password's step was already used at another
	// scan. The check needs a record of used steps, so this package only
	// names the error; the online check keeps the record.
	ErrReplayedCode = errors.New("display code already used")
)

// VenueDisplayKey derives a venue's display key from the server's display
// secret. The venue's scanners may hold it to check display codes offline;
// it reveals nothing about other venues' codes.
func VenueDisplayKey(serverKey []byte, venueID string) []byte {
	m := hmac.New(sha256.New, serverKey)
	m.Write([]byte("usher display venue v1\x00"))
	m.Write([]byte(venueID))
	return m.Sum(nil)
}

// DisplaySecret derives the TOTP secret of one ticket generation from its
// venue's display key, so nothing per ticket is stored and a transfer
// (a new generation) changes every password.
func DisplaySecret(venueKey []byte, ticketID string, generation int) []byte {
	m := hmac.New(sha256.New, venueKey)
	m.Write([]byte("usher display ticket v1\x00"))
	m.Write([]byte(ticketID))
	m.Write([]byte{0})
	m.Write([]byte(strconv.Itoa(generation)))
	return m.Sum(nil)
}

// DisplayStep returns the TOTP time step of t: whole periods since the Unix epoch.
func DisplayStep(t time.Time) int64 {
	s := t.Unix()
	p := int64(DisplayPeriod / time.Second)
	if s < 0 && s%p != 0 {
		return s/p - 1
	}
	return s / p
}

// OTP returns the password of a step: RFC 6238 (HOTP dynamic truncation of
// HMAC-SHA256 over the big-endian step), DisplayDigits decimal digits.
func OTP(secret []byte, step int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	m := hmac.New(sha256.New, secret)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	s := strconv.FormatUint(uint64(v%100_000_000), 10)
	return strings.Repeat("0", DisplayDigits-len(s)) + s
}

// Display returns what the holder's app shows at now: the ticket code, a
// '.', and the password of now's step; validUntil is the end of the step,
// when the app should fetch or compute the next one.
func Display(code string, secret []byte, now time.Time) (display string, validUntil time.Time) {
	step := DisplayStep(now)
	validUntil = time.Unix((step+1)*int64(DisplayPeriod/time.Second), 0).UTC()
	return code + "." + OTP(secret, step), validUntil
}

// SplitDisplay splits what a scanner read into the ticket code and the
// password; otp is "" when the text carries none (a static code).
func SplitDisplay(presented string) (code, otp string) {
	i := strings.LastIndexByte(presented, '.')
	if i <= 0 || !isOTP(presented[i+1:]) {
		return presented, ""
	}
	return presented[:i], presented[i+1:]
}

func isOTP(s string) bool {
	if len(s) != DisplayDigits {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// VerifyDisplay checks a password against secret at now and returns its
// step. Inside the window (DisplaySkew steps either side of now) it
// succeeds; a password of one of the DisplayLookback steps before the window
// is ErrStaleCode; anything else is ErrBadDisplayCode, or ErrMalformed when
// otp is not DisplayDigits digits. The caller must still refuse a step that
// was already used (ErrReplayedCode).
func VerifyDisplay(secret []byte, otp string, now time.Time) (step int64, err error) {
	if !isOTP(otp) {
		return 0, ErrMalformed
	}
	n := DisplayStep(now)
	// Every step of the window is compared, in constant time, so the timing
	// does not tell which one matched.
	matched, found := int64(0), false
	for s := n - DisplaySkew; s <= n+DisplaySkew; s++ {
		if hmac.Equal([]byte(OTP(secret, s)), []byte(otp)) && !found {
			matched, found = s, true
		}
	}
	if found {
		return matched, nil
	}
	for s := n - DisplaySkew - 1; s >= n-DisplaySkew-DisplayLookback; s-- {
		if hmac.Equal([]byte(OTP(secret, s)), []byte(otp)) {
			return 0, ErrStaleCode
		}
	}
	return 0, ErrBadDisplayCode
}
