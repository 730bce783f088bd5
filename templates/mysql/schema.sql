-- The legacy `users` table the MySQL template script (main.go) works with.
-- It follows Auth0's MySQL custom-database templates: an integer id (returned
-- as the profile's user_id), the email, a bcrypt hash in `password`, a
-- nickname and an email_verified flag, plus the usual name fields.
--
-- MySQL 5.7+ / MariaDB 10.3+. The email column compares case-insensitively
-- (utf8mb4_unicode_ci), so "Ann@Example.com" and "ann@example.com" are one
-- user and the UNIQUE key refuses the second.
CREATE TABLE IF NOT EXISTS users (
  id             INT UNSIGNED NOT NULL AUTO_INCREMENT,
  email          VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
  password       VARCHAR(255) NOT NULL COMMENT 'bcrypt hash ($2a$/$2b$/$2y$)',
  username       VARCHAR(128) NULL,
  nickname       VARCHAR(350) NULL,
  name           VARCHAR(150) NULL,
  given_name     VARCHAR(150) NULL,
  family_name    VARCHAR(150) NULL,
  picture        VARCHAR(2048) NULL,
  email_verified TINYINT(1) NOT NULL DEFAULT 0,
  created_at     TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at     TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  UNIQUE KEY users_email (email),
  UNIQUE KEY users_username (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
