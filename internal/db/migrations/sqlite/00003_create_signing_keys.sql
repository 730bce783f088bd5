-- +goose Up
CREATE TABLE signing_keys (
    kid         TEXT NOT NULL PRIMARY KEY,
    private_pem BLOB NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;

-- +goose Down
DROP TABLE signing_keys;
