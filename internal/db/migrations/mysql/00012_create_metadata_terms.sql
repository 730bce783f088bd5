-- +goose Up
-- The metadata term index (see package search, TermsTable): one row per
-- metadata path holding a value, so that user_metadata.<path>:value and
-- app_metadata.<path>:value searches read an index range instead of every
-- user's JSON. Kept in step with users.user_metadata / app_metadata in the
-- same transaction by the store, which computes every row it deletes from
-- the stored metadata: the primary key is the table's only index. Path and
-- value are bytes, compared exactly: utf8mb4_bin ignores trailing spaces,
-- which would make "k" and "k " one key. Filled for the users already
-- stored by the Go migration 13.
CREATE TABLE metadata_terms (
    source   CHAR(1)      NOT NULL COMMENT 'u: user_metadata, a: app_metadata',
    path     VARBINARY(1020) NOT NULL COMMENT 'dotted key path (UTF-8), cut to 255 characters',
    value    VARBINARY(512)  NOT NULL COMMENT 'scalar text (UTF-8) cut to 128 characters; empty for objects and lists',
    user_id  VARCHAR(255) NOT NULL,
    PRIMARY KEY (source, path, value, user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE metadata_terms;
