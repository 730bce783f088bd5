-- +goose Up
-- The management scopes a DATABASE connection grants its users when they
-- log in (a JSON list of scope names, '[]' for none): login then also
-- returns a management token carrying exactly these scopes.
ALTER TABLE connections ADD COLUMN admin_scopes TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE connections DROP COLUMN admin_scopes;
