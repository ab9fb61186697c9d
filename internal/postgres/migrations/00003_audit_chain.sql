-- +goose Up
-- The audit trail becomes a hash chain: each record carries the SHA-256 of
-- its canonical form, which covers the previous record's ID and hash.
-- audit_chain_head is the single row every append locks, so appends are
-- serialized and sequence numbers commit in chain order.
ALTER TABLE audit_events ADD COLUMN actor_mfa BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE audit_events ADD COLUMN elevation_id TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN classification TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN prev_id TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN hash TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_events_time ON audit_events (time);

CREATE TABLE audit_chain_head (
    id   INTEGER PRIMARY KEY,
    seq  BIGINT NOT NULL,
    event_id TEXT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_chain_head (id, seq, event_id, hash) VALUES (1, 0, '', '');

-- Signed checkpoints: the platform's Ed25519 key signs the chain's head
-- from time to time, so that rewriting the chain shows even to someone who
-- recomputes every hash.
CREATE TABLE audit_checkpoints (
    seq       BIGINT PRIMARY KEY,
    event_id  TEXT NOT NULL,
    hash      TEXT NOT NULL,
    time      BIGINT NOT NULL,
    key_id    TEXT NOT NULL,
    signature TEXT NOT NULL
);

CREATE TABLE audit_keys (
    id         TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE audit_keys;
DROP TABLE audit_checkpoints;
DROP TABLE audit_chain_head;
DROP INDEX audit_events_time;
ALTER TABLE audit_events DROP COLUMN hash;
ALTER TABLE audit_events DROP COLUMN prev_hash;
ALTER TABLE audit_events DROP COLUMN prev_id;
ALTER TABLE audit_events DROP COLUMN classification;
ALTER TABLE audit_events DROP COLUMN elevation_id;
ALTER TABLE audit_events DROP COLUMN actor_mfa;
