package drill

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"time"
)

// step kinds of a venue's script.
const (
	stepPay = iota
	stepRefund
	stepScan
)

// Presented codes other than a ticket's.
const (
	codeTicket = iota
	codeUnknown
	codeInvalid
)

// step is one thing that happens at a venue, at a simulated time after the
// doors open (negative: before, in the presale).
type step struct {
	at     time.Duration
	kind   int
	order  int // pay, refund, scan of a ticket
	ticket int // scan: which ticket of the order
	device int // scan: which gate
	code   int // scan: codeTicket, codeUnknown or codeInvalid
	n      int // position in the script; names the scan's nonce
}

// script is what happens at one venue: its orders and the steps in time
// order. The outage venue and its twin play the same script.
type script struct {
	quantities []int
	steps      []step
}

// newScript draws a venue's script: a presale, sales while the doors are
// open, refunds, every holder arriving once at a random gate (half the
// holders of a refunded order soon after the refund, trying it anyway),
// some presenting the same code again at another gate (a shared
// screenshot), and a few unknown and malformed codes. Holders of tickets bought during the
// outage arrive after it: nobody can be admitted offline with a ticket the
// gate has never heard of, and the twin must see the same arrivals.
func newScript(cfg Config, rng *rand.Rand) script {
	var sc script
	outageEnd := cfg.OutageStart + cfg.Outage
	uniform := func(from, to time.Duration) time.Duration {
		if to <= from {
			return from
		}
		return from + time.Duration(rng.Int64N(int64(to-from)))
	}
	for o := range cfg.Orders {
		qty := 1 + rng.IntN(3)
		sc.quantities = append(sc.quantities, qty)
		paidAt := -time.Minute
		if rng.Float64() >= cfg.Presale {
			paidAt = uniform(0, cfg.Doors*3/4)
		}
		sc.steps = append(sc.steps, step{at: paidAt, kind: stepPay, order: o})
		refundAt := time.Duration(-1)
		if rng.Float64() < cfg.RefundRatio {
			refundAt = uniform(max(paidAt, 0)+time.Minute, cfg.Doors)
			sc.steps = append(sc.steps, step{at: refundAt, kind: stepRefund, order: o})
		}
		for tk := range qty {
			earliest := max(paidAt, 0) + time.Minute
			if paidAt >= cfg.OutageStart && paidAt < outageEnd {
				earliest = max(earliest, outageEnd+30*time.Second)
			}
			at := uniform(earliest, cfg.Doors)
			if refundAt >= 0 && rng.IntN(2) == 0 {
				// Half the holders of a refunded order try it anyway, soon after.
				at = max(earliest, uniform(refundAt+30*time.Second, refundAt+10*time.Minute))
			}
			device := rng.IntN(cfg.Scanners)
			sc.steps = append(sc.steps, step{at: at, kind: stepScan, order: o, ticket: tk, device: device})
			if rng.Float64() < cfg.DuplicateRatio && cfg.Scanners > 1 {
				again := at + uniform(30*time.Second, 5*time.Minute)
				other := (device + 1 + rng.IntN(cfg.Scanners-1)) % cfg.Scanners
				sc.steps = append(sc.steps, step{at: again, kind: stepScan, order: o, ticket: tk, device: other})
			}
		}
	}
	for range max(cfg.Orders/25, 1) {
		sc.steps = append(sc.steps, step{at: uniform(0, cfg.Doors), kind: stepScan, code: codeUnknown, device: rng.IntN(cfg.Scanners)})
		sc.steps = append(sc.steps, step{at: uniform(0, cfg.Doors), kind: stepScan, code: codeInvalid, device: rng.IntN(cfg.Scanners)})
	}
	slices.SortStableFunc(sc.steps, func(a, b step) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.kind, b.kind) // at one instant, money moves before people do
	})
	for i := range sc.steps {
		sc.steps[i].n = i
	}
	return sc
}
