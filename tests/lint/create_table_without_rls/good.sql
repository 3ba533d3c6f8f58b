CREATE TABLE countries (code text PRIMARY KEY, name text NOT NULL);
ALTER TABLE countries ENABLE ROW LEVEL SECURITY;
CREATE POLICY countries_read ON countries FOR SELECT USING (true);
