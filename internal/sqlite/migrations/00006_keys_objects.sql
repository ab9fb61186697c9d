-- +goose Up
-- Key-encryption keys, one row per owner and version, stored only wrapped by
-- a key provider (the local master key or a KMS key); the master key itself
-- is never in the database. A destroyed owner keeps a tombstone so that no
-- key can be made for it again.
CREATE TABLE kek_versions (
    owner      TEXT NOT NULL,
    version    BIGINT NOT NULL,
    provider   TEXT NOT NULL,
    key_uri    TEXT NOT NULL,
    wrapped    BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (owner, version)
);
CREATE TABLE kek_destroyed (
    owner        TEXT PRIMARY KEY,
    destroyed_at BIGINT NOT NULL
);

-- Encrypted objects: every byte the platform stores for a zone or project.
-- The blob holds only ciphertext; its data key is here, wrapped by its
-- owner's KEK. state: writing (bytes may be partly stored) → stored →
-- deleting; rows stuck in writing are swept with their blobs.
CREATE TABLE objects (
    id           TEXT PRIMARY KEY,
    owner        TEXT NOT NULL,
    bucket       TEXT NOT NULL,
    blob_key     TEXT NOT NULL UNIQUE,
    state        TEXT NOT NULL,
    size         BIGINT NOT NULL,
    cipher_size  BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    segment_size INTEGER NOT NULL,
    wrapped_dek  BLOB NOT NULL,
    kek_version  BIGINT NOT NULL,
    tier         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX objects_owner ON objects (owner, kek_version);
CREATE INDEX objects_state ON objects (state, updated_at);

-- +goose Down
DROP TABLE objects;
DROP TABLE kek_destroyed;
DROP TABLE kek_versions;
