CREATE TABLE a (id int);
COMMENT ON TABLE a IS 'café';
