//! `phisafe db` and `phisafe audit verify --db` against SQLite files and
//! a throwaway PostgreSQL cluster, run as users run them, including runs
//! killed mid-way and resumed.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic is a failed test"
)]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

mod support;
use support::ok;

/// The databases of the sqlx extension's tests: one throwaway cluster
/// per test process, a fresh database per test.
#[path = "../../sqlx-ext/tests/common/mod.rs"]
mod common;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// A fresh PostgreSQL database.
fn pg_url() -> String {
    rt().block_on(common::pg_database())
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("app.db").display())
}

/// Runs SQL statements; returns the rows of the last as text columns.
fn sql(url: &str, statements: &[String]) -> Vec<Vec<Option<String>>> {
    use sqlx::Row as _;
    rt().block_on(async {
        let pool = phisafe_sqlx::connect(url).await.unwrap();
        let mut last = Vec::new();
        for s in statements {
            let rows = sqlx::query(sqlx::AssertSqlSafe(s.clone()))
                .fetch_all(&pool)
                .await
                .unwrap_or_else(|e| panic!("{s}: {e}"));
            last = rows
                .iter()
                .map(|r| {
                    (0..sqlx::Row::len(r))
                        .map(|i| r.try_get(i).unwrap())
                        .collect()
                })
                .collect();
        }
        pool.close().await;
        last
    })
}

fn phisafe(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_phisafe"));
    c.current_dir(dir)
        .env("PHISAFE_KEY_FILE", dir.join("master.key"))
        .env_remove("PHISAFE_DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    phisafe(dir).args(args).output().unwrap()
}

fn setup(dir: &Path, url: &str, rows: u32) {
    ok(&run(dir, &["keys", "init"]));
    let mut stmts = vec![
        "CREATE TABLE patients (id BIGINT PRIMARY KEY, full_name TEXT, ssn TEXT)".to_string(),
    ];
    let values: Vec<String> = (1..=rows)
        .map(|i| {
            format!(
                "({i}, 'Synthetic Person {i}', '9{:02}-{:02}-{:04}')",
                i % 100,
                i % 89,
                i
            )
        })
        .collect();
    for chunk in values.chunks(500) {
        stmts
            .push(format!("INSERT INTO patients VALUES {}", chunk.join(", ")));
    }
    sql(url, &stmts);
}

fn ssns(url: &str) -> Vec<Vec<Option<String>>> {
    sql(
        url,
        &["SELECT CAST(id AS TEXT), ssn FROM patients ORDER BY id".into()],
    )
}

#[test]
fn encrypt_column_killed_and_resumed_then_rolled_back() {
    for pg in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let url = if pg { pg_url() } else { sqlite_url(dir.path()) };
        setup(dir.path(), &url, 20_000);
        let original = ssns(&url);
        let args = [
            "db",
            "encrypt-column",
            "--url",
            &url,
            "--table",
            "patients",
            "--column",
            "ssn",
            "--key-column",
            "id",
            "--batch-size",
            "200",
            "--quiet",
        ];
        // Killed (SIGKILL) at growing delays until a run completes.
        let mut kills = 0;
        let mut delay = 150;
        loop {
            let mut child = phisafe(dir.path()).args(args).spawn().unwrap();
            std::thread::sleep(Duration::from_millis(delay));
            if child.try_wait().unwrap().is_some() {
                let out = child.wait_with_output().unwrap();
                ok(&out);
                break;
            }
            child.kill().unwrap();
            child.wait().unwrap();
            kills += 1;
            delay += 150;
        }
        assert!(kills > 0, "never killed: raise the row count");
        let out = run(dir.path(), &args);
        let msg = String::from_utf8_lossy(&out.stderr).into_owned();
        ok(&out);
        assert!(msg.contains("0 encrypted, 20000 already done"), "{msg}");

        let stored = ssns(&url);
        assert!(
            stored
                .iter()
                .all(|r| r[1].as_deref().unwrap().starts_with("psf:"))
        );
        let versions = ok(&run(
            dir.path(),
            &[
                "db",
                "key-versions",
                "--url",
                &url,
                "--table",
                "patients",
                "--column",
                "ssn",
            ],
        ));
        assert!(versions.contains("1            20000"), "{versions}");

        // Rollback gives back exactly the original values: nothing was
        // encrypted twice, nothing lost.
        let mut back = args.to_vec();
        back[1] = "decrypt-column";
        ok(&run(dir.path(), &back));
        assert_eq!(ssns(&url), original);

        let verify = run(dir.path(), &["audit", "verify", "--db", &url]);
        assert!(ok(&verify).contains("intact"));
        // Checkpoints of every chain, kept outside the database.
        let cp = ["audit", "checkpoint", "--db", &url, "-o", "heads.json"];
        assert!(ok(&run(dir.path(), &cp)).contains("checkpoint of 1 chain"));
        let held =
            ["audit", "verify", "--db", &url, "--expect-head", "heads.json"];
        let held = ok(&run(dir.path(), &held));
        assert!(held.contains("holds the head of its checkpoint"), "{held}");
    }
}

