-- +goose Up
-- The permissions (scopes) an API defines. Removing one removes it from
-- every role and user (cascades in 00033 and 00035).
CREATE TABLE resource_server_permissions (
    api_id      VARCHAR(64)  NOT NULL,
    name        VARCHAR(280) NOT NULL,
    description TEXT         NOT NULL,
    PRIMARY KEY (api_id, name),
    CONSTRAINT fk_rsp_api FOREIGN KEY (api_id) REFERENCES resource_servers (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE resource_server_permissions;
