-- +goose Up
-- Bulk import/export jobs. errors is a JSON list of at most a few hundred
-- {row, field, reason}; location is the export file's path on the server.
CREATE TABLE jobs (
    id          VARCHAR(64)   NOT NULL,
    type        VARCHAR(16)   NOT NULL COMMENT 'import | export',
    connection  VARCHAR(128)  NOT NULL DEFAULT '' COMMENT 'empty: every connection (export)',
    status      VARCHAR(16)   NOT NULL COMMENT 'pending | running | completed | failed',
    upsert      BOOLEAN       NOT NULL DEFAULT FALSE,
    format      VARCHAR(16)   NOT NULL DEFAULT '',
    fields      TEXT          NOT NULL COMMENT 'JSON list',
    total       BIGINT        NOT NULL DEFAULT 0,
    done        BIGINT        NOT NULL DEFAULT 0,
    inserted    BIGINT        NOT NULL DEFAULT 0,
    updated     BIGINT        NOT NULL DEFAULT 0,
    failed      BIGINT        NOT NULL DEFAULT 0,
    errors      MEDIUMTEXT    NOT NULL COMMENT 'JSON list',
    message     TEXT          NOT NULL,
    location    TEXT          NOT NULL,
    created_at  DATETIME(6)   NOT NULL,
    updated_at  DATETIME(6)   NOT NULL,
    PRIMARY KEY (id),
    KEY idx_jobs_status_type (status, type)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE jobs;
