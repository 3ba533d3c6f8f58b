SET LOCAL lock_timeout = '5s';
CREATE TABLE notes (id bigint PRIMARY KEY, organization_id uuid NOT NULL, body text);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes FORCE ROW LEVEL SECURITY;
CREATE POLICY notes_tenant ON notes
  USING (organization_id = (SELECT app_current_org_id()))
  WITH CHECK (organization_id = (SELECT app_current_org_id()));
-- The helper binds the rows to the caller's tenant itself.
CREATE FUNCTION my_notes_count() RETURNS bigint
  LANGUAGE sql STABLE SET search_path = pg_catalog, public
  AS $$ SELECT count(*) FROM public.notes WHERE organization_id = (SELECT app_current_org_id()) $$;
CREATE FUNCTION count_my_notes() RETURNS bigint
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$ SELECT public.my_notes_count() $$;
