-- +goose Up
-- Every scan made at a gate, online (decided here) or offline (decided by the
-- device and uploaded later). The nonce makes a scan idempotent per venue.
CREATE TABLE scans (
    id          {{autoinc}},
    venue_id    TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    ticket_id   TEXT NOT NULL DEFAULT '',
    show_id     TEXT NOT NULL DEFAULT '',
    mode        TEXT NOT NULL,
    decision    TEXT NOT NULL,
    result      TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    scanned_at  BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (venue_id, nonce)
);
CREATE INDEX scans_venue ON scans(venue_id, id);
CREATE INDEX scans_ticket ON scans(ticket_id);

-- The one scan that let a ticket in: the earliest by device time. Offline
-- uploads may move it to an earlier scan; the primary key keeps it single.
CREATE TABLE admissions (
    ticket_id   TEXT PRIMARY KEY,
    venue_id    TEXT NOT NULL,
    scan_id     BIGINT NOT NULL,
    device_id   TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    admitted_at BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX admissions_venue ON admissions(venue_id);

-- Per-venue feed bookkeeping: how far history was pruned (older cursors get a
-- snapshot) and how far some scanner has been served (freshness is observed
-- once per change, when this mark passes it).
CREATE TABLE venue_feed (
    venue_id       TEXT PRIMARY KEY,
    pruned_through BIGINT NOT NULL DEFAULT 0,
    delivered_seq  BIGINT NOT NULL DEFAULT 0,
    delivered_at   BIGINT NOT NULL DEFAULT 0
);
-- History that exists before this migration counts as delivered, so that the
-- first feed read after an upgrade does not report it as hours stale.
INSERT INTO venue_feed (venue_id, pruned_through, delivered_seq, delivered_at)
    SELECT venue_id, 0, seq, 0 FROM venue_seq;

CREATE INDEX ticket_changes_ticket ON ticket_changes(venue_id, ticket_id);
CREATE INDEX tickets_venue ON tickets(venue_id, ticket_id);

-- +goose Down
DROP INDEX tickets_venue;
DROP INDEX ticket_changes_ticket;
DROP TABLE venue_feed;
DROP TABLE admissions;
DROP TABLE scans;
