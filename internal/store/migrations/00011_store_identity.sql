-- +goose Up
-- store_identity names this store: a random id made once, when the schema is
-- created, and written to the data directory's IDENTITY file, so that usher
-- can tell a database that is missing or replaced from a first start.
-- probed_at is rewritten by the readiness write probe.
CREATE TABLE store_identity (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    store_id  TEXT NOT NULL,
    probed_at BIGINT NOT NULL DEFAULT 0
);
INSERT INTO store_identity (singleton, store_id) VALUES (1, {{random_id}});

-- +goose Down
DROP TABLE store_identity;
