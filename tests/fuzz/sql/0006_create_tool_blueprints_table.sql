-- Tool blueprints.
-- garage:up
CREATE TABLE tool_blueprints (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  name VARCHAR(100) NOT NULL,
  description TEXT NOT NULL,
  category "ToolCategory" NOT NULL,
  components JSONB NOT NULL,
  connections JSONB NOT NULL,
  configuration JSONB NOT NULL,
  version VARCHAR(20) NOT NULL DEFAULT '1.0.0',
  tags TEXT[] NOT NULL DEFAULT '{}',
  complexity "ComplexityLevel" NOT NULL,
  usage_count INTEGER NOT NULL DEFAULT 0
    CONSTRAINT tool_blueprints_usage_count_nonnegative CHECK (usage_count >= 0),
  is_public BOOLEAN NOT NULL DEFAULT false,
  organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  created_by_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_blueprints_organization_id ON tool_blueprints(organization_id);
CREATE INDEX idx_blueprints_created_by_id ON tool_blueprints(created_by_id);
CREATE INDEX idx_blueprints_category ON tool_blueprints(category);
CREATE INDEX idx_blueprints_is_public ON tool_blueprints(is_public);

CREATE TRIGGER tool_blueprints_set_updated_at
  BEFORE UPDATE ON tool_blueprints
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- garage:down
DROP TABLE tool_blueprints;
