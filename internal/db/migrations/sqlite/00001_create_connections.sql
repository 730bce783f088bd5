-- +goose Up
-- Times are TEXT 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC (fixed width, so they
-- sort and compare as strings); booleans are 0/1.
CREATE TABLE connections (
    name              TEXT    NOT NULL PRIMARY KEY,
    strategy          TEXT    NOT NULL,
    import_mode       INTEGER NOT NULL DEFAULT 0,
    sync_user_profile INTEGER NOT NULL DEFAULT 0,
    actions           TEXT    NOT NULL DEFAULT '[]',
    database_url      TEXT    NOT NULL DEFAULT '',
    configuration     TEXT    NOT NULL DEFAULT '{}',
    script            BLOB,
    script_sha256     TEXT    NOT NULL DEFAULT '',
    script_timeout_ms INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL
) STRICT;

-- +goose Down
DROP TABLE connections;
