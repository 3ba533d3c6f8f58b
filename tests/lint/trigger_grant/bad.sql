SET LOCAL lock_timeout = '5s';
CREATE TABLE countries (code text PRIMARY KEY, name text NOT NULL);
-- ALL holds TRIGGER: the role may attach a trigger of its own, which runs
-- as whoever writes countries (a superuser's seed migration).
GRANT ALL ON countries TO app_user;
