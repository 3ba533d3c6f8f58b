-- Custom agent orders: the spec's table, NOT NULL where its Prisma model
-- has no '?', progress bounded to 0-100, updated_at maintained by trigger.
-- garage:up
CREATE TABLE custom_agent_orders (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  title VARCHAR(100) NOT NULL,
  description TEXT NOT NULL,
  requirements JSONB NOT NULL,
  use_case VARCHAR(200) NOT NULL,
  complexity "ComplexityLevel" NOT NULL,
  estimated_hours INTEGER,
  estimated_cost DECIMAL(12, 2),
  status "OrderStatus" NOT NULL DEFAULT 'DRAFT',
  priority "OrderPriority" NOT NULL DEFAULT 'NORMAL',
  submitted_at TIMESTAMPTZ,
  started_at TIMESTAMPTZ,
  completed_at TIMESTAMPTZ,
  delivered_at TIMESTAMPTZ,
  progress INTEGER NOT NULL DEFAULT 0
    CONSTRAINT custom_agent_orders_progress_range CHECK (progress BETWEEN 0 AND 100),
  current_stage VARCHAR(50),
  agent_config JSONB NOT NULL,
  tools_config JSONB NOT NULL,
  organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  created_by_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  assigned_to_id UUID REFERENCES users(id) ON DELETE SET NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_orders_organization_id ON custom_agent_orders(organization_id);
CREATE INDEX idx_orders_created_by_id ON custom_agent_orders(created_by_id);
CREATE INDEX idx_orders_assigned_to_id ON custom_agent_orders(assigned_to_id);
CREATE INDEX idx_orders_status ON custom_agent_orders(status);
CREATE INDEX idx_orders_complexity ON custom_agent_orders(complexity);
CREATE INDEX idx_orders_created_at ON custom_agent_orders(created_at);

CREATE TRIGGER custom_agent_orders_set_updated_at
  BEFORE UPDATE ON custom_agent_orders
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- garage:down
DROP TABLE custom_agent_orders;
