-- +goose Up
-- Audit sinks: where the audit trail is streamed (a JSONL file, syslog over
-- TLS, an HTTP webhook), and each sink's delivery cursor and health.
-- settings is the kind's JSON settings; secrets is JSON of what is never
-- returned (a webhook token). It is stored as is for now and will be wrapped
-- by the key provider once that exists.
CREATE TABLE audit_sinks (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    enabled    BOOLEAN NOT NULL,
    required   BOOLEAN NOT NULL,
    batch_size INTEGER NOT NULL,
    settings   TEXT NOT NULL,
    secrets    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);

-- audit_sink_state is the persisted cursor (the last audit_events.seq the
-- sink acknowledged) and the health of delivery. Only the holder of the
-- lease "audit-sink/<id>" writes it.
CREATE TABLE audit_sink_state (
    sink_id              TEXT PRIMARY KEY REFERENCES audit_sinks (id) ON DELETE CASCADE,
    cursor               BIGINT NOT NULL,
    delivered            BIGINT NOT NULL DEFAULT 0,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_success_at      BIGINT,
    last_failure_at      BIGINT,
    failing_since        BIGINT,
    next_attempt_at      BIGINT,
    last_error           TEXT NOT NULL DEFAULT '',
    updated_at           BIGINT NOT NULL
);

-- +goose Down
DROP TABLE audit_sink_state;
DROP TABLE audit_sinks;
