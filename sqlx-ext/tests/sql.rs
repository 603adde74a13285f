//! phisafe-sqlx against real databases: SQLite files and PostgreSQL 15 in
//! a throwaway cluster.

#![allow(clippy::unwrap_used, reason = "test helpers")]

mod common;

use std::sync::Arc;

use common::Db;
use phisafe::crypto::{
    Context, CryptoError, FieldCipher, KeyPurpose, KeyRecord, KeyState,
    KeyStore, Policy, Scope,
};
use phisafe_sqlx::{Encrypted, Error, SqlAuditSink, SqlKeyStore};
use sqlx::Any;

async fn patients(db: &Db) {
    let blob = if db.is_pg() { "BYTEA" } else { "BLOB" };
    db.exec(&format!(
        "CREATE TABLE patients (id BIGINT PRIMARY KEY, ssn {blob})"
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn round_trip_and_a_copied_value_does_not_decrypt() {
    for db in Db::both().await {
        patients(&db).await;
        let scope = Scope::new("patients.ssn").unwrap();
        let mut tx = db.pool.begin().await.unwrap();
        for (id, ssn) in [(1i64, "219-09-9999"), (2, "078-05-1120")] {
            let row = id.to_string();
            let ctx = Context::new(&scope, &row).actor("t").purpose("test");
            let sealed = db
                .sql
                .encrypt::<Any>(&mut tx, &ctx, ssn.as_bytes())
                .await
                .unwrap();
            sqlx::query("INSERT INTO patients (id, ssn) VALUES ($1, $2)")
                .bind(id)
                .bind(sealed)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();

        let stored: Vec<(i64, Encrypted)> =
            sqlx::query_as("SELECT id, ssn FROM patients ORDER BY id")
                .fetch_all(&db.pool)
                .await
                .unwrap();
        assert!(
            !stored[0].1.as_bytes().windows(11).any(|w| w == b"219-09-9999")
        );
        let ctx1 = Context::new(&scope, "1").actor("t").purpose("test");
        let plain =
            db.sql.decrypt(&db.pool, &ctx1, &stored[0].1).await.unwrap();
        assert_eq!(&plain[..], b"219-09-9999");

        // Row 1's value copied onto row 2 is not row 2's value.
        db.exec("UPDATE patients SET ssn = (SELECT ssn FROM patients WHERE id = 1) WHERE id = 2")
            .await;
        let (copied,): (Encrypted,) =
            sqlx::query_as("SELECT ssn FROM patients WHERE id = 2")
                .fetch_one(&db.pool)
                .await
                .unwrap();
        let ctx2 = Context::new(&scope, "2").actor("t").purpose("test");
        let err = db.sql.decrypt(&db.pool, &ctx2, &copied).await.unwrap_err();
        assert!(matches!(err, Error::Crypto(CryptoError::Decrypt)), "{err}");

        // key creation, two encrypts, a decrypt and the failed decrypt.
        assert_eq!(db.audit_ok().await, 5);
        let (failed,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {} WHERE outcome = 'failed' AND row_ref = '2'",
            db.table("audit_log")
        )))
        .fetch_one(&db.pool)
        .await
        .unwrap();
        assert_eq!(failed, 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn native_pool_types_bind_and_decode() {
    let db = Db::postgres().await;
    patients(&db).await;
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let scope = Scope::new("patients.ssn").unwrap();
    let ctx = Context::new(&scope, "7").actor("t").purpose("test");
    let mut tx = pool.begin().await.unwrap();
    let sealed = db
        .sql
        .encrypt::<sqlx::Postgres>(&mut tx, &ctx, b"123-45-6789")
        .await
        .unwrap();
    sqlx::query("INSERT INTO patients (id, ssn) VALUES (7, $1)")
        .bind(&sealed)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (back,): (Encrypted,) =
        sqlx::query_as("SELECT ssn FROM patients WHERE id = 7")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(back, sealed);
    assert_eq!(
        &db.sql.decrypt(&pool, &ctx, &back).await.unwrap()[..],
        b"123-45-6789"
    );
    // Text form for TEXT columns.
    let text = back.to_text();
    assert!(text.starts_with("psf:"));
    assert_eq!(Encrypted::from_text(&text).unwrap(), back);

    let dir = tempfile::tempdir().unwrap();
    let lite = Db::new(common::sqlite_url(&dir), None).await;
    patients(&lite).await;
    let pool = sqlx::SqlitePool::connect(&lite.url).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let sealed = lite
        .sql
        .encrypt::<sqlx::Sqlite>(&mut conn, &ctx, b"123-45-6789")
        .await
        .unwrap();
    sqlx::query("INSERT INTO patients (id, ssn) VALUES (7, $1)")
        .bind(&sealed)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let (back,): (Encrypted,) =
        sqlx::query_as("SELECT ssn FROM patients WHERE id = 7")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        &lite.sql.decrypt(&pool, &ctx, &back).await.unwrap()[..],
        b"123-45-6789"
    );
    // Key creation, encrypt, decrypt.
    assert_eq!(lite.audit_ok().await, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_log_rejects_update_and_delete() {
    for db in Db::both().await {
        let scope = Scope::new("t.c").unwrap();
        let ctx = Context::new(&scope, "1").actor("t").purpose("test");
        db.cipher.encrypt_phi(&ctx, b"x").unwrap();
        let log = db.table("audit_log");
        for sql in [
            format!("UPDATE {log} SET actor = 'someone else'"),
            format!("DELETE FROM {log}"),
        ] {
            let err = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .execute(&db.pool)
                .await
                .unwrap_err();
            assert!(err.to_string().contains("append-only"), "{sql}: {err}");
        }
        if db.is_pg() {
            let err = sqlx::query("TRUNCATE phisafe.audit_log")
                .execute(&db.pool)
                .await
                .unwrap_err();
            assert!(err.to_string().contains("append-only"), "{err}");
        }
        assert_eq!(db.audit_ok().await, 2);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rolled_back_write_takes_its_audit_record_with_it() {
    for db in Db::both().await {
        let scope = Scope::new("t.c").unwrap();
        let ctx = Context::new(&scope, "1").actor("t").purpose("test");
        db.cipher.encrypt_phi(&ctx, b"first").unwrap(); // key + encrypt
        let mut tx = db.pool.begin().await.unwrap();
        db.sql.encrypt::<Any>(&mut tx, &ctx, b"gone").await.unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(db.audit_ok().await, 2);
        let mut tx = db.pool.begin().await.unwrap();
        db.sql.encrypt::<Any>(&mut tx, &ctx, b"kept").await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(db.audit_ok().await, 3);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_writers_keep_every_chain_valid() {
    for db in Db::both().await {
        let scope = Scope::new("t.c").unwrap();
        let ctx = Context::new(&scope, "1").actor("t").purpose("test");
        db.cipher.encrypt_phi(&ctx, b"warm up").unwrap();
        let before = db.audit_ok().await;
        let key = db.sql.audit_key().clone();
        // Threads with sinks of their own (own connections, as separate
        // processes would have) ...
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let (url, kek, store, key) = (
                    db.url.clone(),
                    db.kek.clone(),
                    db.store.clone(),
                    key.clone(),
                );
                std::thread::spawn(move || {
                    let sink = SqlAuditSink::connect(&url, key).unwrap();
                    let cipher = FieldCipher::builder(kek, store)
                        .policy(Policy::allow_all())
                        .build(Arc::new(sink))
                        .unwrap();
                    let scope = Scope::new("t.c").unwrap();
                    for i in 0..25 {
                        let row = format!("{t}-{i}");
                        let ctx =
                            Context::new(&scope, &row).actor("t").purpose("x");
                        cipher.encrypt_phi(&ctx, b"v").unwrap();
                    }
                })
            })
            .collect();
        // ... and async transactions recording in their own transaction.
        let tasks: Vec<_> = (0..4)
            .map(|t| {
                let (pool, sql) = (db.pool.clone(), db.sql.clone());
                tokio::spawn(async move {
                    let scope = Scope::new("t.c").unwrap();
                    for i in 0..25 {
                        let row = format!("a{t}-{i}");
                        let ctx =
                            Context::new(&scope, &row).actor("t").purpose("x");
                        let mut tx = pool.begin().await.unwrap();
                        sql.encrypt::<Any>(&mut tx, &ctx, b"v").await.unwrap();
                        tx.commit().await.unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(db.audit_ok().await, before + 200);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn decrypt_fails_closed_when_the_audit_insert_fails() {
    for db in Db::both().await {
        let scope = Scope::new("t.c").unwrap();
        let ctx = Context::new(&scope, "1").actor("t").purpose("test");
        let sealed = db.cipher.encrypt_phi(&ctx, b"219-09-9999").unwrap();
        let log = db.table("audit_log");
        if db.is_pg() {
            db.exec(
                "CREATE FUNCTION fail_insert() RETURNS trigger LANGUAGE plpgsql \
                 AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$",
            )
            .await;
            db.exec(&format!(
                "CREATE TRIGGER no_insert BEFORE INSERT ON {log} \
                 FOR EACH ROW EXECUTE FUNCTION fail_insert()"
            ))
            .await;
        } else {
            db.exec(&format!(
                "CREATE TRIGGER no_insert BEFORE INSERT ON {log} \
                 BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            ))
            .await;
        }
        // Synchronous cipher through SqlAuditSink.
        let err = db.cipher.decrypt_phi(&ctx, &sealed).unwrap_err();
        assert!(matches!(err, CryptoError::Audit(_)), "{err}");
        // Async SqlCipher.
        let value = Encrypted::from_bytes(sealed.clone());
        let err = db.sql.decrypt(&db.pool, &ctx, &value).await.unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
        assert!(!err.to_string().contains("219-09"));
    }
}

#[test]
fn keyring_changes_from_many_stores_are_serialized() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for db in rt.block_on(Db::both()) {
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let url = db.url.clone();
                std::thread::spawn(move || {
                    let store = SqlKeyStore::connect(&url).unwrap();
                    for _ in 0..3 {
                        store
                            .update(&mut |ring| {
                                let v = ring
                                    .next_version("t.c", KeyPurpose::Encrypt);
                                ring.keys.push(KeyRecord {
                                    scope: "t.c".into(),
                                    purpose: KeyPurpose::Encrypt,
                                    version: v,
                                    state: KeyState::DecryptOnly,
                                    kek_id: "k".into(),
                                    wrapped: vec![v as u8; 8],
                                    created: "2026-01-01T00:00:00Z".into(),
                                });
                                Ok(())
                            })
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let ring = db.store.load().unwrap();
        let mut versions: Vec<u32> = ring
            .keys
            .iter()
            .filter(|k| k.scope == "t.c")
            .map(|k| k.version)
            .collect();
        versions.sort();
        assert_eq!(versions, (1..=18).collect::<Vec<_>>());
        // A failed change writes nothing.
        let err = db
            .store
            .update(&mut |ring| {
                ring.keys.clear();
                Err(phisafe::crypto::KeyError::Store("no".into()))
            })
            .unwrap_err();
        assert!(err.to_string().contains("no"));
        assert_eq!(db.store.load().unwrap(), ring);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn phisafe_migrations_stay_out_of_the_applications_table() {
    for db in Db::both().await {
        // The application's own sqlx migrations, default table.
        let app = sqlx::migrate::Migrator::with_migrations(vec![
            sqlx::migrate::Migration::new(
                1,
                "app init".into(),
                sqlx::migrate::MigrationType::Simple,
                sqlx::SqlSafeStr::into_sql_str(
                    "CREATE TABLE app_things (id BIGINT)",
                ),
                false,
            ),
        ]);
        app.run(&db.pool).await.unwrap();
        phisafe_sqlx::migrate(&db.pool).await.unwrap(); // idempotent
        assert_eq!(db.count("SELECT COUNT(*) FROM _sqlx_migrations").await, 1);
        let ours = if db.is_pg() {
            "SELECT COUNT(*) FROM phisafe._sqlx_migrations"
        } else {
            "SELECT COUNT(*) FROM _phisafe_migrations"
        };
        let dialect = if db.is_pg() {
            phisafe_sqlx::Dialect::Postgres
        } else {
            phisafe_sqlx::Dialect::Sqlite
        };
        let all = phisafe_sqlx::migrator(dialect).iter().count();
        assert!(all >= 2);
        assert_eq!(db.count(ours).await as usize, all);
        app.run(&db.pool).await.unwrap();
    }
}

/// Lets the test remove audit rows, as a database owner could.
async fn drop_append_only_guard(db: &Db) {
    if db.is_pg() {
        db.exec("ALTER TABLE phisafe.audit_log DISABLE TRIGGER audit_log_no_update_delete")
            .await;
    } else {
        db.exec("DROP TRIGGER phisafe_audit_log_no_delete").await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_checkpoint_catches_records_cut_off_at_every_boundary() {
    use phisafe_sqlx::audit::{checkpoints, verify, verify_with};
    for db in Db::both().await {
        let scope = Scope::new("t.c").unwrap();
        let head = db.table("audit_head");
        // Head rows as they were, as whoever can write the table could
        // have kept them: the next sequence number, last MAC and tag.
        let mut saved: Vec<(i64, String, Option<String>)> = Vec::new();
        for i in 0..5 {
            let row = i.to_string();
            let ctx = Context::new(&scope, &row).actor("t").purpose("test");
            db.cipher.encrypt_phi(&ctx, b"x").unwrap(); // + key creation
            let q = format!("SELECT next_seq, prev, tag FROM {head}");
            let row: (i64, String, Option<String>) =
                sqlx::query_as(sqlx::AssertSqlSafe(q))
                    .fetch_one(&db.pool)
                    .await
                    .unwrap();
            saved.push(row);
        }
        let key = db.sql.audit_key().clone();
        let reports = verify(&db.pool, &key).await.unwrap();
        let now = std::time::SystemTime::now();
        let set = checkpoints(&key, &reports, now);
        assert_eq!(set.chains.len(), 1);
        let (&chain, cp) = set.chains.iter().next().unwrap();
        assert_eq!(cp.seq, 5);
        // Saved and read back as the CLI does.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("heads.json");
        set.save(&file).unwrap();
        let set = phisafe::audit::Checkpoints::load(&file).unwrap();

        drop_append_only_guard(&db).await;
        let log = db.table("audit_log");
        // An empty head of the kind the tables began with.
        saved.push((0, "0".repeat(64), None));
        let mut replayed = 0;
        // Cut at every record boundary with the head row's count moved
        // back: the head's tag no longer verifies.
        for n in (0..6).rev() {
            db.exec(&format!(
                "DELETE FROM {log} WHERE chain = {chain} AND seq >= {n}"
            ))
            .await;
            db.exec(&format!(
                "UPDATE {head} SET next_seq = {n} WHERE chain = {chain}"
            ))
            .await;
            let alone = verify(&db.pool, &key).await.unwrap();
            let problem = alone[0].problem.as_deref().unwrap_or("");
            assert!(problem.contains("head row"), "{n}: {alone:?}");
            // With a head row as it was at that point put back (where one
            // was kept), the chain alone verifies; the checkpoint sees it.
            let Some((_, prev, tag)) = saved.iter().find(|h| h.0 == n as i64)
            else {
                continue;
            };
            let (id, tag) = match tag {
                Some(t) => (
                    format!("'{}'", cp.chain.clone().unwrap()),
                    format!("'{t}'"),
                ),
                None => ("NULL".to_string(), "NULL".to_string()),
            };
            db.exec(&format!(
                "UPDATE {head} SET prev = '{prev}', chain_id = {id}, tag = {tag} \
                 WHERE chain = {chain}"
            ))
            .await;
            let alone = verify(&db.pool, &key).await.unwrap();
            assert!(alone.iter().all(|r| r.is_ok()), "{n}: {alone:?}");
            let held = verify_with(&db.pool, &key, &set).await.unwrap();
            let problem = held[0].problem.as_deref().unwrap_or("");
            assert!(problem.contains("cut off the end"), "{n}: {held:?}");
            replayed += 1;
        }
        assert!(replayed >= 4, "{saved:?}");
        // The chain deleted, head and all.
        db.exec(&format!("DELETE FROM {head} WHERE chain = {chain}")).await;
        let held = verify_with(&db.pool, &key, &set).await.unwrap();
        let problem = held[0].problem.as_deref().unwrap_or("");
        assert!(problem.contains("deleted"), "{held:?}");
        // An altered checkpoint is refused.
        let mut forged = set.clone();
        forged.chains.get_mut(&chain).unwrap().seq = 2;
        assert!(verify_with(&db.pool, &key, &forged).await.is_err());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn records_are_stamped_when_chained() {
    use phisafe::audit::{AuditAction, AuditEvent, Outcome, Rows};
    use phisafe_sqlx::Backend as _;
    use phisafe_sqlx::audit::OwnedEvent;
    for db in Db::both().await {
        let event = AuditEvent {
            actor: "t",
            role: "app",
            purpose: "test",
            action: AuditAction::Decrypt,
            scope: "t.c",
            rows: Rows::One("r"),
            key_version: Some(1),
            outcome: Outcome::Ok,
            error: None,
            request_id: None,
        };
        // Copied, then written a while later: the record says when it was
        // chained, so times follow sequence numbers whatever the order
        // events were copied in.
        let copied = OwnedEvent::new(&event);
        std::thread::sleep(std::time::Duration::from_millis(50));
        let written = std::time::SystemTime::now();
        let key = db.sql.audit_key().clone();
        let mut tx = db.pool.begin().await.unwrap();
        Any::append_audit(&mut tx, &key, &[copied]).await.unwrap();
        tx.commit().await.unwrap();
        let q = format!(
            "SELECT ts FROM {} ORDER BY seq DESC LIMIT 1",
            db.table("audit_log")
        );
        let (ts,): (String,) = sqlx::query_as(sqlx::AssertSqlSafe(q))
            .fetch_one(&db.pool)
            .await
            .unwrap();
        let ts = humantime::parse_rfc3339(&ts).unwrap();
        assert!(ts >= written, "{ts:?} < {written:?}");
    }
}
