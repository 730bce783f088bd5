-- Django's auth_user table as `manage.py sqlmigrate auth 0012` creates it on
-- MySQL/MariaDB (Django 3.2-5.x): the user name is the unique key, the email
-- is neither unique nor required, is_active = 0 marks a disabled account.
CREATE TABLE IF NOT EXISTS auth_user (
  id integer AUTO_INCREMENT NOT NULL PRIMARY KEY,
  password varchar(128) NOT NULL,
  last_login datetime(6) NULL,
  is_superuser bool NOT NULL,
  username varchar(150) NOT NULL UNIQUE,
  first_name varchar(150) NOT NULL,
  last_name varchar(150) NOT NULL,
  email varchar(254) NOT NULL,
  is_staff bool NOT NULL,
  is_active bool NOT NULL,
  date_joined datetime(6) NOT NULL
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
