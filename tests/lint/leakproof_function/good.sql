-- Not LEAKPROOF (the default): the policies run first.
CREATE FUNCTION body_matches(body text, q text) RETURNS boolean
  LANGUAGE sql IMMUTABLE SET search_path = pg_catalog
  AS $$ SELECT position(q IN body) > 0 $$;
