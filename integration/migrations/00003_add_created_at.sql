-- +goose Up
-- DDL and a data backfill in one transaction.
ALTER TABLE events ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
UPDATE events SET created_at = id WHERE created_at = 0;
UPDATE settings SET value = 'v3' WHERE key = 'schema';

-- +goose Down
ALTER TABLE events DROP COLUMN created_at;
UPDATE settings SET value = 'v1' WHERE key = 'schema';
