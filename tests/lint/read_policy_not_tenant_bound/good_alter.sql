SET LOCAL lock_timeout = '5s';
ALTER POLICY showcase_select ON project_showcases
  USING (is_public OR organization_id = (SELECT app_current_org_id()));
