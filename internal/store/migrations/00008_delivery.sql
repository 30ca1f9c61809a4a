-- +goose Up
-- Subscriptions: where and what to deliver. event_types and venue_ids are
-- JSON arrays of strings; retry_schedule is a JSON array of milliseconds, or
-- empty for the global schedule. failing_since (0 when healthy) is when the
-- current run of failed attempts began.
CREATE TABLE subscriptions (
    id              TEXT PRIMARY KEY,
    url             TEXT NOT NULL,
    event_types     TEXT NOT NULL,
    venue_ids       TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    signing         TEXT NOT NULL,
    retry_schedule  TEXT NOT NULL DEFAULT '',
    pii             BIGINT NOT NULL DEFAULT 0,
    status          TEXT NOT NULL,
    disabled_reason TEXT NOT NULL DEFAULT '',
    failing_since   BIGINT NOT NULL DEFAULT 0,
    version         BIGINT NOT NULL DEFAULT 1,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- Signing keys of a subscription. The current keys have expires_at 0; a
-- rotation sets the end of the grace window on the keys it replaces.
CREATE TABLE subscription_keys (
    id              TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    algorithm       TEXT NOT NULL,
    secret          {{bytes}} NOT NULL,
    public_key      {{bytes}} NOT NULL,
    expires_at      BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL
);
CREATE INDEX subscription_keys_subscription ON subscription_keys(subscription_id);

-- One delivery per (subscription, outbound event). A lane claims a pending
-- delivery by setting lease_until and lease_token; an attempt interrupted by
-- a crash is claimable again once its lease has passed. order_key is the
-- order id (the event id for events of no order): a lane delivers the
-- deliveries of one order_key one at a time, in event_seq order.
CREATE TABLE deliveries (
    id              {{autoinc}},
    subscription_id TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    event_seq       BIGINT NOT NULL,
    type            TEXT NOT NULL,
    order_id        TEXT NOT NULL,
    venue_id        TEXT NOT NULL,
    order_key       TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    window_attempts BIGINT NOT NULL DEFAULT 0,
    window_start    BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT NOT NULL DEFAULT 0,
    lease_token     TEXT NOT NULL DEFAULT '',
    last_status     BIGINT NOT NULL DEFAULT 0,
    first_error     TEXT NOT NULL DEFAULT '',
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (subscription_id, event_id)
);
CREATE INDEX deliveries_lane ON deliveries(subscription_id, status, next_attempt_at, event_seq);
CREATE INDEX deliveries_order ON deliveries(subscription_id, order_key, status, event_seq);
CREATE INDEX deliveries_updated ON deliveries(updated_at);

-- Every attempt of every delivery, for the API and the dead-letter view.
CREATE TABLE delivery_attempts (
    id              {{autoinc}},
    delivery_id     BIGINT NOT NULL,
    subscription_id TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    attempt         BIGINT NOT NULL,
    status_code     BIGINT NOT NULL,
    latency_ms      BIGINT NOT NULL,
    error           TEXT NOT NULL,
    at              BIGINT NOT NULL
);
CREATE INDEX delivery_attempts_subscription ON delivery_attempts(subscription_id, id);
CREATE INDEX delivery_attempts_event ON delivery_attempts(subscription_id, event_id, id);
CREATE INDEX delivery_attempts_at ON delivery_attempts(at);

-- How far the dispatcher has read the outbox: every event with seq <= seq
-- has its deliveries recorded.
CREATE TABLE delivery_cursors (
    name TEXT PRIMARY KEY,
    seq  BIGINT NOT NULL
);

-- Dead letters: replayed_at is set when an operator replays one (0 while it
-- is open); a failure after the replay opens it again.
ALTER TABLE dead_letters ADD COLUMN replayed_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE dead_letters ADD COLUMN replays BIGINT NOT NULL DEFAULT 0;
CREATE INDEX dead_letters_stage ON dead_letters(stage, created_at);
CREATE INDEX dead_letters_subscription ON dead_letters(subscription_id, created_at);

-- +goose Down
DROP INDEX dead_letters_subscription;
DROP INDEX dead_letters_stage;
ALTER TABLE dead_letters DROP COLUMN replays;
ALTER TABLE dead_letters DROP COLUMN replayed_at;
DROP TABLE delivery_cursors;
DROP TABLE delivery_attempts;
DROP TABLE deliveries;
DROP TABLE subscription_keys;
DROP TABLE subscriptions;
