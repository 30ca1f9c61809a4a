// Package delivery sends usher's outbound events to the subscriptions that
// want them, as Standard Webhooks.
//
// # From the outbox to a lane
//
// The processor writes every outbound event into the store's outbox in the
// transaction of the change that caused it. A dispatcher reads the outbox
// after a cursor it persists and records one delivery row per matching
// (subscription, event), idempotently: the pair is unique. Each subscription
// is its own lane: a goroutine that claims its own due deliveries with a
// lease and attempts them over HTTP, so a slow, hanging or dead endpoint only
// ever holds its own lane. Within a lane the deliveries of one order go one
// at a time in outbox order; different orders go in parallel up to the
// lane's concurrency limit.
//
// Nothing waits in memory: a retry due in five hours is a row with its
// next_attempt_at, and an attempt cut short by a crash is claimable again
// once its lease has passed (at least once; receivers deduplicate on
// webhook-id, the outbound event's stable id). Leases are short (15s) and
// renewed while an attempt runs, and a process restarted as the same
// instance (the same data directory) ends its dead run's leases at start,
// so that their deliveries go out again at once; another live process's
// leases are never ended early.
//
// # Outcomes
//
// A 2xx delivers. 410 Gone dead-letters the delivery and disables the
// subscription. Any other 4xx except 408, 409, 425 and 429 dead-letters it at
// once. 5xx, those four, redirects, timeouts and connection failures retry on
// the schedule, counted from the attempt's end (±20% jitter; a Retry-After
// longer than the step is honoured in full, up to the end of the window)
// until the window is spent, then dead-letter it. A
// subscription that failed for a whole window is disabled, and an operator
// event "subscription.disabled" goes into the outbox. Each lane has a
// circuit breaker (sony/gobreaker): after a run of failures it stops
// sending, lets one probe through after a timeout and resumes when the probe
// succeeds.
//
// Every connection goes through the ssrf guard.
//
// # Operators
//
// The admin routes (Routes) manage subscriptions and their keys, search and
// replay dead letters, and re-deliver a subscription's events from a point
// in time; replays keep the original event ids. Each change appends a
// record to the audit chain in its own transaction, as does a subscription
// the lanes disable. A subscription with "pii": true needs the pii:read
// scope; without it personal fields are removed from the data it receives.
//
// A subscription on a deprecated event version raises the operator event
// "subscription.version_deprecated" once per subscription and version: in
// the transaction that creates it on, or changes it to, that version, and
// for subscriptions already on a version that became deprecated, from a
// sweep at start and hourly. The store notes each pair, so a restart raises
// nothing again.
package delivery
