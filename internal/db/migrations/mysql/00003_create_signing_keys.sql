-- +goose Up
CREATE TABLE signing_keys (
    kid         VARCHAR(255) NOT NULL,
    private_pem BLOB         NOT NULL COMMENT 'PKCS#8 PEM',
    created_at  DATETIME(6)  NOT NULL,
    PRIMARY KEY (kid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE signing_keys;
