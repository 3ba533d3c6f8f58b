CREATE TEMP TABLE staging (id int);
INSERT INTO staging VALUES (1);
TRUNCATE staging;
