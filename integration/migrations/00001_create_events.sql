-- +goose Up
CREATE TABLE events (
    id      INTEGER PRIMARY KEY,
    kind    TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT ''
);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO settings (key, value) VALUES ('schema', 'v1');

-- +goose Down
DROP TABLE settings;
DROP TABLE events;
