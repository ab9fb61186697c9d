-- +goose Up
-- Times are Unix microseconds (BIGINT), JSON is TEXT: the same columns and
-- the same SQL serve SQLite and PostgreSQL.
CREATE TABLE zones (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    region       TEXT NOT NULL,
    tags         TEXT NOT NULL DEFAULT '{}',
    state        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE projects (
    id                 TEXT PRIMARY KEY,
    zone_id            TEXT NOT NULL REFERENCES zones (id),
    name               TEXT NOT NULL,
    description        TEXT NOT NULL,
    owner              TEXT NOT NULL,
    cost_center        TEXT NOT NULL,
    tags               TEXT NOT NULL DEFAULT '{}',
    max_classification TEXT NOT NULL,
    state              TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    UNIQUE (zone_id, name)
);

CREATE TABLE environments (
    id                       TEXT PRIMARY KEY,
    zone_id                  TEXT NOT NULL REFERENCES zones (id),
    project_id               TEXT REFERENCES projects (id),
    -- scope_key is the project ID, or '' for a zone's shared environments,
    -- so that one unique index covers both.
    scope_key                TEXT NOT NULL,
    name                     TEXT NOT NULL,
    certified_classification TEXT NOT NULL,
    state                    TEXT NOT NULL,
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL,
    UNIQUE (zone_id, scope_key, name)
);

CREATE TABLE principals (
    id             TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    name           TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    platform_admin BOOLEAN NOT NULL DEFAULT FALSE,
    disabled       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     BIGINT NOT NULL
);

CREATE TABLE credentials (
    id           TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES principals (id),
    kind         TEXT NOT NULL,
    hash         BLOB NOT NULL,
    created_at   BIGINT NOT NULL,
    used_at      BIGINT
);
CREATE INDEX credentials_principal ON credentials (principal_id, kind);

CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES principals (id),
    name         TEXT NOT NULL,
    hash         BLOB NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);

CREATE TABLE audit_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    time        BIGINT NOT NULL,
    actor_id    TEXT NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_name  TEXT NOT NULL,
    auth_method TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    scope       TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    source_addr TEXT NOT NULL,
    user_agent  TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    details     TEXT NOT NULL
);
CREATE INDEX audit_events_action ON audit_events (action, seq);
CREATE INDEX audit_events_request ON audit_events (request_id);

CREATE TABLE tasks (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    scope            TEXT NOT NULL,
    payload          TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    max_attempts     INTEGER NOT NULL,
    run_at           BIGINT NOT NULL,
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX tasks_due ON tasks (state, run_at);
CREATE INDEX tasks_lease ON tasks (state, lease_expires_at);

CREATE TABLE outbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    topic           TEXT NOT NULL,
    msg_key         TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    delivered_at    BIGINT
);
CREATE INDEX outbox_pending ON outbox (topic, delivered_at, seq);

CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE idempotency_keys (
    principal_id  TEXT NOT NULL,
    idem_key      TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        INTEGER NOT NULL DEFAULT 0,
    content_type  TEXT NOT NULL DEFAULT '',
    body          BLOB,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    PRIMARY KEY (principal_id, idem_key)
);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE leases;
DROP TABLE outbox;
DROP TABLE tasks;
DROP TABLE audit_events;
DROP TABLE tokens;
DROP TABLE credentials;
DROP TABLE principals;
DROP TABLE environments;
DROP TABLE projects;
DROP TABLE zones;
