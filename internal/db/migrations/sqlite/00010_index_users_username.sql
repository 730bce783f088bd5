-- +goose Up
-- Search: range queries and keyset pagination sorted by username (ties by id).
CREATE INDEX idx_users_username ON users (username, id);

-- +goose Down
DROP INDEX idx_users_username;
