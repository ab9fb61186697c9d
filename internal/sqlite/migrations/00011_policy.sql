-- +goose Up
-- Guardrails as code: the platform's own policy definitions (built-in ones
-- live in the binary), their assignments at a scope, exemptions approved by
-- a second Platform Admin, and the last compliance scan's results. Every
-- change bumps policy_generation, by which replicas cache the compiled set.
CREATE TABLE policy_definitions (
    id         TEXT PRIMARY KEY,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);

CREATE TABLE policy_assignments (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    definition  TEXT NOT NULL,
    scope       TEXT NOT NULL,
    params      TEXT NOT NULL,
    mode        TEXT NOT NULL CHECK (mode IN ('enforce', 'dry-run')),
    description TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    updated_by  TEXT NOT NULL
);
CREATE INDEX policy_assignments_definition ON policy_assignments (definition);

CREATE TABLE policy_exemptions (
    id              TEXT PRIMARY KEY,
    assignment_id   TEXT NOT NULL REFERENCES policy_assignments (id) ON DELETE CASCADE,
    scope           TEXT NOT NULL,
    resource_kind   TEXT NOT NULL,
    resource_name   TEXT NOT NULL,
    reason          TEXT NOT NULL,
    expires_at      BIGINT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
    requested_by    TEXT NOT NULL,
    requested_by_id TEXT NOT NULL,
    requested_at    BIGINT NOT NULL,
    decided_by      TEXT NOT NULL,
    decided_at      BIGINT,
    comment         TEXT NOT NULL
);
CREATE INDEX policy_exemptions_assignment ON policy_exemptions (assignment_id);

CREATE TABLE policy_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO policy_generation (id, generation) VALUES (1, 0);

CREATE TABLE policy_compliance (
    assignment    TEXT NOT NULL,
    policy        TEXT NOT NULL,
    mode          TEXT NOT NULL,
    resource_kind TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    resource_name TEXT NOT NULL,
    scope         TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('compliant', 'non_compliant', 'exempt')),
    message       TEXT NOT NULL,
    evaluated_at  BIGINT NOT NULL,
    PRIMARY KEY (assignment, resource_kind, resource_id)
);
CREATE INDEX policy_compliance_scope ON policy_compliance (scope);

-- +goose Down
DROP TABLE policy_compliance;
DROP TABLE policy_generation;
DROP TABLE policy_exemptions;
DROP TABLE policy_assignments;
DROP TABLE policy_definitions;
