-- PostgreSQL 16 syntax, beyond libpg_query's grammar.
SELECT JSON_ARRAY(1, 2 RETURNING jsonb);
