-- +goose Up
-- Search: range queries and keyset pagination sorted by last_login (ties by id).
CREATE INDEX idx_users_last_login ON users (last_login, id);

-- +goose Down
DROP INDEX idx_users_last_login;
