-- +goose Up
-- Token lifecycle: an optional expiry set at creation, the revocation time
-- (a revoked token is refused at once by every process, which looks each
-- token up here on every request), and when the token was last used
-- (updated at most once a minute). 0 means never.
ALTER TABLE admin_tokens ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE admin_tokens ADD COLUMN revoked_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE admin_tokens ADD COLUMN last_used_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE admin_tokens DROP COLUMN last_used_at;
ALTER TABLE admin_tokens DROP COLUMN revoked_at;
ALTER TABLE admin_tokens DROP COLUMN expires_at;
