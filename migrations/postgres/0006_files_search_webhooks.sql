-- Uploaded files, message search and incoming webhooks. Timestamps are Unix ms.
-- Kept in step with ../sqlite/0006_files_search_webhooks.sql.

-- One row per announced upload; the bytes live in <data dir>/uploads/<id>.
CREATE TABLE files (
    id            TEXT    PRIMARY KEY,         -- 32 random hex characters, unguessable
    uploader_id   BIGINT  NOT NULL REFERENCES users(id),
    chat_id       BIGINT  REFERENCES chats(id), -- where it may be attached (channelId), when given
    filename      TEXT    NOT NULL,
    content_type  TEXT    NOT NULL,
    declared_size BIGINT  NOT NULL,
    stored_size   BIGINT,                      -- set once the PUT has landed and passed the checks
    message_id    BIGINT  REFERENCES messages(id), -- the message it is attached to
    created_at    BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL,            -- the presigned URL's expiry
    uploaded_at   BIGINT
);
CREATE INDEX files_by_message ON files(message_id);

-- Full-text search over message bodies ('simple': no stemming, like SQLite's FTS5 default).
-- Deleted messages have an empty body, so they never match.
ALTER TABLE messages ADD COLUMN body_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED;
CREATE INDEX messages_body_tsv ON messages USING GIN (body_tsv);

-- Incoming webhooks: a secret URL that posts into one chat as the webhook's own bot account.
CREATE TABLE webhooks (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chat_id     BIGINT  NOT NULL REFERENCES chats(id),
    name        TEXT    NOT NULL,
    token_hash  TEXT    NOT NULL,              -- SHA-256 of the token, shown once at creation
    bot_user_id BIGINT  NOT NULL REFERENCES users(id),
    creator_id  BIGINT  NOT NULL REFERENCES users(id),
    created_at  BIGINT  NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX webhooks_by_chat ON webhooks(chat_id);
