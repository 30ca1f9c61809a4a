package delivery

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/events"
)

// Headers of a delivery in a deprecated version: RFC 9745 and RFC 8594.
const (
	headerDeprecation = "Deprecation"
	headerSunset      = "Sunset"
)

// checkEventVersion accepts a known outbound version that is not retired;
// errors are usher.CodeInvalid.
func (s *Service) checkEventVersion(name string) error {
	v, ok := s.catalog.OutboundVersion(name)
	switch {
	case !ok:
		return usher.Errorf(usher.CodeInvalid, "version %q: not an outbound version (see GET /v1/event-types)", name)
	case v.State == events.Retired:
		return usher.Errorf(usher.CodeInvalid, "version %s is retired", name)
	}
	return nil
}

// eventVersion returns the version sub's payloads are rendered in.
func (s *Service) eventVersion(sub usher.Subscription) string {
	if sub.EventVersion == "" {
		return s.catalog.CurrentVersion(events.Outbound)
	}
	return sub.EventVersion
}

// deprecatedVersion reports whether sub is on a deprecated version.
func (s *Service) deprecatedVersion(sub usher.Subscription) bool {
	_, _, ok := s.catalog.Deprecation(s.eventVersion(sub))
	return ok
}

// body returns the body of delivery d for sub: its data, stored in the
// current version, rendered in sub's version (events.Render), without
// personal data unless sub.PII, in the envelope that names the version. A
// type the catalog does not list is sent as it is stored.
func (s *Service) body(sub usher.Subscription, d usher.Delivery) ([]byte, error) {
	version := s.eventVersion(sub)
	data := d.Data
	if _, known := s.catalog.Lookup(events.Outbound, d.Type); known && len(data) > 0 {
		var err error
		if data, err = s.catalog.Render(d.Type, data, s.catalog.CurrentVersion(events.Outbound), version); err != nil {
			return nil, err
		}
	}
	return eventBody(d.Type, version, d.EventTime, data, sub.PII)
}

// versionHeaders adds Deprecation and Sunset to a delivery in a deprecated
// version.
func (s *Service) versionHeaders(h http.Header, version string) {
	since, sunset, ok := s.catalog.Deprecation(version)
	if !ok {
		return
	}
	h.Set(headerDeprecation, "@"+strconv.FormatInt(since.Unix(), 10))
	h.Set(headerSunset, sunset.UTC().Format(http.TimeFormat))
}

// deprecatedGauge is usher_subscriptions_on_deprecated_version, read from
// the store when Prometheus scrapes.
type deprecatedGauge struct {
	svc  *Service
	desc *prometheus.Desc
}

func newDeprecatedGauge(svc *Service) deprecatedGauge {
	return deprecatedGauge{svc: svc, desc: prometheus.NewDesc("usher_subscriptions_on_deprecated_version",
		"Subscriptions whose outbound event version is deprecated, by version.", []string{"version"}, nil)}
}

// Describe implements prometheus.Collector.
func (g deprecatedGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

// Collect implements prometheus.Collector: one sample per deprecated
// version, 0 when no subscription is on it.
func (g deprecatedGauge) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	subs, err := g.svc.st.Subscriptions(ctx)
	if err != nil {
		return
	}
	counts := map[string]int{}
	for _, v := range g.svc.catalog.Versions(events.Outbound) {
		if v.State == events.Deprecated {
			counts[v.Name] = 0
		}
	}
	for _, sub := range subs {
		if _, ok := counts[g.svc.eventVersion(sub)]; ok {
			counts[g.svc.eventVersion(sub)]++
		}
	}
	for v, n := range counts {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, float64(n), v)
	}
}
