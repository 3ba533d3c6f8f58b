SET LOCAL lock_timeout = '5s';
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
-- The ADD's lock is held until COMMIT: this check of every row blocks writes.
ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;
