SET LOCAL lock_timeout = '5s';
-- The original specification's hole: any tenant can update and delete
-- another tenant's public rows.
CREATE POLICY showcase_all ON project_showcases FOR ALL
  USING (is_public = true OR organization_id = (SELECT app_current_org_id()));
