//! Databases for the tests: a fresh SQLite file or a fresh PostgreSQL
//! database per test, in a throwaway cluster.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use phisafe::crypto::{FieldCipher, KeyAdmin, LocalKek, Policy, audit_key};
use phisafe_sqlx::{SqlAuditSink, SqlCipher, SqlKeyStore};
use sqlx::AnyPool;

/// The cluster's URL: `PHISAFE_TEST_PG_URL` when the test script started
/// one, else one started for this test process (stopped when it exits).
pub fn pg_base() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("PHISAFE_TEST_PG_URL") {
            return url;
        }
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let out = Command::new("bash")
            .arg(root.join("scripts/pg_test_cluster.sh"))
            .arg(std::process::id().to_string())
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "scripts/pg_test_cluster.sh failed (these tests need initdb and \
             pg_ctl on PATH): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    })
}

/// The URL of database `name` in the test cluster.
pub fn pg_url_of(name: &str) -> String {
    pg_base().replacen("/postgres?", &format!("/{name}?"), 1)
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A new, empty PostgreSQL database.
pub async fn pg_database() -> String {
    let name = format!(
        "t{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let admin = phisafe_sqlx::connect(pg_base()).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    pg_url_of(&name)
}

/// A new SQLite database file in `dir`.
pub fn sqlite_url(dir: &tempfile::TempDir) -> String {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!(
        "sqlite://{}?mode=rwc",
        dir.path().join(format!("t{n}.db")).display()
    )
}

/// Everything a test needs on one database.
pub struct Db {
    pub url: String,
    pub pool: AnyPool,
    pub kek: Arc<LocalKek>,
    pub store: Arc<SqlKeyStore>,
    pub cipher: FieldCipher,
    pub admin: KeyAdmin,
    pub sql: SqlCipher,
    _dir: Option<tempfile::TempDir>,
}

impl Db {
    /// phisafe's tables migrated, a cipher with the keyring and audit
    /// chain in the database.
    pub async fn new(url: String, dir: Option<tempfile::TempDir>) -> Db {
        let pool = phisafe_sqlx::connect(&url).await.unwrap();
        phisafe_sqlx::migrate(&pool).await.unwrap();
        let kek = Arc::new(LocalKek::from_bytes([9; 32]));
        let store = Arc::new(SqlKeyStore::connect(&url).unwrap());
        let key = audit_key(&*kek, &*store).unwrap();
        let sink = Arc::new(SqlAuditSink::connect(&url, key.clone()).unwrap());
        let cipher = FieldCipher::builder(kek.clone(), store.clone())
            .policy(Policy::allow_all())
            .build(sink.clone())
            .unwrap();
        let admin = FieldCipher::builder(kek.clone(), store.clone())
            .policy(Policy::allow_all())
            .build_admin(sink)
            .unwrap();
        let builder = FieldCipher::builder(kek.clone(), store.clone())
            .policy(Policy::allow_all());
        let sql = SqlCipher::new(builder, key).unwrap();
        Db { url, pool, kek, store, cipher, admin, sql, _dir: dir }
    }

    pub async fn postgres() -> Db {
        Db::new(pg_database().await, None).await
    }

    pub async fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        Db::new(sqlite_url(&dir), Some(dir)).await
    }

    /// Both backends, SQLite first.
    pub async fn both() -> Vec<Db> {
        vec![Db::sqlite().await, Db::postgres().await]
    }

    pub fn is_pg(&self) -> bool {
        self.url.starts_with("postgres")
    }

    /// phisafe's table `name` in this dialect.
    pub fn table(&self, name: &str) -> String {
        if self.is_pg() {
            format!("phisafe.{name}")
        } else {
            format!("phisafe_{name}")
        }
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let (n,): (i64,) =
            sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
                .fetch_one(&self.pool)
                .await
                .unwrap();
        n
    }

    pub async fn exec(&self, sql: &str) {
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&self.pool)
            .await
            .unwrap();
    }

    /// Every audit chain verifies; returns the number of records.
    pub async fn audit_ok(&self) -> u64 {
        let reports =
            phisafe_sqlx::audit::verify(&self.pool, self.sql.audit_key())
                .await
                .unwrap();
        for r in &reports {
            assert!(r.is_ok(), "chain {} broken: {:?}", r.chain, r.problem);
        }
        reports.iter().map(|r| r.valid).sum()
    }
}
