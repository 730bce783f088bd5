-- +goose Up
-- Search: range queries and keyset pagination sorted by logins_count (ties by id).
CREATE INDEX idx_users_logins_count ON users (logins_count, id);

-- +goose Down
DROP INDEX idx_users_logins_count ON users;
