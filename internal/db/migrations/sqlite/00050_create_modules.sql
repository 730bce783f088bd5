-- +goose Up
-- Script modules move out of the connection rows (issue 17): a module is
-- stored once per content, keyed by its SHA-256 (lower-case hex), and a
-- connection names its module by connections.script_sha256 ('' = none).
-- The module (megabytes) sat in the middle of the connection row: every
-- read of a connection, even one selecting NULL for it, walked its
-- overflow pages to reach the columns after it. Modules are not secrets
-- and are stored as they were (not sealed).
CREATE TABLE modules (
    sha256     TEXT    NOT NULL PRIMARY KEY,
    wasm       BLOB    NOT NULL,
    size       INTEGER NOT NULL,
    created_at TEXT    NOT NULL
) STRICT;
INSERT INTO modules (sha256, wasm, size, created_at)
SELECT script_sha256, script, length(script), min(updated_at) FROM connections
WHERE script IS NOT NULL AND length(script) > 0 AND script_sha256 <> ''
GROUP BY script_sha256;
-- A module without its digest could not be named: there is none (the
-- digest is written with the module), but clear the digest of a row
-- without a module so that no connection names a missing one.
UPDATE connections SET script_sha256 = '' WHERE script IS NULL OR length(script) = 0;
ALTER TABLE connections DROP COLUMN script;
CREATE INDEX idx_connections_script_sha256 ON connections (script_sha256);

-- +goose Down
DROP INDEX idx_connections_script_sha256;
ALTER TABLE connections ADD COLUMN script BLOB;
UPDATE connections SET script = (SELECT wasm FROM modules WHERE modules.sha256 = connections.script_sha256);
DROP TABLE modules;
