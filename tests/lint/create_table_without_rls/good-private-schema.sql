-- Not in an exposed schema: no API reaches it.
CREATE TABLE internal.jobs (id bigint PRIMARY KEY);
