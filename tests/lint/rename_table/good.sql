-- Expand: the new name as a view; the application moves, then a later
-- migration drops the old name.
CREATE VIEW purchases WITH (security_invoker = true) AS SELECT * FROM orders;
