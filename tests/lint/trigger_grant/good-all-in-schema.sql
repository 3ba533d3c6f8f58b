SET LOCAL lock_timeout = '5s';
CREATE TABLE countries (code text PRIMARY KEY, name text NOT NULL);
-- What the application needs, on every table of the schema.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO app_user;
