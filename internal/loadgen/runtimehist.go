package loadgen

import (
	"math"
	"runtime/metrics"
)

// Runtime histograms of this process, read at the runtime's own resolution.
// The same histograms on /metrics are cut to one bucket a decade by the
// Prometheus Go collector, too coarse to tell a 1 ms pause from a 9 ms one;
// a load run in the same process as usher reads them here instead.
const (
	// SchedLatencies is how long goroutines waited runnable for a core.
	SchedLatencies = "/sched/latencies:seconds"
	// GCPauses is how long the world was stopped for the collector.
	GCPauses = "/sched/pauses/total/gc:seconds"
)

// RuntimeSnapshot holds runtime histograms read at one moment.
type RuntimeSnapshot map[string]*metrics.Float64Histogram

// ReadRuntime reads the named runtime histograms of this process.
func ReadRuntime(names ...string) RuntimeSnapshot {
	samples := make([]metrics.Sample, len(names))
	for i, n := range names {
		samples[i].Name = n
	}
	metrics.Read(samples)
	snap := RuntimeSnapshot{}
	for _, s := range samples {
		if s.Value.Kind() == metrics.KindFloat64Histogram {
			snap[s.Name] = s.Value.Float64Histogram()
		}
	}
	return snap
}

// RuntimeQuantiles returns the quantiles of what a runtime histogram
// observed between two snapshots, interpolated inside the runtime's buckets
// (four to a power of two); NaN where it observed nothing.
func RuntimeQuantiles(before, after RuntimeSnapshot, name string, qs ...float64) []float64 {
	out := make([]float64, len(qs))
	a, b := after[name], before[name]
	if a == nil || b == nil || len(a.Counts) != len(b.Counts) {
		for i := range out {
			out[i] = math.NaN()
		}
		return out
	}
	counts := make([]uint64, len(a.Counts))
	var total uint64
	for i := range counts {
		counts[i] = a.Counts[i] - b.Counts[i]
		total += counts[i]
	}
	for i, q := range qs {
		out[i] = histogramQuantile(q, a.Buckets, counts, total)
	}
	return out
}

// histogramQuantile estimates quantile q of counts, where bucket i holds
// [bounds[i], bounds[i+1]), as bucketQuantile does for a scrape: linear
// inside the bucket, a quantile in the unbounded last bucket read as its
// lower bound.
func histogramQuantile(q float64, bounds []float64, counts []uint64, total uint64) float64 {
	upper := bounds[1:]
	cum := make(map[float64]float64, len(upper))
	var seen uint64
	for i, ub := range upper {
		seen += counts[i]
		cum[ub] = float64(seen)
	}
	return bucketQuantile(q, upper, func(ub float64) float64 { return cum[ub] }, float64(total))
}
