package webhook

import (
	"strconv"
	"time"

	"github.com/usherhq/usher"
)

// maxTimestampDigits bounds a signed timestamp: 12 digits of unix seconds
// reach the year 33658.
const maxTimestampDigits = 12

// parseUnix parses a signed timestamp: 1 to 12 ASCII digits of unix seconds,
// no sign, no spaces. A scheme signs the canonical decimal form of the
// result, as the providers' own libraries do.
func parseUnix(s string) (int64, bool) {
	if s == "" || len(s) > maxTimestampDigits {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// checkTolerance returns a usher.CodeTimestampTolerance error when ts lies
// more than tolerance before or after now; tolerance <= 0 means def.
func checkTolerance(ts, now time.Time, tolerance, def time.Duration) error {
	if tolerance <= 0 {
		tolerance = def
	}
	d := now.Sub(ts) // saturates instead of overflowing
	switch {
	case d > tolerance:
		return usher.Errorf(usher.CodeTimestampTolerance, "timestamp is older than the %s tolerance", tolerance)
	case d < -tolerance:
		return usher.Errorf(usher.CodeTimestampTolerance, "timestamp is further in the future than the %s tolerance", tolerance)
	}
	return nil
}
