-- garage:no-transaction
DROP POLICY IF EXISTS tenant_isolation_templates_select ON agent_templates;
