-- garage:no-transaction
VACUUM ANALYZE orders;
