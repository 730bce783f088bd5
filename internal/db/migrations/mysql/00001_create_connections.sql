-- +goose Up
CREATE TABLE connections (
    name              VARCHAR(128) NOT NULL,
    strategy          VARCHAR(32)  NOT NULL,
    import_mode       BOOLEAN      NOT NULL DEFAULT FALSE,
    sync_user_profile BOOLEAN      NOT NULL DEFAULT FALSE,
    actions           TEXT         NOT NULL COMMENT 'JSON list of exported actions',
    database_url      TEXT         NOT NULL,
    configuration     MEDIUMTEXT   NOT NULL COMMENT 'JSON object; secrets',
    script            LONGBLOB     NULL     COMMENT 'WebAssembly module',
    script_sha256     VARCHAR(64)  NOT NULL DEFAULT '',
    script_timeout_ms BIGINT       NOT NULL DEFAULT 0,
    created_at        DATETIME(6)  NOT NULL,
    updated_at        DATETIME(6)  NOT NULL,
    PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE connections;
