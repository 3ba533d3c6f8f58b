SET LOCAL lock_timeout = '5s';
-- garage:lint-ignore drop_table released without it in 2.3
-- squawk-ignore ban-drop-table
DROP TABLE legacy_orders;
