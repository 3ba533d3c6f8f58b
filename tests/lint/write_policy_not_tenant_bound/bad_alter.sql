SET LOCAL lock_timeout = '5s';
-- ALTER POLICY replaces USING: the policy, made FOR UPDATE, stays a write
-- policy, and a public-row branch lets any tenant update public rows.
CREATE POLICY showcase_update ON project_showcases FOR UPDATE
  USING (organization_id = (SELECT app_current_org_id()));
ALTER POLICY showcase_update ON project_showcases
  USING (organization_id = (SELECT app_current_org_id()) OR is_public);
