-- +goose Up
-- APIs (resource servers): tokens asked for an API's identifier (the
-- audience) follow its settings (see policy.DecideAPIToken).
CREATE TABLE resource_servers (
    id                   VARCHAR(64)  NOT NULL COMMENT 'api_...',
    identifier           VARCHAR(600) NOT NULL COMMENT 'the audience; immutable',
    name                 VARCHAR(200) NOT NULL,
    enforce_rbac         BOOLEAN      NOT NULL DEFAULT FALSE,
    permissions_in_token BOOLEAN      NOT NULL DEFAULT FALSE,
    created_at           DATETIME(6)  NOT NULL,
    updated_at           DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_resource_servers_identifier (identifier)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE resource_servers;
