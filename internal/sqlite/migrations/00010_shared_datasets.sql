-- +goose Up
-- A raw or curated dataset its data owner shares with the zone: members of
-- the zone's other projects find it and read it in their own environments
-- (each certified for its classification); it stays under its project's
-- key and data owner.
ALTER TABLE datasets ADD COLUMN shared BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX datasets_shared ON datasets (zone_id, shared);

-- +goose Down
DROP INDEX datasets_shared;
ALTER TABLE datasets DROP COLUMN shared;
