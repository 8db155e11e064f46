-- Accounts, sessions and the one-time secrets that go with them.
-- Timestamps are Unix milliseconds (UTC). Kept in step with ../sqlite/0001_accounts.sql.

CREATE TABLE users (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username          TEXT    NOT NULL,
    username_key      TEXT    NOT NULL UNIQUE,  -- lower-cased: names are unique ignoring case
    email             TEXT    NOT NULL,
    email_key         TEXT    NOT NULL UNIQUE,  -- lower-cased
    display_name      TEXT,
    password_hash     TEXT    NOT NULL,
    role              TEXT    NOT NULL DEFAULT 'member',
    email_verified_at BIGINT,
    disabled_at       BIGINT,
    deleted_at        BIGINT,
    created_at        BIGINT  NOT NULL
);

-- One row per signed-in device. An access token is valid only while its session is.
CREATE TABLE sessions (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      BIGINT  NOT NULL REFERENCES users(id),
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    revoked_at   BIGINT,
    revoke_reason TEXT
);
CREATE INDEX sessions_by_user ON sessions(user_id);

-- Every refresh token ever issued (hashed), so a replayed one can be recognised as theft.
CREATE TABLE refresh_tokens (
    token_hash TEXT   PRIMARY KEY,
    session_id BIGINT NOT NULL REFERENCES sessions(id),
    issued_at  BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens(session_id);

-- The pending e-mail verification of an account (at sign-up, or for a new address).
CREATE TABLE email_verifications (
    user_id    BIGINT  PRIMARY KEY REFERENCES users(id),
    email      TEXT    NOT NULL,
    code_hash  TEXT    NOT NULL,
    expires_at BIGINT  NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE password_resets (
    token_hash TEXT   PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

CREATE TABLE invites (
    code       TEXT    PRIMARY KEY,
    uses_left  BIGINT NOT NULL,
    created_at BIGINT  NOT NULL
);

CREATE TABLE subscriptions (
    email_key  TEXT   PRIMARY KEY,
    email      TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

-- Server-wide facts; one row. `owner_user_id` is claimed once, by the first account ever.
CREATE TABLE server_state (
    id            BIGINT PRIMARY KEY CHECK (id = 1),
    owner_user_id BIGINT
);
INSERT INTO server_state (id) VALUES (1);
