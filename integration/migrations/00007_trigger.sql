-- +goose Up
-- +goose StatementBegin
CREATE TRIGGER events_stamp AFTER INSERT ON events
WHEN NEW.created_at = 0 OR NEW.size = 0
BEGIN
    UPDATE events SET created_at = NEW.id, size = length(NEW.payload) WHERE id = NEW.id;
END;
-- +goose StatementEnd
-- Stamp the rows written by the application since version 3.
UPDATE events SET created_at = id, size = length(payload) WHERE created_at = 0 OR size = 0;
UPDATE settings SET value = 'v7' WHERE key = 'schema';

-- +goose Down
DROP TRIGGER events_stamp;
UPDATE settings SET value = 'v5' WHERE key = 'schema';
