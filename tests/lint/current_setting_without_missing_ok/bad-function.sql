CREATE FUNCTION current_org() RETURNS uuid LANGUAGE sql STABLE
  AS $$ SELECT current_setting('app.current_org_id')::uuid $$;
