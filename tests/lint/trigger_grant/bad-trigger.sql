SET LOCAL lock_timeout = '5s';
CREATE TABLE countries (code text PRIMARY KEY, name text NOT NULL);
GRANT SELECT, TRIGGER ON countries TO app_user;
