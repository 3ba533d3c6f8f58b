-- An index on a table the same migration creates blocks no one.
CREATE TABLE order_notes (id uuid PRIMARY KEY, organization_id uuid NOT NULL, body text);
CREATE INDEX order_notes_organization_id_idx ON order_notes (organization_id);
ALTER TABLE order_notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE order_notes FORCE ROW LEVEL SECURITY;
