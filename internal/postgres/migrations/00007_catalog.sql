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
-- +goose StatementBegin
CREATE FUNCTION dataset_immutable() RETURNS trigger AS $$
DECLARE
    vid TEXT;
BEGIN
    IF TG_TABLE_NAME = 'dataset_versions' THEN
        -- A committed version changes only to deleted (after its retention,
        -- with approval), keeping its number, hash and size as a tombstone.
        IF OLD.state IN ('committed', 'deleted') AND (NEW.sha256 <> OLD.sha256 OR NEW.size <> OLD.size
            OR NEW.number <> OLD.number OR NEW.dataset_id <> OLD.dataset_id
            OR (NEW.state <> OLD.state AND NOT (OLD.state = 'committed' AND NEW.state = 'deleted'))) THEN
            RAISE EXCEPTION 'dataset version is committed and immutable';
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN vid := NEW.version_id; ELSE vid := OLD.version_id; END IF;
    IF (SELECT state FROM dataset_versions WHERE id = vid) = 'committed' THEN
        RAISE EXCEPTION 'dataset version is committed and immutable';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER dataset_files_immutable BEFORE INSERT OR UPDATE OR DELETE ON dataset_files
    FOR EACH ROW EXECUTE FUNCTION dataset_immutable();
CREATE TRIGGER dataset_versions_immutable BEFORE UPDATE ON dataset_versions
    FOR EACH ROW EXECUTE FUNCTION dataset_immutable();

-- +goose Down
DROP TRIGGER dataset_versions_immutable ON dataset_versions;
DROP TRIGGER dataset_files_immutable ON dataset_files;
DROP FUNCTION dataset_immutable();
DROP TABLE dataset_files;
DROP TABLE dataset_versions;
DROP TABLE datasets;
