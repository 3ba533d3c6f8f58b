-- garage:up
SELECT $a$ ; $a$; SELECT E'\';';
/* /* nested */ */ CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;
-- garage:down
SELECT 1
