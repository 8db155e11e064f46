-- Saved messages: each person's own bookmarks. Kept in step with ../sqlite/0010_saved_messages.sql.
CREATE TABLE saved_messages (
    user_id    BIGINT NOT NULL REFERENCES users(id),
    message_id BIGINT NOT NULL REFERENCES messages(id),
    note       TEXT,
    saved_at   BIGINT NOT NULL,
    PRIMARY KEY (user_id, message_id)
);
CREATE INDEX saved_messages_by_user ON saved_messages(user_id, saved_at);
