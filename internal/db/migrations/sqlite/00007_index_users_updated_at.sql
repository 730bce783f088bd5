-- +goose Up
-- Search: range queries and keyset pagination sorted by updated_at (ties by id).
CREATE INDEX idx_users_updated_at ON users (updated_at, id);

-- +goose Down
DROP INDEX idx_users_updated_at;
