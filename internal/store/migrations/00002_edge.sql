-- +goose Up
-- Per-source edge policy: rate limit (0 = none), CIDR allowlist (space
-- separated; empty = any address), body limit and timestamp tolerance
-- (0 = the global or scheme default).
ALTER TABLE sources ADD COLUMN rate_per_second DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE sources ADD COLUMN burst BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sources ADD COLUMN allow_cidrs TEXT NOT NULL DEFAULT '';
ALTER TABLE sources ADD COLUMN max_body_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sources ADD COLUMN tolerance_seconds BIGINT NOT NULL DEFAULT 0;
-- The provider's payment reference (e.g. a Stripe payment intent), so that a
-- dispute that names only the payment finds its order.
ALTER TABLE orders ADD COLUMN payment_ref TEXT NOT NULL DEFAULT '';
CREATE INDEX orders_payment_ref ON orders(payment_ref);

-- +goose Down
DROP INDEX orders_payment_ref;
ALTER TABLE orders DROP COLUMN payment_ref;
ALTER TABLE sources DROP COLUMN tolerance_seconds;
ALTER TABLE sources DROP COLUMN max_body_bytes;
ALTER TABLE sources DROP COLUMN allow_cidrs;
ALTER TABLE sources DROP COLUMN burst;
ALTER TABLE sources DROP COLUMN rate_per_second;
