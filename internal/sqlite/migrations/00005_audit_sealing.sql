-- +goose Up
-- Records are written with their change into audit_pending, which has no
-- index but its key, and sealed into the chain (audit_events) by the sealer,
-- which assigns each its sequence number and hash in the order the records
-- became visible. Sealing locks audit_chain_head's row, so one sealer at a
-- time extends the chain, on any replica.
CREATE TABLE audit_pending (
    pid         INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL,
    time           BIGINT NOT NULL,
    actor_id       TEXT NOT NULL,
    actor_kind     TEXT NOT NULL,
    actor_name     TEXT NOT NULL,
    auth_method    TEXT NOT NULL,
    action         TEXT NOT NULL,
    target_type    TEXT NOT NULL,
    target_id      TEXT NOT NULL,
    scope          TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    reason         TEXT NOT NULL,
    source_addr    TEXT NOT NULL,
    user_agent     TEXT NOT NULL,
    request_id     TEXT NOT NULL,
    details        TEXT NOT NULL,
    actor_mfa      BOOLEAN NOT NULL,
    elevation_id   TEXT NOT NULL,
    classification TEXT NOT NULL
);

-- +goose Down
DROP TABLE audit_pending;
