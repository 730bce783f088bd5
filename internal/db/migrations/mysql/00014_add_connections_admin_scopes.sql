-- +goose Up
-- The management scopes a DATABASE connection grants its users when they
-- log in (a JSON list of scope names, '[]' for none): login then also
-- returns a management token carrying exactly these scopes.
ALTER TABLE connections ADD COLUMN admin_scopes VARCHAR(1024) NOT NULL DEFAULT '[]' COMMENT 'JSON list of management scopes granted at login';

-- +goose Down
ALTER TABLE connections DROP COLUMN admin_scopes;
