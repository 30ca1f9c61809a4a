// Package webhook holds the signature schemes of usher's inbound webhooks:
// Standard Webhooks (https://www.standardwebhooks.com/) and Stripe's
// Stripe-Signature. Each Scheme verifies a request's headers and body against
// a source's secrets, maps an authentic body onto the canonical usher.Envelope
// and signs requests for senders and tests.
//
// The package is pure: it reads no clock (callers pass now), performs no I/O
// and keeps no package-level state. Every error a Scheme returns is an
// *usher.Error whose code the receiver maps to a response:
// usher.CodeInvalidSignature, usher.CodeTimestampTolerance or
// usher.CodeMalformedEnvelope.
//
// A Scheme checks the signature before the timestamp, so an unauthenticated
// caller learns nothing about the clock or the body from the error.
package webhook
