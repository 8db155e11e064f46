-- Where each member stopped reading each chat, for unread counts. Kept in step across backends.
ALTER TABLE chat_members ADD COLUMN last_read_id BIGINT;
