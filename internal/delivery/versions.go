package delivery

import (
	"net/http"
	"strconv"

	"github.com/usherhq/usher"
	"github.com/usherhq/usher/internal/events"
	"github.com/usherhq/usher/internal/store"
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
func (s *Service) eventVersion(sub store.Subscription) string {
	if sub.EventVersion == "" {
		return s.catalog.CurrentVersion(events.Outbound)
	}
	return sub.EventVersion
}

// deprecatedVersion reports whether sub is on a deprecated version.
func (s *Service) deprecatedVersion(sub store.Subscription) bool {
	_, _, ok := s.catalog.Deprecation(s.eventVersion(sub))
	return ok
}

// body returns the body of delivery d for sub: its data, stored in the
// current version, rendered in sub's version (events.Render), without
// personal data unless sub.PII, in the envelope that names the version. A
// type the catalog does not list is sent as it is stored.
func (s *Service) body(sub store.Subscription, d store.Delivery) ([]byte, error) {
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
