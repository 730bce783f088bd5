-- +goose Up
-- (role_id, user_id) serves Role.users and the roles:NAME search.
CREATE TABLE user_roles (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id    TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, role_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX idx_user_roles_role ON user_roles (role_id, user_id);

-- +goose Down
DROP TABLE user_roles;
