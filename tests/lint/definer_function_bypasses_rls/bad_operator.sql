SET LOCAL lock_timeout = '5s';
CREATE TABLE notes (id bigint PRIMARY KEY, organization_id uuid NOT NULL, body text);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes FORCE ROW LEVEL SECURITY;
CREATE POLICY notes_tenant ON notes
  USING (organization_id = (SELECT app_current_org_id()))
  WITH CHECK (organization_id = (SELECT app_current_org_id()));
-- An ordinary function behind an operator, where the caller picks the tenant.
CREATE FUNCTION notes_count_op(org uuid, k int) RETURNS bigint
  LANGUAGE sql STABLE SET search_path = pg_catalog, public
  AS $$ SELECT count(*) FROM public.notes WHERE organization_id = org $$;
CREATE OPERATOR public.## (LEFTARG = uuid, RIGHTARG = int, FUNCTION = public.notes_count_op);
-- The definer calls no function, but the operator's runs as its owner too.
CREATE FUNCTION count_notes(org uuid) RETURNS bigint
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$ SELECT org ## 0 $$;
