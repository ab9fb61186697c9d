-- +goose Up
-- Identity: people, groups, service principals, their credentials and MFA.
ALTER TABLE principals ADD COLUMN email TEXT NOT NULL DEFAULT '';
-- service_kind is cicd, workspace, monitoring or governance for service principals.
ALTER TABLE principals ADD COLUMN service_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE principals ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE principals ADD COLUMN deleted_at BIGINT;

-- tokens.kind: login (bootstrap exchange), session (password+MFA sign-in),
-- pat (personal access token), service (client-credentials). scopes is a
-- JSON array of permission patterns the token is limited to; '' = all of
-- the holder's. mfa records whether the sign-in behind it used MFA.
ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'login';
ALTER TABLE tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN mfa BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX tokens_principal ON tokens (principal_id, kind);

CREATE TABLE passwords (
    principal_id TEXT PRIMARY KEY REFERENCES principals (id),
    hash         TEXT NOT NULL,
    changed_at   BIGINT NOT NULL
);

CREATE TABLE mfa_totp (
    principal_id TEXT PRIMARY KEY REFERENCES principals (id),
    secret       TEXT NOT NULL,
    confirmed_at BIGINT,
    -- last_step is the last TOTP time step accepted: a code is accepted once.
    last_step    BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL
);

CREATE TABLE recovery_codes (
    id           TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES principals (id),
    hash         BYTEA NOT NULL,
    used_at      BIGINT
);
CREATE INDEX recovery_codes_principal ON recovery_codes (principal_id);

-- sign_in_throttle counts recent failures per key ("account:<id>",
-- "source:<addr>") for backoff and lockout.
CREATE TABLE sign_in_throttle (
    throttle_key TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    first_at     BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0
);

-- sign_in_challenges hold the state between the password and the TOTP step.
CREATE TABLE sign_in_challenges (
    id           TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES principals (id),
    hash         BYTEA NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT
);

CREATE TABLE client_secrets (
    id           TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES principals (id),
    hash         BYTEA NOT NULL UNIQUE,
    description  TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX client_secrets_principal ON client_secrets (principal_id);

CREATE TABLE groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE group_members (
    group_id     TEXT NOT NULL REFERENCES groups (id),
    principal_id TEXT NOT NULL REFERENCES principals (id),
    added_at     BIGINT NOT NULL,
    PRIMARY KEY (group_id, principal_id)
);
CREATE INDEX group_members_principal ON group_members (principal_id);

CREATE TABLE settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);

-- Access: role assignments and just-in-time elevations. assignee_id is a
-- principal or a group; assignee_kind says which.
CREATE TABLE elevations (
    id            TEXT PRIMARY KEY,
    principal_id  TEXT NOT NULL REFERENCES principals (id),
    role          TEXT NOT NULL,
    scope         TEXT NOT NULL,
    duration_s    BIGINT NOT NULL,
    justification TEXT NOT NULL,
    state         TEXT NOT NULL,
    requested_at  BIGINT NOT NULL,
    decided_by    TEXT NOT NULL DEFAULT '',
    decided_at    BIGINT,
    decision_note TEXT NOT NULL DEFAULT '',
    activated_at  BIGINT,
    expires_at    BIGINT,
    ended_at      BIGINT
);
CREATE INDEX elevations_state ON elevations (state, expires_at);

CREATE TABLE role_assignments (
    id            TEXT PRIMARY KEY,
    assignee_id   TEXT NOT NULL,
    assignee_kind TEXT NOT NULL,
    role          TEXT NOT NULL,
    scope         TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    -- set for assignments that an approved elevation created
    elevation_id  TEXT REFERENCES elevations (id),
    expires_at    BIGINT
);
CREATE UNIQUE INDEX role_assignments_standing ON role_assignments (assignee_id, role, scope) WHERE elevation_id IS NULL;
CREATE INDEX role_assignments_assignee ON role_assignments (assignee_id);
CREATE INDEX role_assignments_scope ON role_assignments (scope);

-- +goose Down
DROP TABLE role_assignments;
DROP TABLE elevations;
DROP TABLE settings;
DROP TABLE group_members;
DROP TABLE groups;
DROP TABLE client_secrets;
DROP TABLE sign_in_challenges;
DROP TABLE sign_in_throttle;
DROP TABLE recovery_codes;
DROP TABLE mfa_totp;
DROP TABLE passwords;
DROP INDEX tokens_principal;
ALTER TABLE tokens DROP COLUMN mfa;
ALTER TABLE tokens DROP COLUMN scopes;
ALTER TABLE tokens DROP COLUMN kind;
ALTER TABLE principals DROP COLUMN deleted_at;
ALTER TABLE principals DROP COLUMN updated_at;
ALTER TABLE principals DROP COLUMN service_kind;
ALTER TABLE principals DROP COLUMN email;
