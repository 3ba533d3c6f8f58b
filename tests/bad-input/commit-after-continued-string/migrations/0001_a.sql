CREATE TABLE t (id int);
SELECT E''
'\'' ; COMMIT ; -- '
SELECT 1;
