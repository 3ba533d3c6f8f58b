SET LOCAL lock_timeout = '5s';
CREATE TABLE notes (id bigint PRIMARY KEY, organization_id uuid NOT NULL, body text);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes FORCE ROW LEVEL SECURITY;
CREATE POLICY notes_tenant ON notes
  USING (organization_id = (SELECT app_current_org_id()))
  WITH CHECK (organization_id = (SELECT app_current_org_id()));
CREATE FUNCTION all_notes() RETURNS SETOF notes
  LANGUAGE sql STABLE SET search_path = pg_catalog, public
  AS $$ SELECT * FROM public.notes $$;
-- Made SECURITY DEFINER afterwards: judged as the function it changes.
ALTER FUNCTION all_notes() SECURITY DEFINER;
