-- +goose Up
CREATE TABLE role_permissions (
    role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    api_id  TEXT NOT NULL,
    name    TEXT NOT NULL,
    PRIMARY KEY (role_id, api_id, name),
    FOREIGN KEY (api_id, name) REFERENCES resource_server_permissions (api_id, name) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX idx_role_permissions_permission ON role_permissions (api_id, name);

-- +goose Down
DROP TABLE role_permissions;
