SET LOCAL lock_timeout = '5s';
-- Every tenant reads every tenant's archived showcases: a branch bound to
-- neither the tenant nor a public-read column.
CREATE POLICY showcase_select ON project_showcases FOR SELECT
  USING (organization_id = (SELECT app_current_org_id()) OR status = 'archived');
