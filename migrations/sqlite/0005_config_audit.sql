-- The app configuration's versions, the audit log, and shared rate-limit counters.
-- Timestamps are Unix milliseconds (UTC). Kept in step with ../postgres/0005_config_audit.sql.

-- Every change to /api/config is a new row; the highest id is the current configuration.
CREATE TABLE app_config_versions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    config      TEXT    NOT NULL,  -- the whole configuration, JSON
    changes     TEXT    NOT NULL,  -- what the request sent, JSON
    updated_by  BIGINT  REFERENCES users(id),
    updated_at  BIGINT  NOT NULL
);

-- Security events, recorded by Hearth itself and by signed-in clients.
CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at      BIGINT  NOT NULL,
    category        TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    severity        TEXT    NOT NULL,
    actor_id        BIGINT,          -- no foreign key: entries outlive accounts
    actor_type      TEXT    NOT NULL,
    actor_username  TEXT,
    description     TEXT    NOT NULL,
    success         BIGINT  NOT NULL, -- 1 or 0
    ip              TEXT,
    metadata        TEXT             -- JSON object
);
CREATE INDEX audit_log_by_time ON audit_log(created_at);
CREATE INDEX audit_log_by_actor ON audit_log(actor_id, created_at);

-- Fixed-window request counters shared by every node (HEARTH_RATE_LIMIT_SHARED=database).
CREATE TABLE rate_limits (
    bucket        TEXT    NOT NULL,
    window_start  BIGINT  NOT NULL,
    hits          BIGINT  NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
