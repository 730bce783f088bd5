-- +goose Up
-- The term counts (internal/db/termcounts.go): how many users each term
-- of the metadata term index (source u / a) and each value of a counted
-- profile field (source f, path the field's name) matches, split over 16
-- shards by a hash of the user id so that parallel writers of one term
-- mostly update different rows; a term's count is the sum of its shards.
-- Kept in step with metadata_terms and users by the store in the same
-- transaction; filled for the data already stored by the Go migration 57.
CREATE TABLE term_counts (
    source TEXT    NOT NULL,
    path   TEXT    NOT NULL,
    value  TEXT    NOT NULL,
    shard  INTEGER NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (source, path, value, shard)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE term_counts;
