SET LOCAL lock_timeout = '5s';
CREATE POLICY showcase_update ON project_showcases FOR UPDATE
  USING (organization_id = (SELECT app_current_org_id()));
ALTER POLICY showcase_update ON project_showcases
  USING (organization_id = (SELECT app_current_org_id()))
  WITH CHECK (organization_id = (SELECT app_current_org_id()));