#[test]
fn pgcrypto_column_moves_with_the_old_key_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let url = pg_url();
    ok(&run(dir.path(), &["keys", "init"]));
    sql(
        &url,
        &[
            "CREATE EXTENSION pgcrypto".into(),
            "CREATE TABLE legacy (mrn TEXT PRIMARY KEY, diagnosis BYTEA)".into(),
            "INSERT INTO legacy SELECT 'MRN' || i, pgp_sym_encrypt('dx-' || i, 'static-key') \
             FROM generate_series(1, 300) i"
                .into(),
        ],
    );
    let base = [
        "db",
        "encrypt-column",
        "--url",
        &url,
        "--table",
        "legacy",
        "--column",
        "diagnosis",
        "--key-column",
        "mrn",
        "--quiet",
        "--from-pgcrypto",
        "--old-key-env",
        "OLD_PHI_KEY",
    ];
    let out = phisafe(dir.path())
        .args(base)
        .env("OLD_PHI_KEY", "static-key")
        .output()
        .unwrap();
    let msg = String::from_utf8_lossy(&out.stderr).into_owned();
    ok(&out);
    assert!(msg.contains("300 encrypted"), "{msg}");
    assert!(!msg.contains("static-key"));
    // Missing variable: a clear error, nothing done.
    let out = run(dir.path(), &base);
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("set OLD_PHI_KEY"));
    // Decrypt through the CLI's own library path: row reference is the MRN.
    let rows = sql(
        &url,
        &["SELECT encode(diagnosis, 'hex') FROM legacy WHERE mrn = 'MRN42'"
            .into()],
    );
    let hex = rows[0][0].clone().unwrap();
    assert!(hex.starts_with("f5"), "{hex}");
}

#[test]
fn audit_verify_db_catches_an_edited_record() {
    let dir = tempfile::tempdir().unwrap();
    let url = pg_url();
    setup(dir.path(), &url, 50);
    ok(&run(
        dir.path(),
        &[
            "db",
            "encrypt-column",
            "--url",
            &url,
            "--table",
            "patients",
            "--column",
            "ssn",
            "--key-column",
            "id",
            "--quiet",
        ],
    ));
    assert!(
        ok(&run(dir.path(), &["audit", "verify", "--db", &url]))
            .contains("intact")
    );
    // A superuser can drop the trigger; the chain still tells.
    sql(
        &url,
        &[
            "DROP TRIGGER audit_log_no_update_delete ON phisafe.audit_log"
                .into(),
            "UPDATE phisafe.audit_log SET actor = 'nobody' WHERE seq = 1"
                .into(),
        ],
    );
    let out = run(dir.path(), &["audit", "verify", "--db", &url]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("broken"));
}

#[test]
fn db_scan_names_the_columns_to_encrypt() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    setup(dir.path(), &url, 100);
    let out =
        ok(&run(dir.path(), &["db", "scan", "--url", &url, "--sample", "50"]));
    // column, rows, rows with PHI, share, class, entities...
    let class = |col: &str| {
        let line =
            out.lines().find(|l| l.starts_with(col)).unwrap_or_default();
        line.split_whitespace().nth(4).unwrap_or_default().to_string()
    };
    assert_eq!(class("patients.ssn "), "SSN", "{out}");
    assert_eq!(class("patients.full_name "), "PERSON", "{out}");
    assert_eq!(class("patients.id "), "-", "{out}");
}

#[test]
fn concurrent_processes_keep_the_audit_chains_valid() {
    for pg in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let url = if pg { pg_url() } else { sqlite_url(dir.path()) };
        setup(dir.path(), &url, 400);
        sql(
            &url,
            &[
                "ALTER TABLE patients ADD COLUMN a TEXT".into(),
                "ALTER TABLE patients ADD COLUMN b TEXT".into(),
                "ALTER TABLE patients ADD COLUMN c TEXT".into(),
                "UPDATE patients SET a = ssn, b = full_name, c = ssn".into(),
            ],
        );
        // Four processes, each with its own connections, auditing every
        // batch of 10 rows at the same time.
        let children: Vec<_> = ["ssn", "a", "b", "c"]
            .iter()
            .map(|col| {
                phisafe(dir.path())
                    .args([
                        "db",
                        "encrypt-column",
                        "--url",
                        &url,
                        "--table",
                        "patients",
                        "--column",
                        col,
                        "--key-column",
                        "id",
                        "--batch-size",
                        "10",
                        "--quiet",
                    ])
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            ok(&c.wait_with_output().unwrap());
        }
        let out = ok(&run(dir.path(), &["audit", "verify", "--db", &url]));
        let records: u64 = out
            .lines()
            .filter_map(|l| {
                l.split(": ").nth(1)?.split(' ').next()?.parse::<u64>().ok()
            })
            .sum();
        // 40 batches per column, and one key creation per column.
        assert!(records >= 4 * 41, "{out}");
        assert!(!out.contains("broken"), "{out}");
    }
}
