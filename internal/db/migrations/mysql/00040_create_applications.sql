-- +goose Up
-- Applications (OAuth clients). settings is a JSON object: redirect URIs,
-- web origins, logout URLs, connections, grant types, management scopes,
-- token lifetimes and refresh-token settings. secret_hash is the SHA-256
-- (hex) of a confidential client's secret, '' for public clients.
CREATE TABLE applications (
    id          VARCHAR(64)  NOT NULL,
    name        VARCHAR(255) NOT NULL,
    type        VARCHAR(32)  NOT NULL,
    secret_hash VARCHAR(64)  NOT NULL DEFAULT '',
    settings    MEDIUMTEXT   NOT NULL,
    created_at  DATETIME(6)  NOT NULL,
    updated_at  DATETIME(6)  NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE applications;
