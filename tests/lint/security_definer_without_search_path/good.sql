CREATE FUNCTION org_name(o uuid) RETURNS text LANGUAGE sql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$ SELECT name FROM public.organizations WHERE id = o $$;
