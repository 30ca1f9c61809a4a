package telemetry

import (
	"slices"
	"testing"
)

func TestLatencyBucketsHoldTheTargetsAsBounds(t *testing.T) {
	t.Parallel()
	b := latencyBuckets()
	if !slices.IsSorted(b) || len(slices.Compact(slices.Clone(b))) != len(b) {
		t.Fatalf("bounds not strictly increasing: %v", b)
	}
	// The top bound must lie above the alert thresholds of
	// deploy/prometheus (processing lag p99 > 30 s): histogram_quantile
	// reports a quantile past it as the bound itself.
	if b[0] != 0.0001 || b[len(b)-1] != 1000 {
		t.Errorf("span %v to %v, want 0.0001 to 1000", b[0], b[len(b)-1])
	}
	for _, want := range []float64{0.001, 0.01, 0.1, 1, 10, 100} {
		if !slices.Contains(b, want) {
			t.Errorf("%v s is not a bound: %v", want, b)
		}
	}
	for i := 1; i < len(b); i++ {
		if r := b[i] / b[i-1]; r < 1.45 || r > 1.49 {
			t.Errorf("bucket %v..%v is %.3f× wide, want about 1.468×", b[i-1], b[i], r)
		}
	}
}
