SET LOCAL lock_timeout = '5s';
CREATE TABLE countries (code text PRIMARY KEY, name text NOT NULL);
-- What the policies and the application need, nothing more.
GRANT SELECT, INSERT, UPDATE, DELETE ON countries TO app_user;
