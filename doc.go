// Package usher holds the vocabulary of the usher ticketing webhook platform:
// inbound events, orders, tickets, inventory, the records the services keep
// and exchange (subscriptions, deliveries, dead letters, outbound events,
// scans, tokens, audit records…) and the one error type that every layer
// returns. It performs no I/O; the subpackages under internal/ do.
//
// The path of an event through the program, and where each step lives:
//
//	internal/webhook    signature schemes (Standard Webhooks, Stripe): pure, fuzzed
//	internal/ingest     the receiver: verifies, limits, acknowledges after a durable enqueue
//	internal/queue      NATS JetStream: embedded server, partitioned stream, group commit
//	internal/processor  one transaction = dedupe record + state change + outbound events
//	internal/ticketing  pure rules for orders, tickets and inventory
//	internal/store      the SQL store of these records: SQLite and PostgreSQL engines
//	internal/admin      the admin API with scoped bearer tokens
//	internal/problem    RFC 9457 problem responses
//	internal/telemetry  logging with redaction, Prometheus metrics
package usher
