SET LOCAL lock_timeout = '5s';
-- garage:lint-ignore drop_column unused since release 2.3, checked in the logs
-- squawk-ignore ban-drop-column
ALTER TABLE orders DROP COLUMN legacy_code;
