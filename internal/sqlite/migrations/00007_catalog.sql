-- +goose Up
-- The catalog: datasets of a project, in one of the data areas, with an
-- owner and a classification; their versions (open while files are
-- uploaded, then committed and immutable); the files of each version, each
-- one encrypted object.
CREATE TABLE datasets (
    id             TEXT PRIMARY KEY,
    zone_id        TEXT NOT NULL REFERENCES zones (id),
    project_id     TEXT NOT NULL REFERENCES projects (id),
    name           TEXT NOT NULL,
    area           TEXT NOT NULL,
    owner_id       TEXT NOT NULL,
    owner_name     TEXT NOT NULL,
    description    TEXT NOT NULL,
    tags           TEXT NOT NULL,
    classification TEXT NOT NULL,
    retention_days INTEGER NOT NULL,
    latest_version INTEGER NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    UNIQUE (project_id, name)
);
CREATE INDEX datasets_classification ON datasets (project_id, classification);

CREATE TABLE dataset_versions (
    id           TEXT PRIMARY KEY,
    dataset_id   TEXT NOT NULL REFERENCES datasets (id),
    number       INTEGER NOT NULL,
    state        TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    size         BIGINT NOT NULL,
    file_count   INTEGER NOT NULL,
    operation    TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    committed_at BIGINT,
    retain_until BIGINT,
    UNIQUE (dataset_id, number)
);

CREATE TABLE dataset_files (
    version_id TEXT NOT NULL REFERENCES dataset_versions (id),
    path       TEXT NOT NULL,
    object_id  TEXT NOT NULL REFERENCES objects (id),
    size       BIGINT NOT NULL,
    sha256     TEXT NOT NULL,
    format     TEXT NOT NULL,
    schema     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (version_id, path)
);

-- Committed versions are immutable, even to SQL run beside the platform by
-- mistake: their files cannot change or go.
CREATE TRIGGER dataset_files_immutable_update BEFORE UPDATE ON dataset_files
WHEN (SELECT state FROM dataset_versions WHERE id = OLD.version_id) = 'committed'
BEGIN SELECT RAISE(ABORT, 'dataset version is committed and immutable'); END;
CREATE TRIGGER dataset_files_immutable_delete BEFORE DELETE ON dataset_files
WHEN (SELECT state FROM dataset_versions WHERE id = OLD.version_id) = 'committed'
BEGIN SELECT RAISE(ABORT, 'dataset version is committed and immutable'); END;
-- A committed version changes only to deleted (after its retention, with
-- approval), keeping its number, hash and size as a tombstone; then its
-- files may go.
CREATE TRIGGER dataset_files_immutable_insert BEFORE INSERT ON dataset_files
WHEN (SELECT state FROM dataset_versions WHERE id = NEW.version_id) = 'committed'
BEGIN SELECT RAISE(ABORT, 'dataset version is committed and immutable'); END;
CREATE TRIGGER dataset_versions_immutable BEFORE UPDATE ON dataset_versions
WHEN OLD.state IN ('committed', 'deleted') AND (NEW.sha256 <> OLD.sha256 OR NEW.size <> OLD.size OR NEW.number <> OLD.number
    OR NEW.dataset_id <> OLD.dataset_id OR (NEW.state <> OLD.state AND NOT (OLD.state = 'committed' AND NEW.state = 'deleted')))
BEGIN SELECT RAISE(ABORT, 'dataset version is committed and immutable'); END;

-- +goose Down
DROP TRIGGER dataset_versions_immutable;
DROP TRIGGER dataset_files_immutable_insert;
DROP TRIGGER dataset_files_immutable_delete;
DROP TRIGGER dataset_files_immutable_update;
DROP TABLE dataset_files;
DROP TABLE dataset_versions;
DROP TABLE datasets;
