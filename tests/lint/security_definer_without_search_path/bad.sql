CREATE FUNCTION org_name(o uuid) RETURNS text LANGUAGE sql SECURITY DEFINER
  AS $$ SELECT name FROM organizations WHERE id = o $$;
