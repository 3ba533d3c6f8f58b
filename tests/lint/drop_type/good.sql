-- A type the same migration made (a scratch step) is not in use.
CREATE TYPE scratch_mood AS ENUM ('a', 'b');
DROP TYPE scratch_mood;
