-- +goose Up
-- email and username are NULL when not set, so that the unique indexes
-- ignore users without one.
CREATE TABLE users (
    id             TEXT    NOT NULL PRIMARY KEY,
    connection     TEXT    NOT NULL,
    email          TEXT,
    email_verified INTEGER NOT NULL DEFAULT 0,
    username       TEXT,
    phone_number   TEXT    NOT NULL DEFAULT '',
    phone_verified INTEGER NOT NULL DEFAULT 0,
    name           TEXT    NOT NULL DEFAULT '',
    given_name     TEXT    NOT NULL DEFAULT '',
    family_name    TEXT    NOT NULL DEFAULT '',
    nickname       TEXT    NOT NULL DEFAULT '',
    picture        TEXT    NOT NULL DEFAULT '',
    blocked        INTEGER NOT NULL DEFAULT 0,
    user_metadata  TEXT    NOT NULL DEFAULT '{}',
    app_metadata   TEXT    NOT NULL DEFAULT '{}',
    identities     TEXT    NOT NULL DEFAULT '[]',
    migrated       INTEGER NOT NULL DEFAULT 0,
    password_hash  TEXT    NOT NULL DEFAULT '',
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    last_login     TEXT,
    last_ip        TEXT    NOT NULL DEFAULT '',
    logins_count   INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE UNIQUE INDEX uq_users_connection_email ON users (connection, email);
CREATE UNIQUE INDEX uq_users_connection_username ON users (connection, username);
CREATE INDEX idx_users_email ON users (email);

-- +goose Down
DROP TABLE users;
