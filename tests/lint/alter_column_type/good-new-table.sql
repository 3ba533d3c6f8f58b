-- A table created in the same run is new: nothing to rewrite.
CREATE TEMP TABLE scratch (total int);
ALTER TABLE scratch ALTER COLUMN total TYPE bigint;
