-- +goose Up
-- trace_id is the W3C trace id of the inbound event's receive span ('' when
-- tracing was off): the console's event journey shows it and links to the
-- trace in the operator's tracing backend.
ALTER TABLE inbound_events ADD COLUMN trace_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE inbound_events DROP COLUMN trace_id;
