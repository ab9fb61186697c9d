-- +goose Up
-- Requests that need a second person: destroying a project's keys (another
-- Platform Admin approves), deleting a dataset version after its retention
-- (another person who may catalog the dataset approves), and access to
-- production data from dev (the dataset's data owner approves). Nobody
-- decides their own request.
CREATE TABLE data_requests (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    project_id       TEXT NOT NULL REFERENCES projects (id),
    scope            TEXT NOT NULL,
    dataset_id       TEXT NOT NULL,
    version          INTEGER NOT NULL,
    environment      TEXT NOT NULL,
    justification    TEXT NOT NULL,
    duration_seconds BIGINT NOT NULL,
    state            TEXT NOT NULL,
    requested_by     TEXT NOT NULL,
    requester_name   TEXT NOT NULL,
    decided_by       TEXT NOT NULL,
    decider_name     TEXT NOT NULL,
    comment          TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    decided_at       BIGINT,
    expires_at       BIGINT,
    used_at          BIGINT
);
CREATE INDEX data_requests_project ON data_requests (project_id, created_at);

-- A dataset copied into a dev area under a production-data access grant
-- names the grant: it is readable in dev only while the grant lasts.
ALTER TABLE datasets ADD COLUMN grant_id TEXT NOT NULL DEFAULT '';

-- Where a version came from: its parent versions and the operation.
CREATE TABLE dataset_lineage (
    version_id        TEXT NOT NULL REFERENCES dataset_versions (id),
    parent_version_id TEXT NOT NULL REFERENCES dataset_versions (id),
    operation         TEXT NOT NULL,
    PRIMARY KEY (version_id, parent_version_id)
);
CREATE INDEX dataset_lineage_parent ON dataset_lineage (parent_version_id);

-- Labels of a dataset's columns: direct identifier, quasi-identifier,
-- sensitive attribute.
CREATE TABLE dataset_columns (
    dataset_id TEXT NOT NULL REFERENCES datasets (id),
    name       TEXT NOT NULL,
    label      TEXT NOT NULL,
    PRIMARY KEY (dataset_id, name)
);

-- The columns of each committed version's tables, for search by column.
CREATE TABLE version_columns (
    version_id TEXT NOT NULL REFERENCES dataset_versions (id),
    name       TEXT NOT NULL,
    type       TEXT NOT NULL,
    PRIMARY KEY (version_id, name)
);
CREATE INDEX version_columns_name ON version_columns (name);

-- +goose Down
DROP TABLE version_columns;
DROP TABLE dataset_columns;
DROP TABLE dataset_lineage;
ALTER TABLE datasets DROP COLUMN grant_id;
DROP TABLE data_requests;
