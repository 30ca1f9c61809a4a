-- +goose Up
-- Incidents: an operator's name for a stretch of trouble. closed_at is 0
-- while it is open; summary is written when it is closed.
CREATE TABLE incidents (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    summary     TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    closed_at   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX incidents_created ON incidents(created_at);

-- What an incident covers: dead letters (ref: their id), deliveries (ref:
-- subscription_id/event_id) and inbound events (ref: source/event_id).
CREATE TABLE incident_tags (
    incident_id TEXT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    ref         TEXT NOT NULL,
    tagged_at   BIGINT NOT NULL,
    PRIMARY KEY (incident_id, kind, ref)
);

-- The event journey of the console looks events up by order and by id.
CREATE INDEX outbox_order ON outbox(order_id);
CREATE INDEX deliveries_event ON deliveries(event_id);
CREATE INDEX inbound_events_event ON inbound_events(event_id);
-- An incident's timeline is the audit trail of the incident.
CREATE INDEX audit_log_entity ON audit_log(entity_type, entity_id, seq);

-- +goose Down
DROP INDEX audit_log_entity;
DROP INDEX inbound_events_event;
DROP INDEX deliveries_event;
DROP INDEX outbox_order;
DROP TABLE incident_tags;
DROP TABLE incidents;
