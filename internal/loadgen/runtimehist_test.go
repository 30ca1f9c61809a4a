package loadgen

import (
	"math"
	"runtime"
	"testing"
)

func TestHistogramQuantileInterpolatesInsideTheBucket(t *testing.T) {
	t.Parallel()
	bounds := []float64{math.Inf(-1), 0, 1, 2, 4, math.Inf(1)}
	counts := []uint64{0, 10, 0, 10, 0} // ten in [0,1), ten in [2,4)
	for _, c := range []struct{ q, want float64 }{
		{0.25, 0.5}, // halfway through the first ten
		{0.5, 1},    // the last of them: the top of its bucket
		{0.75, 3},   // halfway through [2,4)
		{1, 4},
	} {
		if got := histogramQuantile(c.q, bounds, counts, 20); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("q%.2f = %v, want %v", c.q, got, c.want)
		}
	}
	if got := histogramQuantile(0.5, bounds, []uint64{0, 0, 0, 0, 3}, 3); got != 4 {
		t.Errorf("all above the last finite bound: q0.5 = %v, want 4 (clamped)", got)
	}
	if got := histogramQuantile(0.5, bounds, make([]uint64, 5), 0); !math.IsNaN(got) {
		t.Errorf("empty: %v, want NaN", got)
	}
}

func TestRuntimeQuantilesSeeOnlyWhatHappenedBetween(t *testing.T) {
	t.Parallel()
	before := ReadRuntime(GCPauses, SchedLatencies)
	if len(before) != 2 {
		t.Fatalf("read %d of 2 runtime histograms", len(before))
	}
	again := ReadRuntime(GCPauses)
	// A snapshot against itself observed nothing.
	if q := RuntimeQuantiles(again, again, GCPauses, 0.99); !math.IsNaN(q[0]) {
		t.Errorf("nothing observed: p99 = %v, want NaN", q[0])
	}
	runtime.GC()
	after := ReadRuntime(GCPauses, SchedLatencies)
	q := RuntimeQuantiles(before, after, GCPauses, 0.5, 0.99)
	// A forced collection stops the world twice; its pauses are real and
	// short of a second on any machine that runs the tests.
	if math.IsNaN(q[0]) || q[0] <= 0 || q[1] >= 1 || q[0] > q[1] {
		t.Errorf("GC pause p50, p99 after runtime.GC = %v; want 0 < p50 ≤ p99 < 1 s", q)
	}
	if q := RuntimeQuantiles(before, after, "/no/such:seconds", 0.5); !math.IsNaN(q[0]) {
		t.Errorf("an unknown histogram: %v, want NaN", q[0])
	}
}
