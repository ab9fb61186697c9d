-- +goose Up
-- Multipart uploads: a large file arrives in parts, each stored at once as
-- an encrypted object of its own, so that a client whose connection breaks
-- resumes with the parts it has not sent. Completing an upload joins the
-- parts into one object; expired uploads are swept with their parts.
-- target says, for the caller that started it, what the upload is for (a
-- dataset version's file, a run's artifact).
CREATE TABLE object_uploads (
    id         TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    bucket     TEXT NOT NULL,
    target     TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX object_uploads_target ON object_uploads (target);
CREATE INDEX object_uploads_expiry ON object_uploads (expires_at);
CREATE TABLE object_upload_parts (
    upload_id  TEXT NOT NULL REFERENCES object_uploads (id) ON DELETE CASCADE,
    number     INTEGER NOT NULL,
    object_id  TEXT NOT NULL REFERENCES objects (id),
    size       BIGINT NOT NULL,
    sha256     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (upload_id, number)
);

-- +goose Down
DROP TABLE object_upload_parts;
DROP TABLE object_uploads;
