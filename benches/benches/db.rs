//! Column encryption in a real PostgreSQL: `phisafe db encrypt-column`
//! throughput, and reading one column back (plaintext, `pgp_sym_decrypt`,
//! phisafe decrypt with audit) on the same 100,000-row table in the same
//! run. A plain timing program, not criterion: each measurement is one
//! pass over the table, repeated, best of `PHISAFE_BENCH_RUNS` (default 3).
//!
//! Needs `PHISAFE_BENCH_PG_URL`; `scripts/bench_db.sh` starts a throwaway
//! cluster and runs this.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark program: a panic is a failed run, output is the point"
)]

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use phisafe::crypto::{
    Context, FieldCipher, LocalKek, Policy, Scope, audit_key,
};
use phisafe_sqlx::columns::{self, ColumnJob};
use phisafe_sqlx::{Encrypted, SqlCipher, SqlKeyStore};

const OLD_KEY: &str = "old-static-key";

fn best(runs: usize, mut f: impl FnMut() -> Duration) -> Duration {
    (0..runs).map(|_| f()).min().unwrap()
}

fn main() {
    let Ok(url) = std::env::var("PHISAFE_BENCH_PG_URL") else {
        eprintln!(
            "db bench: set PHISAFE_BENCH_PG_URL (scripts/bench_db.sh does); skipped"
        );
        return;
    };
    let rows: i64 = std::env::var("PHISAFE_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runs: usize = std::env::var("PHISAFE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let any = rt.block_on(phisafe_sqlx::connect(&url)).unwrap();
    rt.block_on(phisafe_sqlx::migrate(&any)).unwrap();
    let kek = Arc::new(LocalKek::from_bytes([3; 32]));
    let store = Arc::new(SqlKeyStore::connect(&url).unwrap());
    let key = audit_key(&*kek, &*store).unwrap();
    let builder = FieldCipher::builder(kek, store).policy(Policy::allow_all());
    let sql = SqlCipher::new(builder, key).unwrap();

    // A patients table: synthetic names, SSNs and birth dates; the SSN
    // also as the old encrypt_phi() stored it.
    rt.block_on(async {
        for s in [
            "CREATE EXTENSION IF NOT EXISTS pgcrypto".to_string(),
            "DROP TABLE IF EXISTS patients".into(),
            "CREATE TABLE patients (id BIGINT PRIMARY KEY, full_name TEXT, dob TEXT, \
             ssn TEXT, ssn_pgp BYTEA, ssn_enc BYTEA, ssn_text TEXT)"
                .into(),
            format!(
                "INSERT INTO patients SELECT i, 'Synthetic Person ' || i, \
                 (DATE '1940-01-01' + (i % 25000))::text, \
                 lpad((900000000 + i)::text, 9, '0'), NULL, NULL, NULL \
                 FROM generate_series(1, {rows}) i"
            ),
            format!("UPDATE patients SET ssn_pgp = pgp_sym_encrypt(ssn, '{OLD_KEY}'), \
                     ssn_enc = convert_to(ssn, 'UTF8'), ssn_text = ssn"),
            "VACUUM ANALYZE patients".into(),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(s)).execute(&any).await.unwrap();
        }
    });

    let scope = Scope::new("patients.ssn").unwrap();
    let who = Context::new(&scope, "").actor("bench").purpose("migration");
    let no = AtomicBool::new(false);

    // encrypt-column, text form (TEXT column), from plaintext; reset
    // between runs.
    let enc_text = best(runs, || {
        rt.block_on(async {
            sqlx::query("UPDATE patients SET ssn_text = ssn")
                .execute(&any)
                .await
                .unwrap();
            sqlx::query("DELETE FROM phisafe.column_progress")
                .execute(&any)
                .await
                .unwrap();
            let job = ColumnJob::new("patients", "ssn_text", "id")
                .unwrap()
                .bind_scope("patients.ssn");
            let t = Instant::now();
            let r = columns::convert_column(
                &any,
                &sql,
                &who,
                &job,
                columns::Operation::Encrypt,
                &no,
                &mut |_| {},
            )
            .await
            .unwrap();
            assert_eq!(r.changed, rows as u64);
            t.elapsed()
        })
    });
    // The BYTEA column, encrypted once for the read benchmarks.
    let enc_bin = rt.block_on(async {
        let job = ColumnJob::new("patients", "ssn_enc", "id")
            .unwrap()
            .bind_scope("patients.ssn");
        let t = Instant::now();
        columns::convert_column(
            &any,
            &sql,
            &who,
            &job,
            columns::Operation::Encrypt,
            &no,
            &mut |_| {},
        )
        .await
        .unwrap();
        t.elapsed()
    });

    let pg = rt.block_on(sqlx::PgPool::connect(&url)).unwrap();
    let plain = best(runs, || {
        rt.block_on(async {
            let t = Instant::now();
            let got: Vec<(i64, String)> =
                sqlx::query_as("SELECT id, ssn FROM patients")
                    .fetch_all(&pg)
                    .await
                    .unwrap();
            assert_eq!(got.len() as i64, rows);
            t.elapsed()
        })
    });
    let pgp = best(runs, || {
        rt.block_on(async {
            let t = Instant::now();
            let got: Vec<(i64, String)> = sqlx::query_as(
                "SELECT id, pgp_sym_decrypt(ssn_pgp, $1) FROM patients",
            )
            .bind(OLD_KEY)
            .fetch_all(&pg)
            .await
            .unwrap();
            assert_eq!(got.len() as i64, rows);
            t.elapsed()
        })
    });
    let reader = Context::new(&scope, "").actor("bench").purpose("treatment");
    let phisafe = best(runs, || {
        rt.block_on(async {
            let t = Instant::now();
            let got: Vec<(i64, Encrypted)> =
                sqlx::query_as("SELECT id, ssn_enc FROM patients")
                    .fetch_all(&pg)
                    .await
                    .unwrap();
            let ids: Vec<String> =
                got.iter().map(|(id, _)| id.to_string()).collect();
            let mut opened = 0;
            // One audit record per 1,000 values, committed before the
            // plaintext is returned.
            for (chunk, idc) in got.chunks(1000).zip(ids.chunks(1000)) {
                let items: Vec<(&str, &[u8])> = idc
                    .iter()
                    .zip(chunk)
                    .map(|(id, (_, v))| (id.as_str(), v.as_bytes()))
                    .collect();
                for r in sql.decrypt_many(&pg, &reader, &items).await.unwrap()
                {
                    assert_eq!(r.unwrap().len(), 9);
                    opened += 1;
                }
            }
            assert_eq!(opened, rows);
            t.elapsed()
        })
    });

    let per_s = |d: Duration| rows as f64 / d.as_secs_f64();
    println!("rows: {rows}, best of {runs}");
    println!("{:<44} {:>12}", "operation", "rows/s");
    for (name, d) in [
        ("read plaintext column", plain),
        ("read + pgp_sym_decrypt", pgp),
        ("read + phisafe decrypt_many (audited)", phisafe),
        ("phisafe encrypt-column, TEXT (text form)", enc_text),
        ("phisafe encrypt-column, BYTEA (once)", enc_bin),
    ] {
        println!("{name:<44} {:>12.0}", per_s(d));
    }
    println!(
        "phisafe read vs pgp_sym_decrypt: {:.1}x faster (target >= 10x)",
        pgp.as_secs_f64() / phisafe.as_secs_f64()
    );
    println!(
        "phisafe read vs plaintext read: {:.2}x the time (target <= 3x)",
        phisafe.as_secs_f64() / plain.as_secs_f64()
    );
}
