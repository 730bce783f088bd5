-- +goose Up
-- APIs (resource servers): tokens asked for an API's identifier (the
-- audience) follow its settings (see policy.DecideAPIToken).
CREATE TABLE resource_servers (
    id                   TEXT    NOT NULL PRIMARY KEY,
    identifier           TEXT    NOT NULL UNIQUE,
    name                 TEXT    NOT NULL,
    enforce_rbac         INTEGER NOT NULL DEFAULT 0,
    permissions_in_token INTEGER NOT NULL DEFAULT 0,
    created_at           TEXT    NOT NULL,
    updated_at           TEXT    NOT NULL
) STRICT;

-- +goose Down
DROP TABLE resource_servers;
