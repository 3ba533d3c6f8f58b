-- Helpers the tables and policies rely on.
--
-- app_current_org_id(): the tenant of the current transaction.  Applications
-- set it per transaction (so it never leaks through a pooled connection):
--     SELECT set_config('app.current_org_id', '<organization uuid>', true);
-- Unset or '' gives NULL, which matches no row and never raises an error
-- (the spec's one-argument current_setting() raised when unset).  Policies
-- call it as (SELECT app_current_org_id()) so it runs once per query, not
-- once per row.
--
-- set_updated_at(): keeps updated_at current on every UPDATE, whoever
-- writes (Prisma's @updatedAt only works through Prisma).
-- garage:up
CREATE FUNCTION app_current_org_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT NULLIF(current_setting('app.current_org_id', true), '')::uuid $$;

COMMENT ON FUNCTION app_current_org_id() IS
  'Tenant of the current transaction: set_config(''app.current_org_id'', org_id, true); NULL when unset or empty';

CREATE FUNCTION set_updated_at() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;

-- garage:down
DROP FUNCTION set_updated_at();
DROP FUNCTION app_current_org_id();
