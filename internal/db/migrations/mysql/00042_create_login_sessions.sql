-- +goose Up
-- Hosted-page login sessions (single sign-on across applications). id is
-- the SHA-256 (hex) of the cookie's value: the value itself is never kept.
CREATE TABLE login_sessions (
    id               VARCHAR(64)  NOT NULL,
    user_id          VARCHAR(255) NOT NULL,
    connection       VARCHAR(128) NOT NULL,
    authenticated_at DATETIME(6)  NOT NULL,
    expires_at       DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    KEY idx_login_sessions_user_id (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE login_sessions;
