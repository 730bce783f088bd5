-- +goose Up
-- Script modules move out of the connection rows (issue 17): a module is
-- stored once per content, keyed by its SHA-256 (lower-case hex), and a
-- connection names its module by connections.script_sha256 ('' = none).
-- Modules are not secrets and are stored as they were (not sealed).
CREATE TABLE modules (
    sha256     CHAR(64)    NOT NULL COMMENT 'lower-case hex SHA-256 of wasm',
    wasm       LONGBLOB    NOT NULL COMMENT 'WebAssembly module',
    size       BIGINT      NOT NULL,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (sha256)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;
INSERT INTO modules (sha256, wasm, size, created_at)
SELECT script_sha256, script, LENGTH(script), updated_at FROM connections
WHERE script IS NOT NULL AND LENGTH(script) > 0 AND script_sha256 <> ''
ON DUPLICATE KEY UPDATE created_at = LEAST(modules.created_at, VALUES(created_at));
UPDATE connections SET script_sha256 = '' WHERE script IS NULL OR LENGTH(script) = 0;
ALTER TABLE connections DROP COLUMN script, ADD INDEX idx_connections_script_sha256 (script_sha256);

-- +goose Down
ALTER TABLE connections ADD COLUMN script LONGBLOB NULL COMMENT 'WebAssembly module' AFTER configuration, DROP INDEX idx_connections_script_sha256;
UPDATE connections c JOIN modules m ON m.sha256 = c.script_sha256 SET c.script = m.wasm;
DROP TABLE modules;
