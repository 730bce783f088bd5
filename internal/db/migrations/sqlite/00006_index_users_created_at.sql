-- +goose Up
-- Search: range queries and keyset pagination sorted by created_at (ties by id).
CREATE INDEX idx_users_created_at ON users (created_at, id);

-- +goose Down
DROP INDEX idx_users_created_at;
