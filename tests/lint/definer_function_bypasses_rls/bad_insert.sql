SET LOCAL lock_timeout = '5s';
CREATE TABLE notes (id bigint PRIMARY KEY, organization_id uuid NOT NULL, body text);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes FORCE ROW LEVEL SECURITY;
CREATE POLICY notes_tenant ON notes
  USING (organization_id = (SELECT app_current_org_id()))
  WITH CHECK (organization_id = (SELECT app_current_org_id()));
-- The tenant expression is there, but only as a fallback: any caller
-- writes notes into any tenant it names.
CREATE FUNCTION post_note(org uuid, b text) RETURNS void
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$ INSERT INTO public.notes (id, organization_id, body)
        VALUES (1, coalesce(org, (SELECT app_current_org_id())), b) $$;
