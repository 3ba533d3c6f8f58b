SET LOCAL lock_timeout = '5s';
-- Expand: a new column; the application writes both, then reads the new one.
ALTER TABLE orders ADD COLUMN remark text;
