-- +goose Up
-- A fingerprint of the user's password hash when the session started: a
-- password change ends the session.
ALTER TABLE login_sessions ADD COLUMN credential TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE login_sessions DROP COLUMN credential;
