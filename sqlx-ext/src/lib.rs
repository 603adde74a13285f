//! phisafe for [sqlx]: encrypted columns in PostgreSQL and SQLite, the
//! keyring and a tamper-evident audit trail in the database, and online
//! migration of existing plaintext or pgcrypto (`encrypt_phi()`) columns.
//!
//! - [`migrate`] creates phisafe's own tables: schema `phisafe` in
//!   PostgreSQL, prefix `phisafe_` in SQLite, tracked in phisafe's own
//!   migrations table so they never mix with the application's.
//! - [`SqlKeyStore`] keeps wrapped data keys in the database;
//!   [`SqlAuditSink`] appends the audit chain there (both for the
//!   synchronous [`FieldCipher`](phisafe::crypto::FieldCipher)).
//! - [`SqlCipher`] seals and opens [`Encrypted`] column values from async
//!   code, with the audit record of a write in the caller's transaction.
//! - [`audit::verify`] checks every chain.
//!
//! ```
//! # #[cfg(feature = "sqlite")]
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! use std::sync::Arc;
//! use phisafe::crypto::{audit_key, Context, FieldCipher, LocalKek, Policy, Scope};
//! use phisafe_sqlx::{SqlCipher, SqlKeyStore};
//!
//! let dir = tempfile::tempdir()?;
//! let url = format!("sqlite://{}?mode=rwc", dir.path().join("app.db").display());
//! let pool = phisafe_sqlx::connect(&url).await?;
//! phisafe_sqlx::migrate(&pool).await?;
//!
//! let kek = Arc::new(LocalKek::from_bytes([7; 32]));
//! let store = Arc::new(SqlKeyStore::connect(&url)?);
//! let key = audit_key(&*kek, &*store)?;
//! let builder = FieldCipher::builder(kek, store).policy(Policy::allow_all());
//! let sql = SqlCipher::new(builder, key)?;
//!
//! let scope = Scope::new("patients.ssn")?;
//! let ctx = Context::new(&scope, "42").actor("intake").purpose("treatment");
//! let mut tx = pool.begin().await?;
//! let ssn = sql.encrypt::<sqlx::Any>(&mut tx, &ctx, b"219-09-9999").await?;
//! tx.commit().await?;
//! assert_eq!(&sql.decrypt(&pool, &ctx, &ssn).await?[..], b"219-09-9999");
//!
//! let reports = phisafe_sqlx::audit::verify(&pool, sql.audit_key()).await?;
//! assert!(reports.iter().all(|r| r.is_ok()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod audit;
mod backend;
mod bridge;
mod column;
pub mod columns;
mod scan;
mod schema;
mod store;

use std::sync::Once;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

pub use audit::SqlAuditSink;
pub use backend::{Backend, Dialect};
pub use column::{Encrypted, SqlCipher};
pub use scan::scan_tables;
pub use schema::{migrate, migrate_blocking, migrator};
pub use store::SqlKeyStore;

/// An error from phisafe's database layer. Never holds plaintext or key
/// material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database refused or failed a statement.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// phisafe's schema migration failed.
    #[error("phisafe schema migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Encryption, decryption, policy or key failure.
    #[error(transparent)]
    Crypto(#[from] phisafe::crypto::CryptoError),
    /// A keyring operation failed.
    #[error("keyring: {0}")]
    Key(#[from] phisafe::crypto::KeyError),
    /// The audit chain could not be read or does not match the key.
    #[error("audit: {0}")]
    Audit(String),
    /// phisafe's tables hold something phisafe did not write.
    #[error("phisafe table holds invalid data: {0}")]
    Corrupt(&'static str),
    /// A database or request phisafe cannot handle.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A table or column name, or another argument, is not acceptable.
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// The background database thread could not start or stopped.
    #[error("database thread: {0}")]
    Runtime(String),
    /// Made before this process forked: its database thread and
    /// connections belong to the parent.
    #[error(
        "this database handle was opened before the process forked; open \
         it (and the FieldCipher) in each worker after the fork"
    )]
    Forked,
}

/// Registers the compiled-in drivers with sqlx's `Any`; idempotent.
pub(crate) fn install_drivers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(sqlx::any::install_default_drivers);
}

/// How long to wait for a connection before giving up: an unreachable
/// database is an error in seconds, not a hang.
pub(crate) const ACQUIRE_TIMEOUT: std::time::Duration =
    std::time::Duration::from_secs(5);

/// Connects an `Any` pool to a `postgres://` or `sqlite://` URL.
pub async fn connect(url: &str) -> Result<AnyPool, Error> {
    install_drivers();
    Ok(AnyPoolOptions::new()
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect(url)
        .await?)
}

/// The dialect of a pool's database.
pub async fn dialect_of(pool: &AnyPool) -> Result<Dialect, Error> {
    let conn = pool.acquire().await?;
    Dialect::from_backend(conn.backend_name())
}
