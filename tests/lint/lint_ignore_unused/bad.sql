-- garage:lint-ignore drop_table left over from an older version of this file
SELECT 1;
