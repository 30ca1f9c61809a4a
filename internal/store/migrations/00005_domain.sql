-- +goose Up
-- The order lifecycle keeps the facts an order has seen, so that events
-- commute: a refund or dispute before its payment is held as a fact and
-- applied when the payment lands.
ALTER TABLE orders ADD COLUMN held_items TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN hold_expires_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN paid_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN unpaid_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN refund_all BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN chargebacks BIGINT NOT NULL DEFAULT 0;
CREATE INDEX orders_hold_expiry ON orders(hold_expires_at);
-- A code's generation grows on transfer and reinstatement; an old code never
-- works again. revoked_by tells a refund (final) from a dispute (reversible).
ALTER TABLE tickets ADD COLUMN generation BIGINT NOT NULL DEFAULT 1;
ALTER TABLE tickets ADD COLUMN revoked_by TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN used_before_revocation BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN holder_changed_at BIGINT NOT NULL DEFAULT 0;
-- Provider time of the last capacity adjustment: an older one is ignored.
ALTER TABLE inventory ADD COLUMN adjusted_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE inventory DROP COLUMN adjusted_at;
ALTER TABLE tickets DROP COLUMN holder_changed_at;
ALTER TABLE tickets DROP COLUMN used_before_revocation;
ALTER TABLE tickets DROP COLUMN revoked_by;
ALTER TABLE tickets DROP COLUMN generation;
DROP INDEX orders_hold_expiry;
ALTER TABLE orders DROP COLUMN chargebacks;
ALTER TABLE orders DROP COLUMN refund_all;
ALTER TABLE orders DROP COLUMN unpaid_reason;
ALTER TABLE orders DROP COLUMN paid_at;
ALTER TABLE orders DROP COLUMN hold_expires_at;
ALTER TABLE orders DROP COLUMN held_items;
