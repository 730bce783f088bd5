-- +goose Up
CREATE TABLE resource_server_permissions (
    api_id      TEXT NOT NULL REFERENCES resource_servers (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    PRIMARY KEY (api_id, name)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE resource_server_permissions;
