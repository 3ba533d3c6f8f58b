SET LOCAL lock_timeout = '5s';
-- Released without the table in 2.3; rows archived to archive.legacy_orders.
-- garage:lint-ignore drop_table released without it in 2.3, rows archived
-- squawk-ignore ban-drop-table
DROP TABLE legacy_orders;
