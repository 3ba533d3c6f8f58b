SET LOCAL lock_timeout = '0s';
ALTER TABLE orders ADD COLUMN note2 text;
