-- Replies and reactions. Kept in step with ../postgres/0008_replies_reactions.sql.

-- The message this one answers (a quoted reply); always a message of the same chat.
ALTER TABLE messages ADD COLUMN reply_to BIGINT REFERENCES messages(id);

-- One row per person, message and emoji: reacting twice with the same emoji is one reaction.
CREATE TABLE reactions (
    message_id BIGINT NOT NULL REFERENCES messages(id),
    user_id    BIGINT NOT NULL REFERENCES users(id),
    emoji      TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (message_id, user_id, emoji)
);
