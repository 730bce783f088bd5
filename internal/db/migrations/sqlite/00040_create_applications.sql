-- +goose Up
-- Applications (OAuth clients). settings is a JSON object: redirect URIs,
-- web origins, logout URLs, connections, grant types, management scopes,
-- token lifetimes and refresh-token settings. secret_hash is the SHA-256
-- (hex) of a confidential client's secret, '' for public clients.
CREATE TABLE applications (
    id          TEXT NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    type        TEXT NOT NULL,
    secret_hash TEXT NOT NULL DEFAULT '',
    settings    TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;

-- +goose Down
DROP TABLE applications;
