CREATE TABLE countries (code text PRIMARY KEY, name text NOT NULL);
