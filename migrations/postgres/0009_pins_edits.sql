-- Pins and edit history. Kept in step with ../sqlite/0009_pins_edits.sql.

-- One row per pinned message; a chat's pinned list is its rows, newest first.
CREATE TABLE pins (
    message_id BIGINT PRIMARY KEY REFERENCES messages(id),
    chat_id    BIGINT NOT NULL REFERENCES chats(id),
    pinned_by  BIGINT NOT NULL REFERENCES users(id),
    pinned_at  BIGINT NOT NULL
);
CREATE INDEX pins_by_chat ON pins(chat_id, pinned_at);

-- Every edit keeps the text it replaced (and the new one, as nchat lists edits). Deleting the
-- message deletes its history: deleted text is gone everywhere.
CREATE TABLE message_edits (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id       BIGINT NOT NULL REFERENCES messages(id),
    editor_id        BIGINT NOT NULL REFERENCES users(id),
    previous_body    TEXT   NOT NULL,
    new_body         TEXT   NOT NULL,
    edited_at        BIGINT NOT NULL
);
CREATE INDEX message_edits_by_message ON message_edits(message_id, id);
