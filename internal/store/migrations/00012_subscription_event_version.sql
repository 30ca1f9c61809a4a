-- +goose Up
-- event_version is the dated outbound version (internal/events) a
-- subscription's payloads are rendered in. Subscriptions made before
-- versions existed received the 2026-12-01 shape, so they keep it.
ALTER TABLE subscriptions ADD COLUMN event_version TEXT NOT NULL DEFAULT '2026-12-01';

-- +goose Down
ALTER TABLE subscriptions DROP COLUMN event_version;
