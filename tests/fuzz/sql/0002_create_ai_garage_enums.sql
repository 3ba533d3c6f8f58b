-- The seven AI Garage enums, labels in the spec's order (order matters:
-- enum values compare by it).
-- garage:up
CREATE TYPE "ComplexityLevel" AS ENUM (
  'SIMPLE', 'MODERATE', 'COMPLEX', 'ENTERPRISE'
);

CREATE TYPE "OrderStatus" AS ENUM (
  'DRAFT', 'SUBMITTED', 'IN_REVIEW', 'APPROVED', 'IN_PROGRESS',
  'TESTING', 'COMPLETED', 'DELIVERED', 'CANCELLED', 'REJECTED'
);

CREATE TYPE "OrderPriority" AS ENUM (
  'LOW', 'NORMAL', 'HIGH', 'URGENT'
);

CREATE TYPE "AgentCategory" AS ENUM (
  'SALES', 'SUPPORT', 'ANALYSIS', 'CONTENT', 'AUTOMATION', 'RESEARCH'
);

CREATE TYPE "ToolCategory" AS ENUM (
  'AUTOMATION', 'ANALYTICS', 'INTEGRATION', 'UI', 'API', 'WORKFLOW'
);

CREATE TYPE "LogLevel" AS ENUM (
  'DEBUG', 'INFO', 'WARN', 'ERROR'
);

CREATE TYPE "ShowcaseCategory" AS ENUM (
  'AI_AGENT', 'AUTOMATION_TOOL', 'INTEGRATION', 'WORKFLOW', 'CUSTOM_SOLUTION'
);

-- garage:down
DROP TYPE "ShowcaseCategory";
DROP TYPE "LogLevel";
DROP TYPE "ToolCategory";
DROP TYPE "AgentCategory";
DROP TYPE "OrderPriority";
DROP TYPE "OrderStatus";
DROP TYPE "ComplexityLevel";
