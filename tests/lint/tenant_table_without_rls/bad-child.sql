-- A tenant table through its foreign key, like order milestones.
CREATE TABLE invoices (id uuid PRIMARY KEY, organization_id uuid NOT NULL);
ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoices FORCE ROW LEVEL SECURITY;
CREATE TABLE invoice_lines (id uuid PRIMARY KEY, invoice_id uuid NOT NULL REFERENCES invoices (id));
