INSERT INTO seed (id, note, at) VALUES (1, 'one', now()),
  (2, E'it\'s', NULL), (-3, $$x;y$$, '2026-01-01'::timestamptz),
  (4, 'four'::text, TRUE) -- rows of constants
;
INSERT INTO s.t VALUES (1), (2), ('x'::"T");
