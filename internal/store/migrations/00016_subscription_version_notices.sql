-- +goose Up
-- One row per subscription and deprecated outbound event version whose
-- operator event (subscription.version_deprecated) was written to the
-- outbox, in the same transaction: the event is raised once per pair, not
-- at every start of usher.
CREATE TABLE subscription_version_notices (
    subscription_id TEXT NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    version         TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (subscription_id, version)
);

-- +goose Down
DROP TABLE subscription_version_notices;
