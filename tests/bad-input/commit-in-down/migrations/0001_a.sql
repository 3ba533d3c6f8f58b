-- garage:up
CREATE TABLE precious (id int);
-- garage:down
COMMIT; DROP TABLE precious;
