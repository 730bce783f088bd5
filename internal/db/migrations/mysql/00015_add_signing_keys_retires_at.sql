-- +goose Up
-- When a signing key stops being trusted, NULL while it is current:
-- `profiled keys rotate` adds a key and sets this on the others, which keep
-- verifying (and stay in the JWKS) until then, so tokens they signed live
-- out their lifetime.
ALTER TABLE signing_keys ADD COLUMN retires_at DATETIME(6) NULL COMMENT 'NULL: current';

-- +goose Down
ALTER TABLE signing_keys DROP COLUMN retires_at;
