-- +goose Up
-- traceparent is the W3C trace context of the processing span that wrote
-- the outbound event ('' when tracing was off): each delivery attempt of it
-- continues the trace of the inbound event that caused it.
ALTER TABLE outbox ADD COLUMN traceparent TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE outbox DROP COLUMN traceparent;
