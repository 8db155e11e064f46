-- Uploaded files, message search and incoming webhooks. Timestamps are Unix ms.
-- Kept in step with ../postgres/0006_files_search_webhooks.sql.

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

-- Full-text index over message bodies, kept in step with `messages` by triggers. Deleted
-- messages have an empty body, so they never match.
CREATE VIRTUAL TABLE messages_fts USING fts5(body, content='messages', content_rowid='id');
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO messages_fts(rowid, body) VALUES (new.id, new.body);
END;
INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');

-- Incoming webhooks: a secret URL that posts into one chat as the webhook's own bot account.
CREATE TABLE webhooks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id     BIGINT  NOT NULL REFERENCES chats(id),
    name        TEXT    NOT NULL,
    token_hash  TEXT    NOT NULL,              -- SHA-256 of the token, shown once at creation
    bot_user_id BIGINT  NOT NULL REFERENCES users(id),
    creator_id  BIGINT  NOT NULL REFERENCES users(id),
    created_at  BIGINT  NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX webhooks_by_chat ON webhooks(chat_id);
