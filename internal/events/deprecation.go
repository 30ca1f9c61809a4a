package events

import (
	"slices"
	"time"
)

// OutboundVersion returns the outbound version called name.
func (c *Catalog) OutboundVersion(name string) (Version, bool) {
	vs := versions(Outbound)
	i := slices.IndexFunc(vs, func(v Version) bool { return v.Name == name })
	if i < 0 {
		return Version{}, false
	}
	return vs[i], true
}

// Deprecation returns when the outbound version name was deprecated (the
// day the version after it was released) and when it is retired; ok is
// false for a version that is not deprecated.
func (c *Catalog) Deprecation(name string) (since, sunset time.Time, ok bool) {
	vs := versions(Outbound)
	i := slices.IndexFunc(vs, func(v Version) bool { return v.Name == name })
	if i < 0 || i+1 >= len(vs) || vs[i].State != Deprecated {
		return time.Time{}, time.Time{}, false
	}
	since, err1 := time.Parse(time.DateOnly, vs[i+1].Name)
	sunset, err2 := time.Parse(time.DateOnly, vs[i].Sunset)
	return since, sunset, err1 == nil && err2 == nil
}
