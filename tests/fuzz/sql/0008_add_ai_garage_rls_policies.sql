-- Row-Level Security for the seven AI Garage tables: each tenant sees and
-- writes only its own rows.
--
-- * RLS is enabled and FORCED: a table owner (an app connecting as the
--   owner) is isolated too.  Only superusers and BYPASSRLS roles are not.
-- * The tenant is (SELECT app_current_org_id()), evaluated once per query;
--   unset or '' matches nothing.
-- * One permissive policy per command.  The spec's FOR ALL policies on
--   agent_templates and project_showcases put "is_public = true OR ..." in
--   USING, which let any tenant UPDATE and DELETE another tenant's public
--   rows.  Here public and system rows (templates, showcases, blueprints)
--   are readable by every tenant, and only the owning organization may
--   insert, update or delete; system templates
--   (organization_id NULL, is_system) are written only by roles that bypass
--   RLS, and a tenant cannot mark its own template as system.
-- * Milestones and build logs have no organization_id: they belong to the
--   tenant of their order (the EXISTS sub-query is itself subject to the
--   orders' policies).  A review may only be written for a template the
--   tenant can see.
-- garage:up
ALTER TABLE custom_agent_orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE agent_templates ENABLE ROW LEVEL SECURITY;
ALTER TABLE tool_blueprints ENABLE ROW LEVEL SECURITY;
ALTER TABLE order_milestones ENABLE ROW LEVEL SECURITY;
ALTER TABLE build_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE template_reviews ENABLE ROW LEVEL SECURITY;
ALTER TABLE project_showcases ENABLE ROW LEVEL SECURITY;

ALTER TABLE custom_agent_orders FORCE ROW LEVEL SECURITY;
ALTER TABLE agent_templates FORCE ROW LEVEL SECURITY;
ALTER TABLE tool_blueprints FORCE ROW LEVEL SECURITY;
ALTER TABLE order_milestones FORCE ROW LEVEL SECURITY;
ALTER TABLE build_logs FORCE ROW LEVEL SECURITY;
ALTER TABLE template_reviews FORCE ROW LEVEL SECURITY;
ALTER TABLE project_showcases FORCE ROW LEVEL SECURITY;

-- custom_agent_orders: tenant only
CREATE POLICY tenant_isolation_orders_select ON custom_agent_orders FOR SELECT
  USING (organization_id = (SELECT app_current_org_id()));
CREATE POLICY tenant_isolation_orders_insert ON custom_agent_orders FOR INSERT
  WITH CHECK (organization_id = (SELECT app_current_org_id()));
CREATE POLICY tenant_isolation_orders_update ON custom_agent_orders FOR UPDATE
  USING (organization_id = (SELECT app_current_org_id()))
  WITH CHECK (organization_id = (SELECT app_current_org_id()));
CREATE POLICY tenant_isolation_orders_delete ON custom_agent_orders FOR DELETE
  USING (organization_id = (SELECT app_current_org_id()));

-- agent_templates: public and system rows readable by all, written by owner
CREATE POLICY template_select ON agent_templates FOR SELECT
  USING (is_public OR is_system OR organization_id = (SELECT app_current_org_id()));
CREATE POLICY template_insert ON agent_templates FOR INSERT
  WITH CHECK (organization_id = (SELECT app_current_org_id()) AND NOT is_system);
CREATE POLICY template_update ON agent_templates FOR UPDATE
  USING (organization_id = (SELECT app_current_org_id()) AND NOT is_system)
  WITH CHECK (organization_id = (SELECT app_current_org_id()) AND NOT is_system);
CREATE POLICY template_delete ON agent_templates FOR DELETE
  USING (organization_id = (SELECT app_current_org_id()) AND NOT is_system);

-- tool_blueprints: public rows readable by all, written by owner (the spec
-- kept every blueprint tenant-only although it has is_public and indexes it)
CREATE POLICY tenant_isolation_blueprints_select ON tool_blueprints FOR SELECT
  USING (is_public OR organization_id = (SELECT app_current_org_id()));
CREATE POLICY tenant_isolation_blueprints_insert ON tool_blueprints FOR INSERT
  WITH CHECK (organization_id = (SELECT app_current_org_id()));
CREATE POLICY tenant_isolation_blueprints_update ON tool_blueprints FOR UPDATE
  USING (organization_id = (SELECT app_current_org_id()))
  WITH CHECK (organization_id = (SELECT app_current_org_id()));
CREATE POLICY tenant_isolation_blueprints_delete ON tool_blueprints FOR DELETE
  USING (organization_id = (SELECT app_current_org_id()));

-- order_milestones: through the order
CREATE POLICY milestone_select ON order_milestones FOR SELECT
  USING (EXISTS (SELECT 1 FROM custom_agent_orders o
                 WHERE o.id = order_milestones.order_id
                   AND o.organization_id = (SELECT app_current_org_id())));
CREATE POLICY milestone_insert ON order_milestones FOR INSERT
  WITH CHECK (EXISTS (SELECT 1 FROM custom_agent_orders o
                      WHERE o.id = order_milestones.order_id
                        AND o.organization_id = (SELECT app_current_org_id())));
CREATE POLICY milestone_update ON order_milestones FOR UPDATE
  USING (EXISTS (SELECT 1 FROM custom_agent_orders o
                 WHERE o.id = order_milestones.order_id
                   AND o.organization_id = (SELECT app_current_org_id())))
  WITH CHECK (EXISTS (SELECT 1 FROM custom_agent_orders o
                      WHERE o.id = order_milestones.order_id
                        AND o.organization_id = (SELECT app_current_org_id())));
CREATE POLICY milestone_delete ON order_milestones FOR DELETE
  USING (EXISTS (SELECT 1 FROM custom_agent_orders o
                 WHERE o.id = order_milestones.order_id
                   AND o.organization_id = (SELECT app_current_org_id())));

-- build_logs: through the order
CREATE POLICY build_log_select ON build_logs FOR SELECT
  USING (EXISTS (SELECT 1 FROM custom_agent_orders o
                 WHERE o.id = build_logs.order_id
                   AND o.organization_id = (SELECT app_current_org_id())));
CREATE POLICY build_log_insert ON build_logs FOR INSERT
  WITH CHECK (EXISTS (SELECT 1 FROM custom_agent_orders o
                      WHERE o.id = build_logs.order_id
                        AND o.organization_id = (SELECT app_current_org_id())));
CREATE POLICY build_log_update ON build_logs FOR UPDATE
  USING (EXISTS (SELECT 1 FROM custom_agent_orders o
                 WHERE o.id = build_logs.order_id
                   AND o.organization_id = (SELECT app_current_org_id())))
  WITH CHECK (EXISTS (SELECT 1 FROM custom_agent_orders o
                      WHERE o.id = build_logs.order_id
                        AND o.organization_id = (SELECT app_current_org_id())));
CREATE POLICY build_log_delete ON build_logs FOR DELETE
  USING (EXISTS (SELECT 1 FROM custom_agent_orders o
                 WHERE o.id = build_logs.order_id
                   AND o.organization_id = (SELECT app_current_org_id())));

-- template_reviews: tenant only; written only for templates the tenant sees
CREATE POLICY tenant_isolation_reviews_select ON template_reviews FOR SELECT
  USING (organization_id = (SELECT app_current_org_id()));
CREATE POLICY tenant_isolation_reviews_insert ON template_reviews FOR INSERT
  WITH CHECK (organization_id = (SELECT app_current_org_id())
              AND EXISTS (SELECT 1 FROM agent_templates t
                          WHERE t.id = template_reviews.template_id));
CREATE POLICY tenant_isolation_reviews_update ON template_reviews FOR UPDATE
  USING (organization_id = (SELECT app_current_org_id()))
  WITH CHECK (organization_id = (SELECT app_current_org_id())
              AND EXISTS (SELECT 1 FROM agent_templates t
                          WHERE t.id = template_reviews.template_id));
CREATE POLICY tenant_isolation_reviews_delete ON template_reviews FOR DELETE
  USING (organization_id = (SELECT app_current_org_id()));

-- project_showcases: public rows readable by all, written by owner
CREATE POLICY showcase_select ON project_showcases FOR SELECT
  USING (is_public OR organization_id = (SELECT app_current_org_id()));
CREATE POLICY showcase_insert ON project_showcases FOR INSERT
  WITH CHECK (organization_id = (SELECT app_current_org_id()));
CREATE POLICY showcase_update ON project_showcases FOR UPDATE
  USING (organization_id = (SELECT app_current_org_id()))
  WITH CHECK (organization_id = (SELECT app_current_org_id()));
CREATE POLICY showcase_delete ON project_showcases FOR DELETE
  USING (organization_id = (SELECT app_current_org_id()));

-- garage:down
DROP POLICY showcase_delete ON project_showcases;
DROP POLICY showcase_update ON project_showcases;
DROP POLICY showcase_insert ON project_showcases;
DROP POLICY showcase_select ON project_showcases;
DROP POLICY tenant_isolation_reviews_delete ON template_reviews;
DROP POLICY tenant_isolation_reviews_update ON template_reviews;
DROP POLICY tenant_isolation_reviews_insert ON template_reviews;
DROP POLICY tenant_isolation_reviews_select ON template_reviews;
DROP POLICY build_log_delete ON build_logs;
DROP POLICY build_log_update ON build_logs;
DROP POLICY build_log_insert ON build_logs;
DROP POLICY build_log_select ON build_logs;
DROP POLICY milestone_delete ON order_milestones;
DROP POLICY milestone_update ON order_milestones;
DROP POLICY milestone_insert ON order_milestones;
DROP POLICY milestone_select ON order_milestones;
DROP POLICY tenant_isolation_blueprints_delete ON tool_blueprints;
DROP POLICY tenant_isolation_blueprints_update ON tool_blueprints;
DROP POLICY tenant_isolation_blueprints_insert ON tool_blueprints;
DROP POLICY tenant_isolation_blueprints_select ON tool_blueprints;
DROP POLICY template_delete ON agent_templates;
DROP POLICY template_update ON agent_templates;
DROP POLICY template_insert ON agent_templates;
DROP POLICY template_select ON agent_templates;
DROP POLICY tenant_isolation_orders_delete ON custom_agent_orders;
DROP POLICY tenant_isolation_orders_update ON custom_agent_orders;
DROP POLICY tenant_isolation_orders_insert ON custom_agent_orders;
DROP POLICY tenant_isolation_orders_select ON custom_agent_orders;

ALTER TABLE project_showcases NO FORCE ROW LEVEL SECURITY;
ALTER TABLE template_reviews NO FORCE ROW LEVEL SECURITY;
ALTER TABLE build_logs NO FORCE ROW LEVEL SECURITY;
ALTER TABLE order_milestones NO FORCE ROW LEVEL SECURITY;
ALTER TABLE tool_blueprints NO FORCE ROW LEVEL SECURITY;
ALTER TABLE agent_templates NO FORCE ROW LEVEL SECURITY;
ALTER TABLE custom_agent_orders NO FORCE ROW LEVEL SECURITY;

ALTER TABLE project_showcases DISABLE ROW LEVEL SECURITY;
ALTER TABLE template_reviews DISABLE ROW LEVEL SECURITY;
ALTER TABLE build_logs DISABLE ROW LEVEL SECURITY;
ALTER TABLE order_milestones DISABLE ROW LEVEL SECURITY;
ALTER TABLE tool_blueprints DISABLE ROW LEVEL SECURITY;
ALTER TABLE agent_templates DISABLE ROW LEVEL SECURITY;
ALTER TABLE custom_agent_orders DISABLE ROW LEVEL SECURITY;
