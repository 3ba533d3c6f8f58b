GRANT SELECT ON orders TO app_user;
