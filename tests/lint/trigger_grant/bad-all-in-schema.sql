SET LOCAL lock_timeout = '5s';
CREATE TABLE countries (code text PRIMARY KEY, name text NOT NULL);
-- ALL on every table of the schema holds TRIGGER on each of them.
GRANT ALL ON ALL TABLES IN SCHEMA public TO app_user;
