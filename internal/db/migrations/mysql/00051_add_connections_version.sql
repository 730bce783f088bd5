-- +goose Up
-- A counter every write of the row increments (issue 17): a service
-- process keeps the connections it read and checks this one column (a
-- primary-key read) before using its copy, so a change made by any process
-- sharing the store is seen by the next login everywhere.
ALTER TABLE connections ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE connections DROP COLUMN version;
