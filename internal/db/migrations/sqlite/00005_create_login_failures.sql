-- +goose Up
-- login_key identifies the account ("connection|email").
CREATE TABLE login_failures (
    login_key    TEXT    NOT NULL,
    ip           TEXT    NOT NULL,
    count        INTEGER NOT NULL,
    last_failure TEXT    NOT NULL,
    PRIMARY KEY (login_key, ip)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE login_failures;
