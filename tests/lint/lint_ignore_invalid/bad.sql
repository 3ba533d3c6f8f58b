SET LOCAL lock_timeout = '5s';
-- garage:lint-ignore drop_table
DROP TABLE legacy_orders;
