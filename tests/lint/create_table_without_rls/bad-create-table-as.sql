CREATE TABLE countries_copy AS SELECT 'DE'::text AS code, 'Germany'::text AS name;
