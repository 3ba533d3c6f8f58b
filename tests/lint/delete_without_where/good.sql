DELETE FROM sessions WHERE expires_at < now() - interval '30 days';
