-- +goose Up
CREATE TABLE sources (
    name        TEXT PRIMARY KEY,
    scheme      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE source_secrets (
    id          TEXT PRIMARY KEY,
    source      TEXT NOT NULL REFERENCES sources(name) ON DELETE CASCADE,
    secret      {{bytes}} NOT NULL,
    state       TEXT NOT NULL,
    not_after   BIGINT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX source_secrets_source ON source_secrets(source);

CREATE TABLE admin_tokens (
    id          TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    scopes      TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);

-- The dedupe record: one row per (source, event id), committed in the same
-- transaction as every effect of the event.
CREATE TABLE inbound_events (
    source       TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    payload_hash TEXT NOT NULL,
    type         TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    key_id       TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    data         TEXT NOT NULL,
    event_at     BIGINT NOT NULL,
    received_at  BIGINT NOT NULL,
    processed_at BIGINT NOT NULL,
    PRIMARY KEY (source, event_id)
);
CREATE INDEX inbound_events_processed ON inbound_events(processed_at);
CREATE INDEX inbound_events_order ON inbound_events(order_id);

CREATE TABLE inventory (
    show_id     TEXT NOT NULL,
    ticket_type TEXT NOT NULL,
    capacity    BIGINT NOT NULL,
    sold        BIGINT NOT NULL DEFAULT 0,
    held        BIGINT NOT NULL DEFAULT 0,
    version     BIGINT NOT NULL DEFAULT 1,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (show_id, ticket_type),
    CHECK (sold >= 0 AND held >= 0 AND sold + held <= capacity)
);

CREATE TABLE orders (
    order_id    TEXT PRIMARY KEY,
    show_id     TEXT NOT NULL,
    venue_id    TEXT NOT NULL,
    status      TEXT NOT NULL,
    items       TEXT NOT NULL,
    buyer_email TEXT NOT NULL DEFAULT '',
    buyer_name  TEXT NOT NULL DEFAULT '',
    version     BIGINT NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE tickets (
    ticket_id   TEXT PRIMARY KEY,
    order_id    TEXT NOT NULL REFERENCES orders(order_id),
    show_id     TEXT NOT NULL,
    venue_id    TEXT NOT NULL,
    ticket_type TEXT NOT NULL,
    status      TEXT NOT NULL,
    code        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX tickets_order ON tickets(order_id);

-- Outbound events, written in the transaction that caused them; the delivery
-- lanes read from here.
CREATE TABLE outbox (
    seq         {{autoinc}},
    id          TEXT NOT NULL UNIQUE,
    type        TEXT NOT NULL,
    order_id    TEXT NOT NULL,
    venue_id    TEXT NOT NULL,
    data        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Per-venue change feed for scanners. seq comes from venue_seq, incremented in
-- the same transaction, so it follows commit order within a venue.
CREATE TABLE venue_seq (
    venue_id TEXT PRIMARY KEY,
    seq      BIGINT NOT NULL
);
CREATE TABLE ticket_changes (
    venue_id    TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    ticket_id   TEXT NOT NULL,
    show_id     TEXT NOT NULL,
    status      TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    accepted_at BIGINT NOT NULL,
    changed_at  BIGINT NOT NULL,
    PRIMARY KEY (venue_id, seq)
);

CREATE TABLE dead_letters (
    id           TEXT PRIMARY KEY,
    stage        TEXT NOT NULL,
    source       TEXT NOT NULL DEFAULT '',
    subscription_id TEXT NOT NULL DEFAULT '',
    event_id     TEXT NOT NULL,
    type         TEXT NOT NULL,
    order_id     TEXT NOT NULL DEFAULT '',
    venue_id     TEXT NOT NULL DEFAULT '',
    reason       TEXT NOT NULL,
    attempts     BIGINT NOT NULL,
    first_error  TEXT NOT NULL,
    last_error   TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX dead_letters_created ON dead_letters(created_at);

-- +goose Down
DROP TABLE dead_letters;
DROP TABLE ticket_changes;
DROP TABLE venue_seq;
DROP TABLE outbox;
DROP TABLE tickets;
DROP TABLE orders;
DROP TABLE inventory;
DROP TABLE inbound_events;
DROP TABLE admin_tokens;
DROP TABLE source_secrets;
DROP TABLE sources;
