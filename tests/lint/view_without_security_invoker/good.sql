CREATE TABLE notes (id uuid PRIMARY KEY, organization_id uuid NOT NULL, body text);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes FORCE ROW LEVEL SECURITY;
CREATE VIEW recent_notes WITH (security_invoker = true) AS SELECT * FROM notes;
