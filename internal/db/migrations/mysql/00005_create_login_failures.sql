-- +goose Up
-- login_key identifies the account ("connection|email").
CREATE TABLE login_failures (
    login_key    VARCHAR(512) NOT NULL,
    ip           VARCHAR(64)  NOT NULL,
    count        INT          NOT NULL,
    last_failure DATETIME(6)  NOT NULL,
    PRIMARY KEY (login_key, ip)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE login_failures;
