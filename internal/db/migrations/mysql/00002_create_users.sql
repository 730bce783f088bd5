-- +goose Up
-- email and username are NULL when not set, so that the unique keys ignore
-- users without one.
CREATE TABLE users (
    id                VARCHAR(255)  NOT NULL,
    connection        VARCHAR(128)  NOT NULL,
    email             VARCHAR(320)  NULL COMMENT 'lower-case',
    email_verified    BOOLEAN       NOT NULL DEFAULT FALSE,
    username          VARCHAR(255)  NULL,
    phone_number      VARCHAR(64)   NOT NULL DEFAULT '',
    phone_verified    BOOLEAN       NOT NULL DEFAULT FALSE,
    name              VARCHAR(1024) NOT NULL DEFAULT '',
    given_name        VARCHAR(1024) NOT NULL DEFAULT '',
    family_name       VARCHAR(1024) NOT NULL DEFAULT '',
    nickname          VARCHAR(1024) NOT NULL DEFAULT '',
    picture           TEXT          NOT NULL,
    blocked           BOOLEAN       NOT NULL DEFAULT FALSE,
    user_metadata     MEDIUMTEXT    NOT NULL COMMENT 'JSON object',
    app_metadata      MEDIUMTEXT    NOT NULL COMMENT 'JSON object',
    identities        MEDIUMTEXT    NOT NULL COMMENT 'JSON list',
    migrated          BOOLEAN       NOT NULL DEFAULT FALSE,
    password_hash     VARCHAR(255)  NOT NULL DEFAULT '',
    created_at        DATETIME(6)   NOT NULL,
    updated_at        DATETIME(6)   NOT NULL,
    last_login        DATETIME(6)   NULL,
    last_ip           VARCHAR(64)   NOT NULL DEFAULT '',
    logins_count      BIGINT        NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    UNIQUE KEY uq_users_connection_email (connection, email),
    UNIQUE KEY uq_users_connection_username (connection, username),
    KEY idx_users_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE users;
