-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX IF NOT EXISTS events_kind_created ON events (kind, created_at);

-- +goose Down
DROP INDEX IF EXISTS events_kind_created;
