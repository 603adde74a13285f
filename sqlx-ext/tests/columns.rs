//! Column migrations against real databases: encrypt, resume after being
//! cut off anywhere, concurrent application writes, pgcrypto sources,
//! re-encryption after rotation, and rollback.

#![allow(clippy::unwrap_used, reason = "test helpers")]

mod common;

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Db;
use phisafe::crypto::{Context, IndexSpec, Normalizer, Scope};
use phisafe_sqlx::columns::{
    self, ColumnJob, ColumnReport, Operation, Source, key_versions,
};
use phisafe_sqlx::{Encrypted, Error};
use zeroize::Zeroizing;

/// Synthetic SSN-shaped values; every 7th row NULL.
fn value(i: i64) -> Option<String> {
    (i % 7 != 3).then(|| format!("9{:02}-{:02}-{:04}", i % 100, i % 97, i))
}

async fn patients(db: &Db, rows: i64) {
    db.exec(
        "CREATE TABLE patients (id BIGINT PRIMARY KEY, name TEXT, ssn TEXT, ssn_idx TEXT)",
    )
    .await;
    let mut tx = db.pool.begin().await.unwrap();
    for i in 1..=rows {
        sqlx::query(
            "INSERT INTO patients (id, name, ssn) VALUES ($1, $2, $3)",
        )
        .bind(i)
        .bind(format!("Synthetic Person {i}"))
        .bind(value(i))
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

fn scope() -> Scope {
    Scope::new("patients.ssn").unwrap()
}

async fn convert(
    db: &Db,
    who: &Context<'_>,
    job: &ColumnJob,
    op: Operation,
) -> Result<ColumnReport, Error> {
    let no = AtomicBool::new(false);
    columns::convert_column(&db.pool, &db.sql, who, job, op, &no, &mut |_| {})
        .await
}

async fn encrypt(db: &Db, job: &ColumnJob) -> Result<ColumnReport, Error> {
    let s = Scope::new(job.scope()).unwrap();
    let who = Context::new(&s, "").actor("migrator").purpose("migration");
    convert(db, &who, job, Operation::Encrypt).await
}

/// Every row's stored value: decrypted where it is an envelope.
async fn contents(db: &Db) -> HashMap<i64, Option<String>> {
    let rows: Vec<(i64, Option<String>)> =
        sqlx::query_as("SELECT id, ssn FROM patients")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    let s = scope();
    let mut out = HashMap::new();
    for (id, ssn) in rows {
        let plain = match ssn {
            Some(text) if text.starts_with("psf:") => {
                let row = id.to_string();
                let ctx =
                    Context::new(&s, &row).actor("check").purpose("test");
                let value = Encrypted::from_text(&text).unwrap();
                let plain = db.cipher.decrypt_phi(&ctx, value.as_bytes());
                let plain = plain.unwrap_or_else(|e| panic!("row {id}: {e}"));
                let plain = String::from_utf8(plain.to_vec()).unwrap();
                // Encrypted once: what comes out is the value itself.
                assert!(
                    !plain.starts_with("psf:"),
                    "row {id} double-encrypted"
                );
                Some(plain)
            }
            other => other,
        };
        out.insert(id, plain);
    }
    out
}

async fn plaintext_left(db: &Db) -> i64 {
    db.count("SELECT COUNT(*) FROM patients WHERE ssn IS NOT NULL AND ssn NOT LIKE 'psf:%'")
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn encrypt_index_rotate_reencrypt_and_roll_back() {
    for db in Db::both().await {
        patients(&db, 2500).await;
        let original = contents(&db).await;
        let nonnull = original.values().filter(|v| v.is_some()).count() as u64;
        let spec =
            IndexSpec::new("ssn_digits", Normalizer::Digits, 64).unwrap();
        let job = ColumnJob::new("patients", "ssn", "id")
            .unwrap()
            .batch_size(300)
            .blind_index("ssn_idx", spec.clone())
            .unwrap();
        let report = encrypt(&db, &job).await.unwrap();
        assert_eq!(
            (report.scanned, report.changed, report.nulls, report.failed),
            (2500, nonnull, 2500 - nonnull, 0)
        );
        assert_eq!(plaintext_left(&db).await, 0);
        assert_eq!(contents(&db).await, original);
        // The name column is untouched.
        assert_eq!(
            db.count("SELECT COUNT(*) FROM patients WHERE name LIKE 'Synthetic Person %'")
                .await,
            2500
        );

        // Idempotent: a second run changes nothing.
        let again = encrypt(&db, &job).await.unwrap();
        assert_eq!((again.changed, again.already), (0, nonnull));

        // Equality search through the blind index.
        let s = scope();
        let ctx = Context::new(&s, "").actor("front-desk").purpose("lookup");
        let want = value(1234).unwrap();
        let ix = db
            .sql
            .blind_index(&db.pool, &ctx, &spec, &want.replace('-', " "))
            .await
            .unwrap();
        let ids: Vec<(i64,)> =
            sqlx::query_as("SELECT id FROM patients WHERE ssn_idx = $1")
                .bind(ix.to_hex())
                .fetch_all(&db.pool)
                .await
                .unwrap();
        assert_eq!(ids, [(1234,)]);

        // Rotate, then move every value to the new version.
        assert_eq!(
            key_versions(&db.pool, &job).await.unwrap(),
            [(Some(1), nonnull)]
        );
        db.admin.rotate(&ctx).unwrap();
        let moved =
            convert(&db, &ctx, &job, Operation::Reencrypt).await.unwrap();
        assert_eq!(moved.changed, nonnull);
        assert_eq!(
            key_versions(&db.pool, &job).await.unwrap(),
            [(Some(2), nonnull)]
        );
        assert_eq!(contents(&db).await, original);

        // Roll back to plaintext.
        let back = convert(&db, &ctx, &job, Operation::Decrypt).await.unwrap();
        assert_eq!(back.changed, nonnull);
        assert_eq!(plaintext_left(&db).await, nonnull as i64);
        assert_eq!(contents(&db).await, original);
        assert_eq!(
            key_versions(&db.pool, &job).await.unwrap(),
            [(None, nonnull)]
        );
        db.audit_ok().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cut_off_anywhere_and_resumed_encrypts_every_row_exactly_once() {
    for db in Db::both().await {
        patients(&db, 3000).await;
        let original = contents(&db).await;
        let job =
            ColumnJob::new("patients", "ssn", "id").unwrap().batch_size(250);
        // A clean stop between batches (Ctrl-C) ...
        let s = scope();
        let who = Context::new(&s, "").actor("migrator").purpose("migration");
        let stop = AtomicBool::new(false);
        let mut batches = 0;
        let first = columns::convert_column(
            &db.pool,
            &db.sql,
            &who,
            &job,
            Operation::Encrypt,
            &stop,
            &mut |_| {
                batches += 1;
                if batches == 3 {
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            },
        )
        .await
        .unwrap();
        assert!(first.stopped);
        assert_eq!(first.scanned, 750);
        assert!(plaintext_left(&db).await > 0);
        // ... then runs dropped at arbitrary await points, mid-batch, like
        // a killed process: their transactions roll back.
        let mut cut = 0;
        let mut delay = 3u64;
        loop {
            let run = encrypt(&db, &job);
            match tokio::time::timeout(Duration::from_millis(delay), run).await
            {
                Ok(report) => {
                    // Resumed, unless a cut run had already finished
                    // and was dropped just before returning.
                    report.unwrap();
                    break;
                }
                Err(_) => {
                    cut += 1;
                    delay = delay * 3 / 2 + 1;
                }
            }
        }
        assert!(cut > 0, "no run was cut off; lower the first delay");
        assert_eq!(plaintext_left(&db).await, 0);
        assert_eq!(contents(&db).await, original);
        db.audit_ok().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_application_updates_are_not_lost() {
    for db in Db::both().await {
        patients(&db, 2000).await;
        let latest: Arc<Mutex<HashMap<i64, Option<String>>>> =
            Arc::new(Mutex::new(contents(&db).await));
        let done = Arc::new(AtomicBool::new(false));
        let writer = {
            let (pool, latest, done) =
                (db.pool.clone(), latest.clone(), done.clone());
            tokio::spawn(async move {
                let mut n = 0i64;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let id = (n * 7919) % 2000 + 1;
                    let new = format!("800-{:02}-{:04}", n % 100, n % 10000);
                    let res = sqlx::query(
                        "UPDATE patients SET ssn = $1 WHERE id = $2",
                    )
                    .bind(new.clone())
                    .bind(id)
                    .execute(&pool)
                    .await;
                    if res.is_ok() {
                        latest.lock().unwrap().insert(id, Some(new));
                    }
                    tokio::task::yield_now().await;
                }
                n
            })
        };
        let job =
            ColumnJob::new("patients", "ssn", "id").unwrap().batch_size(100);
        // The run is also stopped after every batch and resumed after a
        // few application writes, so updates land between batches on
        // rows done and not yet done, whatever the timing (SQLite's
        // single writer can starve the task above).
        let s = scope();
        let who = Context::new(&s, "").actor("migrator").purpose("migration");
        let stop = AtomicBool::new(false);
        let mut between = 0i64;
        loop {
            stop.store(false, std::sync::atomic::Ordering::Relaxed);
            let report = columns::convert_column(
                &db.pool,
                &db.sql,
                &who,
                &job,
                Operation::Encrypt,
                &stop,
                &mut |_| {
                    stop.store(true, std::sync::atomic::Ordering::Relaxed)
                },
            )
            .await
            .unwrap();
            for k in 0..3 {
                between += 1;
                let id = (between * 104_729 + k) % 2000 + 1;
                let new = format!("700-{:02}-{:04}", between % 100, between);
                sqlx::query("UPDATE patients SET ssn = $1 WHERE id = $2")
                    .bind(new.clone())
                    .bind(id)
                    .execute(&db.pool)
                    .await
                    .unwrap();
                latest.lock().unwrap().insert(id, Some(new));
            }
            if !report.stopped {
                break;
            }
        }
        assert!(between > 30, "{between} writes between batches");
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.await.unwrap();
        // Values written after the last pass are still plaintext: the
        // application's, not lost. A final run encrypts them too.
        assert_eq!(contents(&db).await, *latest.lock().unwrap());
        encrypt(&db, &job).await.unwrap();
        assert_eq!(plaintext_left(&db).await, 0);
        assert_eq!(contents(&db).await, *latest.lock().unwrap());
        db.audit_ok().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pgcrypto_ciphertexts_move_to_phisafe_with_the_old_key_bound() {
    let db = Db::postgres().await;
    db.exec("CREATE EXTENSION pgcrypto").await;
    db.exec(
        "CREATE TABLE legacy (id INTEGER PRIMARY KEY, ssn BYTEA, dob BYTEA)",
    )
    .await;
    // What the old encrypt_phi() made, with its one static key.
    for i in 1..=400i64 {
        sqlx::query(
            "INSERT INTO legacy VALUES ($1, pgp_sym_encrypt($2, $4), \
             encrypt(convert_to($3, 'UTF8'), convert_to($4, 'UTF8'), 'aes'))",
        )
        .bind(i)
        .bind(value(i).unwrap_or_default())
        .bind(format!("19{:02}-0{}-1{}", 40 + i % 50, 1 + i % 9, i % 10))
        .bind("old-static-key")
        .execute(&db.pool)
        .await
        .unwrap();
    }
    // One value the old key does not open.
    db.exec("UPDATE legacy SET ssn = pgp_sym_encrypt('x', 'another key') WHERE id = 77").await;

    let s = Scope::new("legacy.ssn").unwrap();
    let who = Context::new(&s, "").actor("migrator").purpose("migration");
    let job = ColumnJob::new("legacy", "ssn", "id")
        .unwrap()
        .batch_size(64)
        .source(Source::PgpSym(Zeroizing::new("old-static-key".into())));
    let report = convert(&db, &who, &job, Operation::Encrypt).await.unwrap();
    assert_eq!((report.changed, report.failed), (399, 1), "{report:?}");
    assert_eq!(report.failed_keys, ["77"]);

    let rows: Vec<(i32, Encrypted)> = sqlx::query_as(
        "SELECT id, ssn FROM legacy WHERE id <> 77 ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    for (id, sealed) in &rows {
        let row = id.to_string();
        let ctx = Context::new(&s, &row).actor("check").purpose("test");
        let plain = db.cipher.decrypt_phi(&ctx, sealed.as_bytes()).unwrap();
        assert_eq!(
            plain.as_slice(),
            value(i64::from(*id)).unwrap_or_default().as_bytes()
        );
    }
    // The failed row is untouched and still opens with the key it had.
    assert_eq!(
        db.count("SELECT COUNT(*) FROM legacy WHERE id = 77 AND pgp_sym_decrypt(ssn, 'another key') = 'x'")
            .await,
        1
    );

    // Raw encrypt(..., 'aes') values, with a wrong key first: nothing moves.
    let dob = Scope::new("legacy.dob").unwrap();
    let who = Context::new(&dob, "").actor("migrator").purpose("migration");
    let wrong = ColumnJob::new("legacy", "dob", "id")
        .unwrap()
        .source(Source::RawAes(Zeroizing::new("wrong".into())));
    let report = convert(&db, &who, &wrong, Operation::Encrypt).await.unwrap();
    assert_eq!((report.changed, report.failed), (0, 400));
    let job = ColumnJob::new("legacy", "dob", "id")
        .unwrap()
        .source(Source::RawAes(Zeroizing::new("old-static-key".into())));
    let report = convert(&db, &who, &job, Operation::Encrypt).await.unwrap();
    assert_eq!((report.changed, report.failed), (400, 0));
    let (sealed,): (Encrypted,) =
        sqlx::query_as("SELECT dob FROM legacy WHERE id = 5")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    let ctx = Context::new(&dob, "5").actor("check").purpose("test");
    let plain = db.cipher.decrypt_phi(&ctx, sealed.as_bytes()).unwrap();
    assert_eq!(plain.as_slice(), b"1945-06-15");
    db.audit_ok().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_names_and_unfit_columns_are_refused_up_front() {
    for bad in ["patients; DROP TABLE x", "p\"x", "", "1abc", "a.b.c"] {
        assert!(
            matches!(ColumnJob::new(bad, "ssn", "id"), Err(Error::Invalid(_))),
            "{bad}"
        );
    }
    assert!(ColumnJob::new("patients", "ssn", "ssn").is_err());
    for db in Db::both().await {
        db.exec("CREATE TABLE t (id BIGINT PRIMARY KEY, short VARCHAR(20), n BIGINT)").await;
        for (col, want) in [
            ("short", "ALTER it to TEXT"),
            ("n", "needs TEXT or BYTEA"),
            ("nope", "has no column"),
        ] {
            let job = ColumnJob::new("t", col, "id").unwrap();
            let err = encrypt(&db, &job).await.unwrap_err();
            // SQLite does not enforce VARCHAR lengths, but the declared
            // limit is still refused: the schema says it would not fit.
            assert!(err.to_string().contains(want), "{col}: {err}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_column_is_converted_under_its_own_scope_only() {
    for db in Db::both().await {
        patients(&db, 20).await;
        let before = contents(&db).await;
        // A grant on another scope does not bind this column's values.
        let other = Scope::new("billing.card").unwrap();
        let who =
            Context::new(&other, "").actor("migrator").purpose("migration");
        let job = ColumnJob::new("patients", "ssn", "id").unwrap();
        assert_eq!(job.scope(), "patients.ssn");
        let err =
            convert(&db, &who, &job, Operation::Encrypt).await.unwrap_err();
        assert!(
            err.to_string().contains("bound to scope \"patients.ssn\""),
            "{err}"
        );
        assert_eq!(contents(&db).await, before, "nothing changed");
        // Bound to another scope on purpose, under that scope it runs.
        let job = job.bind_scope("billing.card");
        let report =
            convert(&db, &who, &job, Operation::Encrypt).await.unwrap();
        assert!(report.changed > 10 && report.failed == 0, "{report:?}");
        let (id, sealed): (i64, String) = sqlx::query_as(
            "SELECT id, ssn FROM patients WHERE ssn IS NOT NULL ORDER BY id LIMIT 1",
        )
        .fetch_one(&db.pool)
                .await
                .unwrap();
        let row = id.to_string();
        let ctx = Context::new(&other, &row).actor("check").purpose("test");
        assert!(sealed.starts_with("psf:"), "{sealed}");
        assert!(db.cipher.decrypt_phi(&ctx, sealed.as_bytes()).is_ok());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_classifies_live_columns_and_skips_phisafe_tables() {
    use phisafe::Entity;
    for db in Db::both().await {
        db.exec(
            "CREATE TABLE visits (id BIGINT PRIMARY KEY, patient_email TEXT, \
             ssn TEXT, status TEXT, seen BIGINT)",
        )
        .await;
        for i in 0..40i64 {
            sqlx::query("INSERT INTO visits VALUES ($1, $2, $3, $4, $5)")
                .bind(i)
                .bind(format!("person{i}@example.org"))
                .bind(value(i + 1).unwrap_or_else(|| "219-09-9999".into()))
                .bind(if i % 2 == 0 { "open" } else { "closed" })
                .bind(i * 3)
                .execute(&db.pool)
                .await
                .unwrap();
        }
        let scanner = phisafe::Scanner::new();
        let c = phisafe_sqlx::scan_tables(&db.pool, &scanner, None, 25)
            .await
            .unwrap();
        let got: HashMap<String, (u64, Option<Entity>)> = c
            .summaries()
            .iter()
            .map(|s| (s.column().to_string(), (s.rows(), s.classification())))
            .collect();
        // Postgres names carry their schema, as a dump's do.
        let table = if db.is_pg() { "public.visits" } else { "visits" };
        let col = |c: &str| format!("{table}.{c}");
        assert_eq!(got[&col("patient_email")], (25, Some(Entity::Email)));
        assert_eq!(got[&col("ssn")], (25, Some(Entity::Ssn)));
        assert_eq!(got[&col("status")], (25, None));
        assert!(
            got.keys().all(|k| k.starts_with(&col(""))),
            "{:?}",
            got.keys()
        );
        if db.is_pg() {
            // pg_dump's COPY of the same table names its columns alike.
            let dump = "COPY public.visits (id, patient_email, ssn, status, seen) FROM stdin;\n\
                        1\tperson1@example.org\t219-09-9999\topen\t3\n\\.\n";
            let mut rows = scanner.scan_dump(
                dump.as_bytes(),
                phisafe::format::dump::DumpDialect::Postgres,
            );
            let row = rows.next_row().unwrap().unwrap();
            for f in &row.findings {
                let name = format!("{}.{}", f.table(), f.column().unwrap());
                assert!(
                    got.contains_key(&name),
                    "{name} not in {:?}",
                    got.keys()
                );
            }
            assert_eq!(row.findings.len(), 2);
        }
        let one =
            phisafe_sqlx::scan_tables(&db.pool, &scanner, Some("visits"), 5)
                .await
                .unwrap();
        assert_eq!(one.summaries()[0].rows(), 5);
        assert!(
            phisafe_sqlx::scan_tables(&db.pool, &scanner, Some("nope"), 5)
                .await
                .is_err()
        );
    }
}
