ANALYZE orders;
