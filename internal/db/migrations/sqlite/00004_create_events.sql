-- +goose Up
-- id is sortable (later events have greater ids): a user's history is read
-- newest first through (user_id, id); retention deletes through (time).
CREATE TABLE events (
    id         TEXT    NOT NULL PRIMARY KEY,
    time       TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    user_id    TEXT    NOT NULL DEFAULT '',
    connection TEXT    NOT NULL DEFAULT '',
    ip         TEXT    NOT NULL DEFAULT '',
    user_agent TEXT    NOT NULL DEFAULT '',
    success    INTEGER NOT NULL DEFAULT 0,
    detail     TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX idx_events_user_id_id ON events (user_id, id);
CREATE INDEX idx_events_time ON events (time);

-- +goose Down
DROP TABLE events;
