CREATE TABLE invoices (id uuid PRIMARY KEY, organization_id uuid NOT NULL);
ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoices FORCE ROW LEVEL SECURITY;
CREATE POLICY invoices_select ON invoices FOR SELECT USING (organization_id = (SELECT app_current_org_id()));
