ALTER TABLE orders ADD COLUMN note2 text;
