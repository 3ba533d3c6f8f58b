SET LOCAL lock_timeout = '5s';
CREATE POLICY orders_select ON orders FOR SELECT
  USING (organization_id = NULLIF(current_setting('app.current_org_id', true), '')::uuid);
