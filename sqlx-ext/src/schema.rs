//! phisafe's own tables, created by embedded migrations.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, SqlSafeStr as _};

use crate::Error;
use crate::backend::Dialect;

const PG_INIT: &str = include_str!("../migrations/postgres/0001_init.sql");
const LITE_INIT: &str = include_str!("../migrations/sqlite/0001_init.sql");

/// The migrator for a dialect. Its bookkeeping table is phisafe's own
/// (`phisafe._sqlx_migrations`, `_phisafe_migrations`), so it never mixes
/// with the application's sqlx migrations, in either direction.
pub fn migrator(dialect: Dialect) -> Migrator {
    let sql = match dialect {
        Dialect::Postgres => PG_INIT,
        Dialect::Sqlite => LITE_INIT,
    };
    let mut m = Migrator::with_migrations(vec![Migration::new(
        1,
        Cow::Borrowed("phisafe init"),
        MigrationType::Simple,
        sql.into_sql_str(),
        false,
    )]);
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
/// several processes at once (the migrator takes a lock).
pub async fn migrate(pool: &AnyPool) -> Result<(), Error> {
    let dialect = crate::dialect_of(pool).await?;
    migrator(dialect).run(pool).await?;
    Ok(())
}

/// [`migrate`] for synchronous callers (CLI tools, Python): connects to
/// `url` on a background thread, migrates, disconnects.
pub fn migrate_blocking(url: &str) -> Result<(), Error> {
    crate::bridge::Bridge::connect(url)?
        .call(|pool| async move { migrate(&pool).await })?
}
