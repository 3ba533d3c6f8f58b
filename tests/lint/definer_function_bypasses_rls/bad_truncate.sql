SET LOCAL lock_timeout = '5s';
CREATE TABLE notes (id bigint PRIMARY KEY, organization_id uuid NOT NULL, body text);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes FORCE ROW LEVEL SECURITY;
CREATE POLICY notes_tenant ON notes
  USING (organization_id = (SELECT app_current_org_id()))
  WITH CHECK (organization_id = (SELECT app_current_org_id()));
-- A scratch table no tenant reads, whose TRUNCATE trigger moves every
-- note to the caller's tenant.
CREATE TABLE scratch (x int);
ALTER TABLE scratch ENABLE ROW LEVEL SECURITY;
ALTER TABLE scratch FORCE ROW LEVEL SECURITY;
CREATE FUNCTION grab_notes() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, public
  AS $$ BEGIN UPDATE public.notes SET organization_id = (SELECT app_current_org_id()); RETURN NULL; END $$;
CREATE TRIGGER grab_notes BEFORE TRUNCATE ON scratch
  FOR EACH STATEMENT EXECUTE FUNCTION grab_notes();
-- The definer only empties the scratch table; the trigger runs as its
-- owner too.
CREATE FUNCTION reset_scratch() RETURNS void
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$ TRUNCATE public.scratch $$;
