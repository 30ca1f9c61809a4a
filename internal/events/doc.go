// Package events is usher's catalog of event types: every type usher
// accepts (inbound, with what each provider scheme maps onto it) and emits
// (outbound), each a named constant of package usher with its direction
// here, and for each type and version a JSON Schema (draft 2020-12) kept as a
// file under schemas/ and embedded in the binary.
//
// Outbound versions are dated and cover every outbound type at once, as
// Stripe's API versions do; a Change between two adjacent versions carries
// the transforms that render a payload in the older shape. The catalog
// compiles every schema once (Load) and serves validation (Validator),
// rendering (Catalog.Render), the compatibility check (Compare, Check) and
// the published documents (the HTTP handlers and docs/events.md).
//
// docs/compatibility.md is the policy this package enforces.
package events
