-- +goose Up
-- Permissions assigned to a user directly (not through a role).
CREATE TABLE user_permissions (
    user_id    VARCHAR(255) NOT NULL,
    api_id     VARCHAR(64)  NOT NULL,
    name       VARCHAR(280) NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    PRIMARY KEY (user_id, api_id, name),
    KEY idx_user_permissions_permission (api_id, name),
    CONSTRAINT fk_up_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_up_permission FOREIGN KEY (api_id, name) REFERENCES resource_server_permissions (api_id, name) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE user_permissions;
