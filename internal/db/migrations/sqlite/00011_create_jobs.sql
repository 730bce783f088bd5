-- +goose Up
-- Bulk import/export jobs. errors is a JSON list of at most a few hundred
-- {row, field, reason}; location is the export file's path on the server.
CREATE TABLE jobs (
    id          TEXT    NOT NULL PRIMARY KEY,
    type        TEXT    NOT NULL,
    connection  TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL,
    upsert      INTEGER NOT NULL DEFAULT 0,
    format      TEXT    NOT NULL DEFAULT '',
    fields      TEXT    NOT NULL DEFAULT '[]',
    total       INTEGER NOT NULL DEFAULT 0,
    done        INTEGER NOT NULL DEFAULT 0,
    inserted    INTEGER NOT NULL DEFAULT 0,
    updated     INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    errors      TEXT    NOT NULL DEFAULT '[]',
    message     TEXT    NOT NULL DEFAULT '',
    location    TEXT    NOT NULL DEFAULT '',
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
) STRICT;
CREATE INDEX idx_jobs_status_type ON jobs (status, type);

-- +goose Down
DROP TABLE jobs;
