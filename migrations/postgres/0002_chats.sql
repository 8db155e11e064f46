-- Chats, their members, and messages. Kept in step with ../sqlite/0002_chats.sql.

CREATE TABLE chats (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        TEXT    NOT NULL,          -- 'private' (two people) or 'group'
    name        TEXT,                      -- groups only; a private chat is named after the other member
    creator_id  BIGINT  NOT NULL REFERENCES users(id),
    -- 'smaller id:larger id' for private chats, so one pair of people has one chat.
    private_key TEXT    UNIQUE,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE chat_members (
    chat_id     BIGINT NOT NULL REFERENCES chats(id),
    user_id     BIGINT NOT NULL REFERENCES users(id),
    joined_at   BIGINT NOT NULL,
    archived_at BIGINT,                    -- archived for this member only
    PRIMARY KEY (chat_id, user_id)
);
CREATE INDEX chat_members_by_user ON chat_members(user_id);

-- Ids grow in commit order within a chat, so "everything after id N" never misses one.
CREATE TABLE messages (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chat_id    BIGINT NOT NULL REFERENCES chats(id),
    user_id    BIGINT NOT NULL REFERENCES users(id),
    body       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    edited_at  BIGINT,
    deleted_at BIGINT,
    nonce      TEXT                        -- the sender's idempotency key, when given
);
CREATE INDEX messages_by_chat ON messages(chat_id, id);
CREATE UNIQUE INDEX messages_by_nonce ON messages(user_id, nonce) WHERE nonce IS NOT NULL;
