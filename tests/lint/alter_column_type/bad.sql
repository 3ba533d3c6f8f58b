-- A wider amount, the quick way: a full rewrite.
ALTER TABLE orders ALTER COLUMN total TYPE bigint;
