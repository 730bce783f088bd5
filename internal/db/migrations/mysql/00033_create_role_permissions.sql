-- +goose Up
CREATE TABLE role_permissions (
    role_id VARCHAR(64)  NOT NULL,
    api_id  VARCHAR(64)  NOT NULL,
    name    VARCHAR(280) NOT NULL,
    PRIMARY KEY (role_id, api_id, name),
    KEY idx_role_permissions_permission (api_id, name),
    CONSTRAINT fk_rp_role FOREIGN KEY (role_id) REFERENCES roles (id) ON DELETE CASCADE,
    CONSTRAINT fk_rp_permission FOREIGN KEY (api_id, name) REFERENCES resource_server_permissions (api_id, name) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE role_permissions;
