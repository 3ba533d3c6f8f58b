SET LOCAL lock_timeout = '5s';
CREATE TABLE notes (id bigint PRIMARY KEY, organization_id uuid NOT NULL, body text);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes FORCE ROW LEVEL SECURITY;
CREATE POLICY notes_tenant ON notes
  USING (organization_id = (SELECT app_current_org_id()))
  WITH CHECK (organization_id = (SELECT app_current_org_id()));
CREATE SCHEMA app;
-- The helper lives in app; the definer finds it through its own path.
CREATE FUNCTION app.notes_count_of(org uuid) RETURNS bigint
  LANGUAGE sql STABLE SET search_path = pg_catalog, public
  AS $$ SELECT count(*) FROM public.notes WHERE organization_id = org $$;
CREATE FUNCTION count_notes(org uuid) RETURNS bigint
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, app, public
  AS $$ BEGIN RETURN notes_count_of(org); END $$;
