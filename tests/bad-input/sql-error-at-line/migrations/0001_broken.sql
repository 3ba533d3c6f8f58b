-- A migration whose sixth line has an error.
-- garage:up
CREATE TABLE a (id int);
CREATE TABLE b (id int);

CREATE TABLE c (id intt);
