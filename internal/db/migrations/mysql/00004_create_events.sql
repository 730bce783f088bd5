-- +goose Up
-- id is sortable (later events have greater ids): a user's history is read
-- newest first through (user_id, id); retention deletes through (time).
CREATE TABLE events (
    id         VARCHAR(64)  NOT NULL,
    time       DATETIME(6)  NOT NULL,
    type       VARCHAR(64)  NOT NULL,
    user_id    VARCHAR(255) NOT NULL DEFAULT '',
    connection VARCHAR(128) NOT NULL DEFAULT '',
    ip         VARCHAR(64)  NOT NULL DEFAULT '',
    user_agent TEXT         NOT NULL,
    success    BOOLEAN      NOT NULL DEFAULT FALSE,
    detail     TEXT         NOT NULL,
    PRIMARY KEY (id),
    KEY idx_events_user_id_id (user_id, id),
    KEY idx_events_time (time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE events;
