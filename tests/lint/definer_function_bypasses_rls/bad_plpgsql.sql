SET LOCAL lock_timeout = '5s';
CREATE TABLE notes (id bigint PRIMARY KEY, organization_id uuid NOT NULL, body text);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes FORCE ROW LEVEL SECURITY;
CREATE POLICY notes_tenant ON notes
  USING (organization_id = (SELECT app_current_org_id()))
  WITH CHECK (organization_id = (SELECT app_current_org_id()));
-- Every tenant's notes, emptied by any caller.
CREATE FUNCTION purge_notes() RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$ BEGIN DELETE FROM public.notes WHERE body IS NULL; END $$;
