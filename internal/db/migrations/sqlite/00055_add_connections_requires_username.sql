-- +goose Up
-- Whether the connection's users have a username and may log in with it
-- instead of their email (Auth0's requires_username).
ALTER TABLE connections ADD COLUMN requires_username INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE connections DROP COLUMN requires_username;
