-- +goose Up
-- A device is one refresh-token family: the sign-in of a user on one
-- application from one user agent, and every token rotated from it.
-- grants are the applications a user has authorized (one row per user and
-- application). refresh_tokens keeps only SHA-256 (hex) hashes; a rotated
-- token keeps its row (rotated_at set) so that its reuse is recognised.
CREATE TABLE oauth_grants (
    id         VARCHAR(64)  NOT NULL,
    user_id    VARCHAR(255) NOT NULL,
    client_id  VARCHAR(64)  NOT NULL,
    scopes     TEXT         NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    updated_at DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_oauth_grants_user_client (user_id, client_id),
    KEY idx_oauth_grants_client_id (client_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE devices (
    id           VARCHAR(64)  NOT NULL,
    user_id      VARCHAR(255) NOT NULL,
    client_id    VARCHAR(64)  NOT NULL,
    name         VARCHAR(255) NOT NULL,
    ip           VARCHAR(64)  NOT NULL,
    user_agent   TEXT         NOT NULL,
    scopes       TEXT         NOT NULL,
    audience     TEXT         NOT NULL,
    auth_time    DATETIME(6)  NOT NULL,
    credential   VARCHAR(64)  NOT NULL,
    created_at   DATETIME(6)  NOT NULL,
    last_used_at DATETIME(6)  NOT NULL,
    last_ip      VARCHAR(64)  NOT NULL,
    expires_at   DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    KEY idx_devices_user_client (user_id, client_id, created_at),
    KEY idx_devices_client_id (client_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE refresh_tokens (
    hash            VARCHAR(64) NOT NULL,
    device_id       VARCHAR(64) NOT NULL,
    created_at      DATETIME(6) NOT NULL,
    idle_expires_at DATETIME(6) NOT NULL,
    rotated_at      DATETIME(6) NULL,
    PRIMARY KEY (hash),
    KEY idx_refresh_tokens_device_id (device_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE refresh_tokens;
DROP TABLE devices;
DROP TABLE oauth_grants;
