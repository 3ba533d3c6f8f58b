SET LOCAL lock_timeout = '5s';
-- Shared rows by a public-read column, the rest bound to the tenant.
CREATE POLICY showcase_select ON project_showcases FOR SELECT
  USING (is_public OR organization_id = (SELECT app_current_org_id())
         OR (is_system = true AND status = 'archived'));
