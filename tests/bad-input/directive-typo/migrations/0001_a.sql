-- garage:up
CREATE TABLE a (id int);
-- garage:dwon
DROP TABLE a;
