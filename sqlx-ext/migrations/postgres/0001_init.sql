-- phisafe's own tables, in schema `phisafe` so they never collide with the
-- application's. Applied by phisafe_sqlx::migrate, tracked in
-- phisafe._sqlx_migrations (not the application's _sqlx_migrations).

CREATE TABLE phisafe.keyring (
    scope   TEXT    NOT NULL,
    purpose TEXT    NOT NULL,
    version INTEGER NOT NULL,
    state   TEXT    NOT NULL,
    kek_id  TEXT    NOT NULL,
    wrapped BYTEA   NOT NULL,
    created TEXT    NOT NULL,
    PRIMARY KEY (scope, purpose, version)
);

-- One row per audit chain: the next sequence number and the last MAC.
-- Writers lock a head row for the length of their transaction; concurrent
-- writers take other heads (SKIP LOCKED), creating one when all are busy.
CREATE TABLE phisafe.audit_head (
    chain    BIGINT PRIMARY KEY,
    next_seq BIGINT NOT NULL,
    prev     TEXT   NOT NULL
);

CREATE TABLE phisafe.audit_log (
    chain       BIGINT NOT NULL,
    seq         BIGINT NOT NULL,
    ts          TEXT   NOT NULL,
    actor       TEXT   NOT NULL,
    role        TEXT   NOT NULL,
    purpose     TEXT   NOT NULL,
    action      TEXT   NOT NULL,
    scope       TEXT   NOT NULL,
    row_ref     TEXT,
    rows        BIGINT,
    rows_sha256 TEXT,
    key_version BIGINT,
    outcome     TEXT   NOT NULL,
    error       TEXT,
    request_id  TEXT,
    prev        TEXT   NOT NULL,
    mac         TEXT   NOT NULL,
    PRIMARY KEY (chain, seq)
);

CREATE FUNCTION phisafe.audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'phisafe.audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_no_update_delete
    BEFORE UPDATE OR DELETE ON phisafe.audit_log
    FOR EACH ROW EXECUTE FUNCTION phisafe.audit_log_append_only();

CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON phisafe.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION phisafe.audit_log_append_only();

-- Progress of column migrations (encrypt, decrypt, reencrypt), updated in
-- the same transaction as each batch so a resumed run starts exactly where
-- the last committed batch ended.
CREATE TABLE phisafe.column_progress (
    table_name  TEXT   NOT NULL,
    column_name TEXT   NOT NULL,
    operation   TEXT   NOT NULL,
    last_key    TEXT,
    changed     BIGINT NOT NULL DEFAULT 0,
    updated     TEXT   NOT NULL,
    finished    TEXT,
    PRIMARY KEY (table_name, column_name, operation)
);

-- Opens one value made by the old encrypt_phi() (pgp_sym_encrypt, or raw
-- encrypt(..., 'aes')) with the old key, or returns NULL when it does not
-- open, so one bad value is reported instead of failing its whole batch.
-- pgcrypto is looked up at call time, on the caller's search_path.
CREATE FUNCTION phisafe.try_pgcrypto_decrypt(data BYTEA, key TEXT, kind TEXT)
RETURNS TEXT LANGUAGE plpgsql AS $$
BEGIN
    IF kind = 'aes' THEN
        RETURN convert_from(decrypt(data, convert_to(key, 'UTF8'), 'aes'), 'UTF8');
    END IF;
    RETURN pgp_sym_decrypt(data, key);
EXCEPTION WHEN undefined_function THEN
    RAISE;
WHEN OTHERS THEN
    RETURN NULL;
END
$$;
