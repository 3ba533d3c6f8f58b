CREATE TABLE notes (id uuid PRIMARY KEY, organization_id uuid NOT NULL, body text);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes FORCE ROW LEVEL SECURITY;
CREATE MATERIALIZED VIEW note_counts AS SELECT organization_id, count(*) FROM notes GROUP BY 1;
