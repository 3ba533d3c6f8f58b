-- Order milestones, build logs, template reviews and project showcases.
-- idx_reviews_reviewer_id is not in the spec: without it, deleting a user
-- scans template_reviews for its ON DELETE CASCADE.
-- garage:up
CREATE TABLE order_milestones (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  order_id UUID NOT NULL REFERENCES custom_agent_orders(id) ON DELETE CASCADE,
  name VARCHAR(100) NOT NULL,
  description TEXT,
  stage VARCHAR(50) NOT NULL,
  due_date TIMESTAMPTZ,
  completed_at TIMESTAMPTZ,
  is_completed BOOLEAN NOT NULL DEFAULT false,
  sort_order INTEGER NOT NULL DEFAULT 0,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX idx_milestones_order_id ON order_milestones(order_id);
CREATE INDEX idx_milestones_stage ON order_milestones(stage);

CREATE TABLE build_logs (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  order_id UUID NOT NULL REFERENCES custom_agent_orders(id) ON DELETE CASCADE,
  stage VARCHAR(50) NOT NULL,
  message TEXT NOT NULL,
  details JSONB,
  log_level "LogLevel" NOT NULL DEFAULT 'INFO',
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX idx_logs_order_id ON build_logs(order_id);
CREATE INDEX idx_logs_log_level ON build_logs(log_level);
CREATE INDEX idx_logs_created_at ON build_logs(created_at);

CREATE TABLE template_reviews (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  template_id UUID NOT NULL REFERENCES agent_templates(id) ON DELETE CASCADE,
  rating INTEGER NOT NULL
    CONSTRAINT template_reviews_rating_range CHECK (rating BETWEEN 1 AND 5),
  review TEXT,
  organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  reviewer_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  UNIQUE (template_id, reviewer_id)
);
CREATE INDEX idx_reviews_template_id ON template_reviews(template_id);
CREATE INDEX idx_reviews_organization_id ON template_reviews(organization_id);
CREATE INDEX idx_reviews_reviewer_id ON template_reviews(reviewer_id);

CREATE TABLE project_showcases (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  title VARCHAR(100) NOT NULL,
  description TEXT NOT NULL,
  category "ShowcaseCategory" NOT NULL,
  image_url VARCHAR(500),
  demo_url VARCHAR(500),
  features TEXT[] NOT NULL DEFAULT '{}',
  technologies TEXT[] NOT NULL DEFAULT '{}',
  views INTEGER NOT NULL DEFAULT 0
    CONSTRAINT project_showcases_views_nonnegative CHECK (views >= 0),
  likes INTEGER NOT NULL DEFAULT 0
    CONSTRAINT project_showcases_likes_nonnegative CHECK (likes >= 0),
  is_public BOOLEAN NOT NULL DEFAULT false,
  is_featured BOOLEAN NOT NULL DEFAULT false,
  organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  created_by_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX idx_showcases_organization_id ON project_showcases(organization_id);
CREATE INDEX idx_showcases_created_by_id ON project_showcases(created_by_id);
CREATE INDEX idx_showcases_category ON project_showcases(category);
CREATE INDEX idx_showcases_is_public ON project_showcases(is_public);
CREATE INDEX idx_showcases_is_featured ON project_showcases(is_featured);

CREATE TRIGGER project_showcases_set_updated_at
  BEFORE UPDATE ON project_showcases
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- garage:down
DROP TABLE project_showcases;
DROP TABLE template_reviews;
DROP TABLE build_logs;
DROP TABLE order_milestones;
