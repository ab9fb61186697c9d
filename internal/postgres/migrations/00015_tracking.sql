-- +goose Up
-- Experiment tracking and the model registry (MLflow's model): experiments
-- of a project, runs with parameters, tags, every logged metric value and
-- the latest one per key (what searches filter and sort on), dataset inputs
-- (with the catalog dataset version a source names), model outputs, logged
-- models, artifact files (each an encrypted object), registered models,
-- versions, aliases and tags. Times are milliseconds since the epoch, as
-- MLflow's.
CREATE TABLE tracking_experiments (
    id                TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL REFERENCES projects (id),
    name              TEXT NOT NULL,
    artifact_location TEXT NOT NULL,
    lifecycle_stage   TEXT NOT NULL,
    created_by        TEXT NOT NULL,
    creation_time     BIGINT NOT NULL,
    last_update_time  BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE tracking_experiment_tags (
    experiment_id TEXT NOT NULL REFERENCES tracking_experiments (id),
    key           TEXT NOT NULL,
    value         TEXT NOT NULL,
    PRIMARY KEY (experiment_id, key)
);

CREATE TABLE tracking_runs (
    id              TEXT PRIMARY KEY,
    experiment_id   TEXT NOT NULL REFERENCES tracking_experiments (id),
    project_id      TEXT NOT NULL REFERENCES projects (id),
    name            TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    principal_id    TEXT NOT NULL,
    status          TEXT NOT NULL,
    start_time      BIGINT NOT NULL,
    end_time        BIGINT,
    artifact_uri    TEXT NOT NULL,
    lifecycle_stage TEXT NOT NULL
);
CREATE INDEX tracking_runs_experiment ON tracking_runs (experiment_id, lifecycle_stage, start_time, id);

CREATE TABLE tracking_params (
    run_id TEXT NOT NULL REFERENCES tracking_runs (id),
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);

CREATE TABLE tracking_run_tags (
    run_id TEXT NOT NULL REFERENCES tracking_runs (id),
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);

-- Every value ever logged. An exact repeat (a client's retry) is ignored.
CREATE TABLE tracking_metrics (
    run_id         TEXT NOT NULL REFERENCES tracking_runs (id),
    key            TEXT NOT NULL,
    step           BIGINT NOT NULL,
    ts             BIGINT NOT NULL,
    value          DOUBLE PRECISION NOT NULL,
    is_nan         BOOLEAN NOT NULL,
    model_id       TEXT NOT NULL,
    dataset_name   TEXT NOT NULL,
    dataset_digest TEXT NOT NULL,
    PRIMARY KEY (run_id, key, step, ts, value, is_nan)
);
-- The values logged with a logged model's ID (MLflow 3), which are few.
CREATE INDEX tracking_metrics_model ON tracking_metrics (model_id) WHERE model_id <> '';

-- The latest value per key: the greatest (step, timestamp, value).
CREATE TABLE tracking_latest_metrics (
    run_id    TEXT NOT NULL REFERENCES tracking_runs (id),
    key       TEXT NOT NULL,
    step      BIGINT NOT NULL,
    ts        BIGINT NOT NULL,
    value     DOUBLE PRECISION NOT NULL,
    is_nan    BOOLEAN NOT NULL,
    PRIMARY KEY (run_id, key)
);

CREATE TABLE tracking_datasets (
    id            TEXT PRIMARY KEY,
    experiment_id TEXT NOT NULL REFERENCES tracking_experiments (id),
    name          TEXT NOT NULL,
    digest        TEXT NOT NULL,
    source_type   TEXT NOT NULL,
    source        TEXT NOT NULL,
    dataset_schema TEXT NOT NULL,
    profile       TEXT NOT NULL,
    -- The catalog dataset version the source names, if any (lineage).
    dataset_version_id TEXT,
    UNIQUE (experiment_id, name, digest)
);

CREATE TABLE tracking_inputs (
    run_id     TEXT NOT NULL REFERENCES tracking_runs (id),
    dataset_id TEXT NOT NULL REFERENCES tracking_datasets (id),
    tags       TEXT NOT NULL,
    PRIMARY KEY (run_id, dataset_id)
);

CREATE TABLE tracking_model_inputs (
    run_id   TEXT NOT NULL REFERENCES tracking_runs (id),
    model_id TEXT NOT NULL,
    PRIMARY KEY (run_id, model_id)
);

CREATE TABLE tracking_outputs (
    run_id   TEXT NOT NULL REFERENCES tracking_runs (id),
    model_id TEXT NOT NULL,
    step     BIGINT NOT NULL,
    PRIMARY KEY (run_id, model_id)
);

CREATE TABLE tracking_logged_models (
    id                TEXT PRIMARY KEY,
    experiment_id     TEXT NOT NULL REFERENCES tracking_experiments (id),
    project_id        TEXT NOT NULL REFERENCES projects (id),
    name              TEXT NOT NULL,
    artifact_location TEXT NOT NULL,
    status            TEXT NOT NULL,
    status_message    TEXT NOT NULL,
    lifecycle_stage   TEXT NOT NULL,
    model_type        TEXT NOT NULL,
    source_run_id     TEXT NOT NULL,
    created_by        TEXT NOT NULL,
    creation_time     BIGINT NOT NULL,
    last_updated_time BIGINT NOT NULL
);
CREATE INDEX tracking_logged_models_experiment ON tracking_logged_models (experiment_id, creation_time);

CREATE TABLE tracking_logged_model_params (
    model_id TEXT NOT NULL REFERENCES tracking_logged_models (id),
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
);

CREATE TABLE tracking_logged_model_tags (
    model_id TEXT NOT NULL REFERENCES tracking_logged_models (id),
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
);

-- Artifact files of a run or a logged model (root), by path below it.
CREATE TABLE tracking_artifacts (
    root       TEXT NOT NULL,
    path       TEXT NOT NULL,
    object_id  TEXT NOT NULL REFERENCES objects (id),
    size       BIGINT NOT NULL,
    sha256     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (root, path)
);

CREATE TABLE registry_models (
    id                TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL REFERENCES projects (id),
    name              TEXT NOT NULL,
    description       TEXT NOT NULL,
    created_by        TEXT NOT NULL,
    creation_time     BIGINT NOT NULL,
    last_updated_time BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE registry_model_tags (
    model_id TEXT NOT NULL REFERENCES registry_models (id),
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
);

CREATE TABLE registry_versions (
    model_id          TEXT NOT NULL REFERENCES registry_models (id),
    version           INTEGER NOT NULL,
    user_id           TEXT NOT NULL,
    stage             TEXT NOT NULL,
    description       TEXT NOT NULL,
    source            TEXT NOT NULL,
    run_id            TEXT NOT NULL,
    run_link          TEXT NOT NULL,
    logged_model_id   TEXT NOT NULL,
    status            TEXT NOT NULL,
    status_message    TEXT NOT NULL,
    creation_time     BIGINT NOT NULL,
    last_updated_time BIGINT NOT NULL,
    PRIMARY KEY (model_id, version)
);
CREATE INDEX registry_versions_run ON registry_versions (run_id);

CREATE TABLE registry_version_tags (
    model_id TEXT NOT NULL,
    version  INTEGER NOT NULL,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model_id, version, key),
    FOREIGN KEY (model_id, version) REFERENCES registry_versions (model_id, version)
);

CREATE TABLE registry_aliases (
    model_id TEXT NOT NULL REFERENCES registry_models (id),
    alias    TEXT NOT NULL,
    version  INTEGER NOT NULL,
    PRIMARY KEY (model_id, alias),
    FOREIGN KEY (model_id, version) REFERENCES registry_versions (model_id, version)
);

-- +goose Down
DROP TABLE registry_aliases;
DROP TABLE registry_version_tags;
DROP TABLE registry_versions;
DROP TABLE registry_model_tags;
DROP TABLE registry_models;
DROP TABLE tracking_artifacts;
DROP TABLE tracking_logged_model_tags;
DROP TABLE tracking_logged_model_params;
DROP TABLE tracking_logged_models;
DROP TABLE tracking_outputs;
DROP TABLE tracking_model_inputs;
DROP TABLE tracking_inputs;
DROP TABLE tracking_datasets;
DROP TABLE tracking_latest_metrics;
DROP TABLE tracking_metrics;
DROP TABLE tracking_run_tags;
DROP TABLE tracking_params;
DROP TABLE tracking_runs;
DROP TABLE tracking_experiment_tags;
DROP TABLE tracking_experiments;
