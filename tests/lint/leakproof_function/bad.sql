-- Run before the policies, on every tenant's rows: its error message
-- prints another tenant's note to whoever searches.
CREATE FUNCTION body_matches(body text, q text) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE LEAKPROOF SET search_path = pg_catalog
  AS $$ BEGIN
    IF q = '' THEN RAISE EXCEPTION 'empty query for %', body; END IF;
    RETURN position(q IN body) > 0;
  END $$;
