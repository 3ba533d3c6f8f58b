-- garage:no-transaction
-- Each statement its own transaction: the validation holds only
-- SHARE UPDATE EXCLUSIVE, and reads and writes go on.
SET lock_timeout = '5s';
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;
