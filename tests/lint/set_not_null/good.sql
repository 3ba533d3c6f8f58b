-- garage:no-transaction
-- Each statement its own transaction: the validation holds a weak lock,
-- and SET NOT NULL uses the validated check instead of a scan.
SET lock_timeout = '5s';
ALTER TABLE orders ADD CONSTRAINT orders_note_not_null CHECK (note IS NOT NULL) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_note_not_null;
ALTER TABLE orders ALTER COLUMN note SET NOT NULL;
ALTER TABLE orders DROP CONSTRAINT orders_note_not_null;
