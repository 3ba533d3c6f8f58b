SET LOCAL lock_timeout = '5s';
CREATE TABLE countries (code text PRIMARY KEY, name text NOT NULL);
-- Every table made from now on, TRIGGER included.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO app_user;
