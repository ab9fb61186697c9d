-- +goose Up
-- The airlock: import and export requests of a project, their history of
-- transitions, reviews, download links of approved exports, and the
-- project's airlock settings. A request's files live in a dataset of one of
-- the airlock's areas (staging); the manifest fixed at submission, the
-- checks (malware scan, de-identification report) and the column labels
-- are kept with the request as JSON.
CREATE TABLE airlock_requests (
    id                 TEXT PRIMARY KEY,
    project_id         TEXT NOT NULL REFERENCES projects (id),
    type               TEXT NOT NULL CHECK (type IN ('import', 'export')),
    title              TEXT NOT NULL,
    justification      TEXT NOT NULL,
    state              TEXT NOT NULL,
    requester_id       TEXT NOT NULL,
    requester_name     TEXT NOT NULL,
    classification     TEXT NOT NULL,
    target             TEXT NOT NULL,
    staging            TEXT NOT NULL,
    result             TEXT NOT NULL,
    labels             TEXT NOT NULL,
    files              TEXT NOT NULL,
    checks             TEXT NOT NULL,
    approvals_required INTEGER NOT NULL,
    failure            TEXT NOT NULL,
    revision           INTEGER NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    submitted_at       BIGINT
);
CREATE INDEX airlock_requests_project ON airlock_requests (project_id, type, id);
CREATE INDEX airlock_requests_state ON airlock_requests (state, id);

CREATE TABLE airlock_steps (
    request_id TEXT NOT NULL REFERENCES airlock_requests (id),
    seq        INTEGER NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    action     TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    comment    TEXT NOT NULL,
    at         BIGINT NOT NULL,
    PRIMARY KEY (request_id, seq)
);

CREATE TABLE airlock_reviews (
    request_id    TEXT NOT NULL REFERENCES airlock_requests (id),
    reviewer_id   TEXT NOT NULL,
    reviewer_name TEXT NOT NULL,
    decision      TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    comment       TEXT NOT NULL,
    at            BIGINT NOT NULL,
    PRIMARY KEY (request_id, reviewer_id)
);

CREATE TABLE airlock_links (
    hash       TEXT PRIMARY KEY,
    request_id TEXT NOT NULL REFERENCES airlock_requests (id),
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX airlock_links_request ON airlock_links (request_id);

CREATE TABLE airlock_settings (
    project_id         TEXT PRIMARY KEY REFERENCES projects (id),
    approvals_required INTEGER NOT NULL CHECK (approvals_required IN (1, 2)),
    import_review      BOOLEAN NOT NULL,
    updated_at         BIGINT NOT NULL,
    updated_by         TEXT NOT NULL
);

-- +goose Down
DROP TABLE airlock_settings;
DROP TABLE airlock_links;
DROP TABLE airlock_reviews;
DROP TABLE airlock_steps;
DROP TABLE airlock_requests;
