SET LOCAL lock_timeout = '5s';
CREATE TABLE notes (id bigint PRIMARY KEY, organization_id uuid NOT NULL, body text);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes FORCE ROW LEVEL SECURITY;
CREATE POLICY notes_tenant ON notes
  USING (organization_id = (SELECT app_current_org_id()))
  WITH CHECK (organization_id = (SELECT app_current_org_id()));
-- An audit table no tenant reads, whose trigger counts the notes of the
-- tenant the row names.
CREATE TABLE note_audit (id bigint PRIMARY KEY, org uuid, n bigint);
ALTER TABLE note_audit ENABLE ROW LEVEL SECURITY;
ALTER TABLE note_audit FORCE ROW LEVEL SECURITY;
CREATE FUNCTION note_audit_count() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, public
  AS $$ BEGIN NEW.n := (SELECT count(*) FROM public.notes WHERE organization_id = NEW.org); RETURN NEW; END $$;
CREATE TRIGGER note_audit_count BEFORE INSERT ON note_audit
  FOR EACH ROW EXECUTE FUNCTION note_audit_count();
-- The definer writes the audit table only, but the trigger runs as its
-- owner too: any caller counts any tenant's notes.
CREATE FUNCTION log_count(org uuid) RETURNS bigint
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public
  AS $$ INSERT INTO public.note_audit (id, org) VALUES (1, org) RETURNING n $$;
