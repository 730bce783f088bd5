-- +goose Up
-- Permissions assigned to a user directly (not through a role).
CREATE TABLE user_permissions (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    api_id     TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, api_id, name),
    FOREIGN KEY (api_id, name) REFERENCES resource_server_permissions (api_id, name) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX idx_user_permissions_permission ON user_permissions (api_id, name);

-- +goose Down
DROP TABLE user_permissions;
