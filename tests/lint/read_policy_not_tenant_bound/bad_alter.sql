SET LOCAL lock_timeout = '5s';
-- A policy made outside these migrations, whatever its command, now lets
-- every tenant read every row it covers.
ALTER POLICY showcase_select ON project_showcases
  USING (organization_id = (SELECT app_current_org_id()) OR true);
