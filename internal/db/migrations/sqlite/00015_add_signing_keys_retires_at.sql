-- +goose Up
-- When a signing key stops being trusted ('YYYY-MM-DD HH:MM:SS.ffffff'
-- UTC), NULL while it is current: `profiled keys rotate` adds a key and
-- sets this on the others, which keep verifying (and stay in the JWKS)
-- until then, so tokens they signed live out their lifetime.
ALTER TABLE signing_keys ADD COLUMN retires_at TEXT;

-- +goose Down
ALTER TABLE signing_keys DROP COLUMN retires_at;
