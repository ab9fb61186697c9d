-- +goose Up
-- The highest classification of data a zone may hold; policies keep its
-- projects within it. Existing zones may hold anything, as before.
ALTER TABLE zones ADD COLUMN max_classification TEXT NOT NULL DEFAULT 'restricted';

-- +goose Down
ALTER TABLE zones DROP COLUMN max_classification;
