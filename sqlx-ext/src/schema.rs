//! phisafe's own tables, created by embedded migrations.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, SqlSafeStr as _};

use crate::Error;
use crate::backend::Dialect;

const PG: [&str; 2] = [
    include_str!("../migrations/postgres/0001_init.sql"),
    include_str!("../migrations/postgres/0002_chain_ids.sql"),
];
const LITE: [&str; 2] = [
    include_str!("../migrations/sqlite/0001_init.sql"),
    include_str!("../migrations/sqlite/0002_chain_ids.sql"),
];
const NAMES: [&str; 2] = ["phisafe init", "audit chain ids"];

/// The migrator for a dialect. Its bookkeeping table is phisafe's own
/// (`phisafe._sqlx_migrations`, `_phisafe_migrations`), so it never mixes
/// with the application's sqlx migrations, in either direction.
pub fn migrator(dialect: Dialect) -> Migrator {
    let sql = match dialect {
        Dialect::Postgres => PG,
        Dialect::Sqlite => LITE,
    };
    let migrations =
        (1..).zip(NAMES).zip(sql).map(|((version, name), sql)| {
            Migration::new(
                version,
                Cow::Borrowed(name),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        });
    let mut m = Migrator::with_migrations(migrations.collect());
    match dialect {
        Dialect::Postgres => {
            m.create_schema("phisafe");
            m.dangerous_set_table_name("phisafe._sqlx_migrations");
        }
        Dialect::Sqlite => {
            m.dangerous_set_table_name("_phisafe_migrations");
        }
    }
    m
}

/// Creates or upgrades phisafe's tables. Idempotent; safe to run from
/// several processes at once.
pub async fn migrate(pool: &AnyPool) -> Result<(), Error> {
    let dialect = crate::dialect_of(pool).await?;
    let m = migrator(dialect);
    // PostgreSQL's migrator takes an advisory lock. SQLite's takes none:
    // two processes can both decide to apply a migration, and the second
    // fails (its transaction rolled back). Running again then finds it
    // applied.
    let mut attempts = 0;
    loop {
        match m.run(pool).await {
            Ok(()) => return Ok(()),
            Err(e) if dialect == Dialect::Sqlite && attempts < 10 => {
                attempts += 1;
                let _ = e;
                tokio::time::sleep(std::time::Duration::from_millis(
                    20 * attempts,
                ))
                .await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// [`migrate`] for synchronous callers (CLI tools, Python): connects to
/// `url` on a background thread, migrates, disconnects.
pub fn migrate_blocking(url: &str) -> Result<(), Error> {
    crate::bridge::Bridge::connect(url)?
        .call(|pool| async move { migrate(&pool).await })?
}
