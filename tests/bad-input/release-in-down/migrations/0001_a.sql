-- garage:up
CREATE TABLE precious (id int);
-- garage:down
DELETE FROM precious;
RELEASE SAVEPOINT gm_down;
DROP TABLE precious;
