-- +goose Up
-- Pending browser sign-ins (OpenID Connect authorization requests). data is
-- the request as JSON; code_hash is the SHA-256 (hex) of the authorization
-- code once issued (NULL before), unique so a code finds one request.
CREATE TABLE oidc_auth_requests (
    id         TEXT NOT NULL PRIMARY KEY,
    client_id  TEXT NOT NULL,
    code_hash  TEXT NULL UNIQUE,
    data       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX idx_oidc_auth_requests_expires_at ON oidc_auth_requests (expires_at);

-- +goose Down
DROP TABLE oidc_auth_requests;
