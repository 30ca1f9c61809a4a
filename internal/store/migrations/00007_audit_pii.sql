-- +goose Up
-- The audit trail: append-only and hash-chained (docs/audit.md defines the
-- hash). seq is taken from audit_head in the appending transaction, not from
-- a sequence, so it has no gaps: a rolled-back append leaves no hole that
-- could hide a deleted record. detail is the JSON text exactly as hashed.
CREATE TABLE audit_log (
    seq         {{bigint}} PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    entity_type TEXT NOT NULL DEFAULT '',
    entity_id   TEXT NOT NULL DEFAULT '',
    order_id    TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_log_order ON audit_log(order_id, seq);
CREATE INDEX audit_log_actor ON audit_log(actor, seq);
CREATE INDEX audit_log_at ON audit_log(at);

-- The chain's one head row: the last seq and its hash. Every append updates
-- it first, so concurrent writers queue on this row and the chain never
-- forks; verification compares it with the last record, so a truncated
-- tail is detected too.
CREATE TABLE audit_head (
    id   {{bigint}} PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- The personal-data vault: a buyer's email and name, sealed with the master
-- key under the context pii/<token>/<field>. Everywhere else an order's buyer
-- is its token. Erasure clears the sealed values and keeps the row, so the
-- token still names a (now anonymous) buyer. erased_at is 0 until then.
CREATE TABLE buyers (
    token        TEXT PRIMARY KEY,
    order_id     TEXT NOT NULL UNIQUE,
    email_sealed {{bytes}},
    name_sealed  {{bytes}},
    created_at   BIGINT NOT NULL,
    erased_at    BIGINT NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE buyers;
DROP TABLE audit_head;
DROP TABLE audit_log;
