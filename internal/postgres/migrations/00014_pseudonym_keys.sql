-- +goose Up
-- Pseudonymisation keys, one per owner (a project): a random 32-byte key
-- wrapped by the provider key that wraps the owner's KEK, so that the same
-- value gets the same pseudonym in every de-identification run. It is
-- wrapped by the provider, not by a KEK version, so KEK rotation never
-- changes it; it is never returned by any API.
CREATE TABLE pseudonym_keys (
    owner      TEXT PRIMARY KEY,
    provider   TEXT NOT NULL,
    key_uri    TEXT NOT NULL,
    wrapped    BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE pseudonym_keys;
