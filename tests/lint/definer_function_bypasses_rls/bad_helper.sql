SET LOCAL lock_timeout = '5s';
CREATE TABLE notes (id bigint PRIMARY KEY, organization_id uuid NOT NULL, body text);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes FORCE ROW LEVEL SECURITY;
CREATE POLICY notes_tenant ON notes
  USING (organization_id = (SELECT app_current_org_id()))
  WITH CHECK (organization_id = (SELECT app_current_org_id()));
-- An ordinary (SECURITY INVOKER) helper where the caller picks the tenant.
CREATE FUNCTION notes_count_of(org uuid) RETURNS bigint
  LANGUAGE sql STABLE SET search_path = pg_catalog, public
  AS $$ SELECT count(*) FROM public.notes WHERE organization_id = org $$;
-- The definer looks bound to nothing at all, but what it calls runs as
-- its owner too: any caller counts any tenant's notes.
CREATE FUNCTION count_notes(org uuid) RETURNS bigint
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$ SELECT public.notes_count_of(org) $$;
