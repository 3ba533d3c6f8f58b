SET LOCAL lock_timeout = '5s';
CREATE TABLE notes (id bigint PRIMARY KEY, organization_id uuid NOT NULL, body text);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes FORCE ROW LEVEL SECURITY;
CREATE POLICY notes_tenant ON notes
  USING (organization_id = (SELECT app_current_org_id()))
  WITH CHECK (organization_id = (SELECT app_current_org_id()));
-- Bound to the caller's tenant by the function itself.
CREATE FUNCTION my_note_count() RETURNS bigint
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$ SELECT count(*) FROM public.notes WHERE organization_id = (SELECT app_current_org_id()) $$;
