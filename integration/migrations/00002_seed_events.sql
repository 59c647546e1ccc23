-- +goose Up
-- Data: 1000 seed rows from a recursive CTE.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
INSERT INTO events (kind, payload) SELECT 'seed', 'seed-' || i FROM n;

-- +goose Down
DELETE FROM events WHERE kind = 'seed';
