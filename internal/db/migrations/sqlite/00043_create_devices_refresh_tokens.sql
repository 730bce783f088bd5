-- +goose Up
-- A device is one refresh-token family: the sign-in of a user on one
-- application from one user agent, and every token rotated from it.
-- grants are the applications a user has authorized (one row per user and
-- application). refresh_tokens keeps only SHA-256 (hex) hashes; a rotated
-- token keeps its row (rotated_at set) so that its reuse is recognised.
CREATE TABLE oauth_grants (
    id         TEXT NOT NULL PRIMARY KEY,
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (user_id, client_id)
) STRICT;
CREATE INDEX idx_oauth_grants_client_id ON oauth_grants (client_id);

CREATE TABLE devices (
    id                TEXT NOT NULL PRIMARY KEY,
    user_id           TEXT NOT NULL,
    client_id         TEXT NOT NULL,
    name              TEXT NOT NULL,
    ip                TEXT NOT NULL,
    user_agent        TEXT NOT NULL,
    scopes            TEXT NOT NULL,
    audience          TEXT NOT NULL,
    auth_time         TEXT NOT NULL,
    credential        TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    last_used_at      TEXT NOT NULL,
    last_ip           TEXT NOT NULL,
    expires_at        TEXT NOT NULL
) STRICT;
CREATE INDEX idx_devices_user_client ON devices (user_id, client_id, created_at);
CREATE INDEX idx_devices_client_id ON devices (client_id);

CREATE TABLE refresh_tokens (
    hash            TEXT NOT NULL PRIMARY KEY,
    device_id       TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    idle_expires_at TEXT NOT NULL,
    rotated_at      TEXT NULL
) STRICT;
CREATE INDEX idx_refresh_tokens_device_id ON refresh_tokens (device_id);

-- +goose Down
DROP TABLE refresh_tokens;
DROP TABLE devices;
DROP TABLE oauth_grants;
