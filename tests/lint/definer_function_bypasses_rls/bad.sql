SET LOCAL lock_timeout = '5s';
CREATE TABLE notes (id bigint PRIMARY KEY, organization_id uuid NOT NULL, body text);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes FORCE ROW LEVEL SECURITY;
CREATE POLICY notes_tenant ON notes
  USING (organization_id = (SELECT app_current_org_id()))
  WITH CHECK (organization_id = (SELECT app_current_org_id()));
-- Runs as its owner, and the caller picks the tenant: an owner that
-- bypasses RLS hands any tenant's notes to anyone.
CREATE FUNCTION notes_of(org uuid) RETURNS SETOF notes
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$ SELECT * FROM public.notes WHERE organization_id = org $$;
