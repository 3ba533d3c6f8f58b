SET LOCAL lock_timeout = '5s';
-- Expand: a new column, backfilled in batches outside this migration.
ALTER TABLE orders ADD COLUMN total_big bigint;
