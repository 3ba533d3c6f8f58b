-- Prerequisites of the AI Garage schema: the tenants (organizations) and
-- the people (users) every tenant table refers to.  On a database that
-- already has them (an existing application), mark this migration applied
-- without running it instead of applying it.
-- garage:up
CREATE TABLE organizations (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  name TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE users (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  email TEXT NOT NULL UNIQUE,
  name TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- garage:down
DROP TABLE users;
DROP TABLE organizations;
