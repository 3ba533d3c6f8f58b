-- Agent templates.  organization_id is NULL for system templates.
-- garage:up
CREATE TABLE agent_templates (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  name VARCHAR(100) NOT NULL,
  description TEXT NOT NULL,
  category "AgentCategory" NOT NULL,
  avatar VARCHAR(500),
  personality_config JSONB NOT NULL,
  model_config JSONB NOT NULL,
  tools_config JSONB NOT NULL,
  memory_config JSONB NOT NULL,
  tags TEXT[] NOT NULL DEFAULT '{}',
  features TEXT[] NOT NULL DEFAULT '{}',
  use_cases TEXT[] NOT NULL DEFAULT '{}',
  usage_count INTEGER NOT NULL DEFAULT 0
    CONSTRAINT agent_templates_usage_count_nonnegative CHECK (usage_count >= 0),
  rating DECIMAL(3, 2)
    CONSTRAINT agent_templates_rating_range CHECK (rating BETWEEN 0 AND 5),
  is_popular BOOLEAN NOT NULL DEFAULT false,
  is_public BOOLEAN NOT NULL DEFAULT false,
  is_system BOOLEAN NOT NULL DEFAULT false,
  organization_id UUID REFERENCES organizations(id) ON DELETE CASCADE,
  created_by_id UUID REFERENCES users(id) ON DELETE SET NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_templates_organization_id ON agent_templates(organization_id);
CREATE INDEX idx_templates_created_by_id ON agent_templates(created_by_id);
CREATE INDEX idx_templates_category ON agent_templates(category);
CREATE INDEX idx_templates_is_public ON agent_templates(is_public);
CREATE INDEX idx_templates_is_system ON agent_templates(is_system);

CREATE TRIGGER agent_templates_set_updated_at
  BEFORE UPDATE ON agent_templates
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- garage:down
DROP TABLE agent_templates;
