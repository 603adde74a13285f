-- phisafe's own tables, prefixed `phisafe_` so they never collide with the
-- application's. Applied by phisafe_sqlx::migrate, tracked in
-- _phisafe_migrations (not the application's _sqlx_migrations).

CREATE TABLE phisafe_keyring (
    scope   TEXT    NOT NULL,
    purpose TEXT    NOT NULL,
    version INTEGER NOT NULL,
    state   TEXT    NOT NULL,
    kek_id  TEXT    NOT NULL,
    wrapped BLOB    NOT NULL,
    created TEXT    NOT NULL,
    PRIMARY KEY (scope, purpose, version)
);

-- SQLite has one writer at a time, so one chain: writers take the write
-- lock by updating the head first.
CREATE TABLE phisafe_audit_head (
    chain    INTEGER PRIMARY KEY,
    next_seq INTEGER NOT NULL,
    prev     TEXT    NOT NULL
);

INSERT INTO phisafe_audit_head (chain, next_seq, prev)
VALUES (0, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE phisafe_audit_log (
    chain       INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    ts          TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    purpose     TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    scope       TEXT    NOT NULL,
    row_ref     TEXT,
    rows        INTEGER,
    rows_sha256 TEXT,
    key_version INTEGER,
    outcome     TEXT    NOT NULL,
    error       TEXT,
    request_id  TEXT,
    prev        TEXT    NOT NULL,
    mac         TEXT    NOT NULL,
    PRIMARY KEY (chain, seq)
);

CREATE TRIGGER phisafe_audit_log_no_update
    BEFORE UPDATE ON phisafe_audit_log
BEGIN
    SELECT RAISE(ABORT, 'phisafe_audit_log is append-only: UPDATE is not allowed');
END;

CREATE TRIGGER phisafe_audit_log_no_delete
    BEFORE DELETE ON phisafe_audit_log
BEGIN
    SELECT RAISE(ABORT, 'phisafe_audit_log is append-only: DELETE is not allowed');
END;

CREATE TABLE phisafe_column_progress (
    table_name  TEXT    NOT NULL,
    column_name TEXT    NOT NULL,
    operation   TEXT    NOT NULL,
    last_key    TEXT,
    changed     INTEGER NOT NULL DEFAULT 0,
    updated     TEXT    NOT NULL,
    finished    TEXT,
    PRIMARY KEY (table_name, column_name, operation)
);
