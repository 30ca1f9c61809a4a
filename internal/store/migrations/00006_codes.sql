-- +goose Up
-- Ed25519 keys that sign ticket codes. The private key (its 32-byte seed) is
-- sealed with the master key under the context "ticketkey/<id>"; the public
-- key is served to scanners. One key is active and signs; retired keys only
-- verify, and are kept so that no issued code stops working at a rotation.
CREATE TABLE ticket_signing_keys (
    id          {{autoinc}},
    private_key {{bytes}} NOT NULL,
    public_key  {{bytes}} NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('active', 'retired')),
    created_at  BIGINT NOT NULL
);
-- At most one active key, even when two processes create the first key or
-- rotate at once: the loser meets this index and retries.
CREATE UNIQUE INDEX ticket_signing_keys_one_active ON ticket_signing_keys(state) WHERE state = 'active';

-- Server secrets of the code features (the display-code key, the pass-URL
-- key), sealed under "codesecret/<name>". Created once by whichever process
-- comes first; every process then reads the same value.
CREATE TABLE code_secrets (
    name        TEXT PRIMARY KEY,
    secret      {{bytes}} NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Per-show code policy. A show without a row takes the defaults.
CREATE TABLE show_settings (
    show_id            TEXT PRIMARY KEY,
    allow_static_codes BIGINT NOT NULL DEFAULT 0 CHECK (allow_static_codes IN (0, 1)),
    updated_at         BIGINT NOT NULL
);

-- The last display-code step used per ticket, with the scan nonce that used
-- it: a step at or before it, from another scan, is a replay. One row per
-- ticket, so the table never needs pruning.
CREATE TABLE display_code_uses (
    ticket_id   TEXT PRIMARY KEY,
    generation  BIGINT NOT NULL,
    step        BIGINT NOT NULL,
    nonce       TEXT NOT NULL,
    used_at     BIGINT NOT NULL
);

-- Revoked pass URLs by token id. A row is useless once every token it could
-- name has expired, so rows older than the longest pass lifetime are pruned.
CREATE TABLE pass_revocations (
    token_id    TEXT PRIMARY KEY,
    revoked_at  BIGINT NOT NULL
);
CREATE INDEX pass_revocations_revoked_at ON pass_revocations(revoked_at);

-- +goose Down
DROP INDEX pass_revocations_revoked_at;
DROP TABLE pass_revocations;
DROP TABLE display_code_uses;
DROP TABLE show_settings;
DROP TABLE code_secrets;
DROP INDEX ticket_signing_keys_one_active;
DROP TABLE ticket_signing_keys;
