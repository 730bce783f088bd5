-- +goose Up
CREATE TABLE roles (
    id          VARCHAR(64)  NOT NULL COMMENT 'rol_...',
    name        VARCHAR(200) NOT NULL,
    description TEXT         NOT NULL,
    created_at  DATETIME(6)  NOT NULL,
    updated_at  DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_roles_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE roles;
