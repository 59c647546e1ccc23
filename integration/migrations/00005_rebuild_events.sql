-- +goose Up
-- SQLite's table rebuild (https://www.sqlite.org/lang_altertable.html#otheralter):
-- a CHECK constraint and a NOT NULL column cannot be added in place.
CREATE TABLE events_new (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('seed', 'app')),
    payload    TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL DEFAULT 0,
    size       INTEGER NOT NULL DEFAULT 0
);
INSERT INTO events_new (id, kind, payload, created_at, size)
    SELECT id, kind, payload, created_at, length(payload) FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
UPDATE settings SET value = 'v5' WHERE key = 'schema';

-- +goose Down
UPDATE settings SET value = 'v4' WHERE key = 'schema';
