package loadgen

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sort"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Snapshot is a scrape of usher's /metrics.
type Snapshot map[string]*dto.MetricFamily

// Scrape reads and parses url + "/metrics" with a bearer token holding
// metrics:read (token may be empty for usher's token-free metrics address).
func Scrape(ctx context.Context, url, token string) (Snapshot, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s/metrics: status %d", url, resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parse metrics: %w", err)
	}
	return Snapshot(fams), nil
}

// Sum adds up every series of a counter or gauge family.
func (s Snapshot) Sum(name string) float64 {
	f, ok := s[name]
	if !ok {
		return 0
	}
	var total float64
	for _, m := range f.GetMetric() {
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		}
	}
	return total
}

// histogram is the merged buckets of every series of a histogram family.
type histogram struct {
	count   float64
	sum     float64
	buckets map[float64]float64 // upper bound → cumulative count
}

func (s Snapshot) histogram(name string) histogram {
	h := histogram{buckets: map[float64]float64{}}
	f, ok := s[name]
	if !ok {
		return h
	}
	for _, m := range f.GetMetric() {
		hm := m.GetHistogram()
		h.count += float64(hm.GetSampleCount())
		h.sum += hm.GetSampleSum()
		for _, b := range hm.GetBucket() {
			h.buckets[b.GetUpperBound()] += float64(b.GetCumulativeCount())
		}
	}
	return h
}

// HistogramDelta returns the count, mean and quantiles (as Prometheus's
// histogram_quantile estimates them) of what a histogram observed between two
// snapshots.
func HistogramDelta(before, after Snapshot, name string, qs ...float64) (count, mean float64, quantiles []float64) {
	a, b := after.histogram(name), before.histogram(name)
	count = a.count - b.count
	if count > 0 {
		mean = (a.sum - b.sum) / count
	}
	bounds := make([]float64, 0, len(a.buckets))
	for ub := range a.buckets {
		bounds = append(bounds, ub)
	}
	sort.Float64s(bounds)
	for _, q := range qs {
		quantiles = append(quantiles, bucketQuantile(q, bounds, func(ub float64) float64 { return a.buckets[ub] - b.buckets[ub] }, count))
	}
	return count, mean, quantiles
}

func bucketQuantile(q float64, bounds []float64, cum func(float64) float64, count float64) float64 {
	if count == 0 || len(bounds) == 0 {
		return math.NaN()
	}
	rank := q * count
	prevBound, prevCount := 0.0, 0.0
	for _, ub := range bounds {
		c := cum(ub)
		if c >= rank {
			if math.IsInf(ub, 1) {
				return prevBound
			}
			if c == prevCount {
				return ub
			}
			return prevBound + (ub-prevBound)*(rank-prevCount)/(c-prevCount)
		}
		prevBound, prevCount = ub, c
	}
	return prevBound
}
