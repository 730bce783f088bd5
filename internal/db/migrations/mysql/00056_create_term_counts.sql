-- +goose Up
-- The term counts (internal/db/termcounts.go): how many users each term
-- of the metadata term index (source u / a) and each value of a counted
-- profile field (source f, path the field's name) matches, split over 16
-- shards by a hash of the user id so that parallel writers of one term
-- mostly update different rows; a term's count is the sum of its shards.
-- Kept in step with metadata_terms and users by the store in the same
-- transaction; filled for the data already stored by the Go migration 57.
-- Path and value are bytes, compared exactly, as in metadata_terms.
CREATE TABLE term_counts (
    source CHAR(1)          NOT NULL COMMENT 'u: user_metadata, a: app_metadata, f: profile field',
    path   VARBINARY(1020)  NOT NULL,
    value  VARBINARY(512)   NOT NULL,
    shard  TINYINT UNSIGNED NOT NULL,
    n      BIGINT           NOT NULL,
    PRIMARY KEY (source, path, value, shard)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE term_counts;
