-- +goose Up
-- Hosted-page login sessions (single sign-on across applications). id is
-- the SHA-256 (hex) of the cookie's value: the value itself is never kept.
CREATE TABLE login_sessions (
    id               TEXT NOT NULL PRIMARY KEY,
    user_id          TEXT NOT NULL,
    connection       TEXT NOT NULL,
    authenticated_at TEXT NOT NULL,
    expires_at       TEXT NOT NULL
) STRICT;
CREATE INDEX idx_login_sessions_user_id ON login_sessions (user_id);

-- +goose Down
DROP TABLE login_sessions;
