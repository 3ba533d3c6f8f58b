-- garage:no-transaction
-- What needs no transaction, and takes no isolation away.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_templates_created ON agent_templates (created_at);
