-- The constraint was added NOT VALID by an earlier migration, already
-- committed: validating it takes SHARE UPDATE EXCLUSIVE only.
SET LOCAL lock_timeout = '5s';
ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;
