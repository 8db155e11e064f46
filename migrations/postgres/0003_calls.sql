-- Voice calls and who takes part in them. Kept in step with ../sqlite/0003_calls.sql.
-- The rows are the calls' shared state: every node reads and changes them, none keeps its own.

CREATE TABLE calls (
    id           TEXT   PRIMARY KEY,        -- the call_id clients see: 128 random bits, hex
    chat_id      BIGINT NOT NULL REFERENCES chats(id),
    initiator_id BIGINT NOT NULL REFERENCES users(id),
    state        TEXT   NOT NULL,           -- 'ringing', 'active' (someone answered) or 'ended'
    created_at   BIGINT NOT NULL,
    answered_at  BIGINT,
    ended_at     BIGINT,
    ended_reason TEXT,                      -- 'hangup', 'cancelled', 'declined', 'timeout' or 'empty'
    ended_by     BIGINT REFERENCES users(id) -- NULL when nobody did (a timeout)
);
-- One ringing or active call per chat: this index decides a race between two callers.
CREATE UNIQUE INDEX calls_live_per_chat ON calls(chat_id) WHERE state <> 'ended';
-- What the ring timeout sweeps.
CREATE INDEX calls_ringing ON calls(created_at) WHERE state = 'ringing';

CREATE TABLE call_participants (
    call_id     TEXT   NOT NULL REFERENCES calls(id),
    user_id     BIGINT NOT NULL REFERENCES users(id),
    joined_at   BIGINT,                     -- NULL: declined without ever joining
    left_at     BIGINT,                     -- NULL while in the call
    declined_at BIGINT,
    socket_id   TEXT,                       -- their newest call socket: only its closing counts as leaving
    PRIMARY KEY (call_id, user_id)
);
