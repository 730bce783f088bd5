-- +goose Up
-- The metadata term index (see package search, TermsTable): one row per
-- metadata path holding a value, so that user_metadata.<path>:value and
-- app_metadata.<path>:value searches read an index range instead of every
-- user's JSON. Kept in step with users.user_metadata / app_metadata in the
-- same transaction by the store, which computes every row it deletes from
-- the stored metadata: the primary key is the table's only index. Filled
-- for the users already stored by the Go migration 13.
CREATE TABLE metadata_terms (
    source  TEXT NOT NULL,
    path    TEXT NOT NULL,
    value   TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (source, path, value, user_id)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE metadata_terms;
