SET LOCAL lock_timeout = '5s';
ALTER TABLE orders ADD COLUMN token uuid;
ALTER TABLE orders ALTER COLUMN token SET DEFAULT gen_random_uuid();
-- A constant or stable default is stored once, not written to every row.
ALTER TABLE orders ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE orders ADD COLUMN flags int NOT NULL DEFAULT 0;
