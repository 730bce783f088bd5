-- +goose Up
-- Pending browser sign-ins (OpenID Connect authorization requests). data is
-- the request as JSON; code_hash is the SHA-256 (hex) of the authorization
-- code once issued (NULL before), unique so a code finds one request.
CREATE TABLE oidc_auth_requests (
    id         VARCHAR(64) NOT NULL,
    client_id  VARCHAR(64) NOT NULL,
    code_hash  VARCHAR(64) NULL,
    data       MEDIUMTEXT  NOT NULL,
    created_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_oidc_auth_requests_code_hash (code_hash),
    KEY idx_oidc_auth_requests_expires_at (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE oidc_auth_requests;
