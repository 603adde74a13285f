//! The SQL phisafe runs against its own tables, once per database type.
//!
//! sqlx's executors are typed by database, and an application holds a
//! `PgConnection` or `SqliteConnection` (or `AnyConnection`), so the few
//! statements that must run in the caller's transaction are implemented
//! for each of them by one macro; everything else goes through `Any`.

use std::future::Future;
use std::pin::Pin;

use phisafe::audit::{AuditError, AuditKey, AuditRecord, Chain};
use phisafe::crypto::{KeyRecord, Keyring};

use crate::Error;
use crate::audit::OwnedEvent;

/// A boxed future borrowing a connection.
pub(crate) type BoxFut<'c, T> = Pin<Box<dyn Future<Output = T> + Send + 'c>>;

/// Which SQL dialect a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL: tables in schema `phisafe`.
    Postgres,
    /// SQLite: tables prefixed `phisafe_`.
    Sqlite,
}

impl Dialect {
    /// The dialect of an `AnyConnection` backend name.
    pub(crate) fn from_backend(name: &str) -> Result<Dialect, Error> {
        match name {
            "PostgreSQL" => Ok(Dialect::Postgres),
            "SQLite" => Ok(Dialect::Sqlite),
            other => Err(Error::Unsupported(format!(
                "database backend {other}; phisafe supports PostgreSQL and SQLite"
            ))),
        }
    }

    /// The name of phisafe's table `name` (`keyring`, `audit_log`...).
    pub fn table(self, name: &str) -> String {
        match self {
            Dialect::Postgres => format!("phisafe.{name}"),
            Dialect::Sqlite => format!("phisafe_{name}"),
        }
    }
}

/// The zero MAC a new chain starts from, in hex.
pub(crate) const ZERO_MAC: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// Statements on phisafe's own tables, by dialect. All values are bound
/// parameters; the only text spliced in is the fixed table names.
struct Sql {
    lock_head: &'static str,
    new_head: &'static str,
    insert_record: &'static str,
    update_head: &'static str,
    keyring_select: &'static str,
    keyring_lock: &'static str,
    keyring_delete: &'static str,
    keyring_insert: &'static str,
}

const PG: Sql = Sql {
    // Any free chain; concurrent writers each get their own.
    lock_head: "SELECT chain, next_seq, prev, chain_id, tag FROM phisafe.audit_head \
                ORDER BY chain LIMIT 1 FOR UPDATE SKIP LOCKED",
    new_head: "INSERT INTO phisafe.audit_head (chain, next_seq, prev, chain_id, tag) \
               SELECT COALESCE(MAX(chain) + 1, 0), 0, $1, $2, $3 FROM phisafe.audit_head \
               ON CONFLICT DO NOTHING RETURNING chain, next_seq, prev, chain_id, tag",
    insert_record: "INSERT INTO phisafe.audit_log (chain, seq, ts, actor, role, purpose, \
                    action, scope, row_ref, rows, rows_sha256, key_version, outcome, error, \
                    request_id, prev, mac, chain_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
                    $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
    update_head: "UPDATE phisafe.audit_head SET next_seq = $2, prev = $3, chain_id = $4, \
                  tag = $5 WHERE chain = $1",
    keyring_select: "SELECT scope, purpose, version, state, kek_id, wrapped, created \
                     FROM phisafe.keyring ORDER BY created, scope, purpose, version",
    // Serializes keyring changes; plain reads go on.
    keyring_lock: "LOCK TABLE phisafe.keyring IN EXCLUSIVE MODE",
    keyring_delete: "DELETE FROM phisafe.keyring",
    keyring_insert: "INSERT INTO phisafe.keyring (scope, purpose, version, state, kek_id, \
                     wrapped, created) VALUES ($1, $2, $3, $4, $5, $6, $7)",
};

const LITE: Sql = Sql {
    // A write first, so this transaction holds SQLite's write lock before
    // it reads the head.
    lock_head: "UPDATE phisafe_audit_head SET next_seq = next_seq WHERE chain = 0 \
                RETURNING chain, next_seq, prev, chain_id, tag",
    new_head: "INSERT INTO phisafe_audit_head (chain, next_seq, prev, chain_id, tag) \
               VALUES (0, 0, $1, $2, $3) \
               ON CONFLICT DO NOTHING RETURNING chain, next_seq, prev, chain_id, tag",
    insert_record: "INSERT INTO phisafe_audit_log (chain, seq, ts, actor, role, purpose, \
                    action, scope, row_ref, rows, rows_sha256, key_version, outcome, error, \
                    request_id, prev, mac, chain_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
                    $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
    update_head: "UPDATE phisafe_audit_head SET next_seq = $2, prev = $3, chain_id = $4, \
                  tag = $5 WHERE chain = $1",
    keyring_select: "SELECT scope, purpose, version, state, kek_id, wrapped, created \
                     FROM phisafe_keyring ORDER BY created, scope, purpose, version",
    // The transaction began IMMEDIATE (or the caller's wrote first).
    keyring_lock: "UPDATE phisafe_keyring SET version = version WHERE 0",
    keyring_delete: "DELETE FROM phisafe_keyring",
    keyring_insert: "INSERT INTO phisafe_keyring (scope, purpose, version, state, kek_id, \
                     wrapped, created) VALUES ($1, $2, $3, $4, $5, $6, $7)",
};

fn sql(d: Dialect) -> &'static Sql {
    match d {
        Dialect::Postgres => &PG,
        Dialect::Sqlite => &LITE,
    }
}

/// A database phisafe can keep its tables in and audit into: PostgreSQL,
/// SQLite, or `Any` over one of them. Sealed; implemented by sqlx's
/// database types.
pub trait Backend: sqlx::Database + sealed::Sealed {
    /// The dialect `conn` speaks.
    #[doc(hidden)]
    fn dialect(conn: &Self::Connection) -> Result<Dialect, Error>;

    /// Appends `events` to one audit chain in `conn`'s transaction.
    #[doc(hidden)]
    fn append_audit<'c>(
        conn: &'c mut Self::Connection,
        key: &'c AuditKey,
        events: &'c [OwnedEvent],
    ) -> BoxFut<'c, Result<(), Error>>;

    /// Reads the keyring.
    #[doc(hidden)]
    fn load_keyring(
        conn: &mut Self::Connection,
    ) -> BoxFut<'_, Result<Keyring, Error>>;

    /// Takes the keyring write lock in `conn`'s transaction.
    #[doc(hidden)]
    fn lock_keyring(
        conn: &mut Self::Connection,
    ) -> BoxFut<'_, Result<(), Error>>;

    /// Replaces the stored keyring in `conn`'s transaction.
    #[doc(hidden)]
    fn store_keyring<'c>(
        conn: &'c mut Self::Connection,
        ring: &'c Keyring,
    ) -> BoxFut<'c, Result<(), Error>>;
}

mod sealed {
    pub trait Sealed {}
}

type KeyRow = (String, String, i64, String, String, Vec<u8>, String);

fn key_record(row: KeyRow) -> Result<KeyRecord, Error> {
    let (scope, p, version, s, kek_id, wrapped, created) = row;
    Ok(KeyRecord {
        scope,
        purpose: p.parse()?,
        version: u32::try_from(version)
            .map_err(|_| Error::Corrupt("keyring row has a bad version"))?,
        state: s.parse()?,
        kek_id,
        wrapped,
        created,
    })
}

/// An audit head row: chain number, next sequence number, last MAC, chain
/// id and tag (both `NULL` for a chain begun before chain ids).
pub(crate) type HeadRow = (i64, i64, String, Option<String>, Option<String>);

/// Converts a stored chain position to the `i64` SQL keeps.
fn seq_i64(seq: u64) -> Result<i64, Error> {
    i64::try_from(seq).map_err(|_| Error::Corrupt("audit sequence overflow"))
}

pub(crate) fn record_row_to_i64(r: &AuditRecord) -> Option<i64> {
    r.rows.and_then(|n| i64::try_from(n).ok())
}

macro_rules! backend {
    ($db:ty, |$conn:ident| $dialect:expr) => {
        impl sealed::Sealed for $db {}

        impl Backend for $db {
            fn dialect($conn: &Self::Connection) -> Result<Dialect, Error> {
                $dialect
            }

            fn append_audit<'c>(
                conn: &'c mut Self::Connection,
                key: &'c AuditKey,
                events: &'c [OwnedEvent],
            ) -> BoxFut<'c, Result<(), Error>> {
                Box::pin(async move {
                    if events.is_empty() {
                        return Ok(());
                    }
                    let q = sql(<$db as Backend>::dialect(conn)?);
                    let audit = |e: AuditError| Error::Audit(e.to_string());
                    let mut head: Option<HeadRow> = None;
                    // A new chain can lose a race to another writer's;
                    // then the next round finds or makes another.
                    for _ in 0..16 {
                        head = sqlx::query_as(q.lock_head)
                            .fetch_optional(&mut *conn)
                            .await?;
                        if head.is_some() {
                            break;
                        }
                        let fresh = Chain::new(key.clone()).map_err(audit)?;
                        head = sqlx::query_as(q.new_head)
                            .bind(ZERO_MAC)
                            .bind(fresh.id().map(str::to_string))
                            .bind(fresh.head_tag())
                            .fetch_optional(&mut *conn)
                            .await?;
                        if head.is_some() {
                            break;
                        }
                    }
                    let Some((chain, next_seq, prev, id, tag)) = head else {
                        return Err(Error::Corrupt(
                            "no audit chain head could be locked",
                        ));
                    };
                    let next_seq = u64::try_from(next_seq).map_err(|_| {
                        Error::Corrupt("audit head has a negative sequence")
                    })?;
                    // An empty chain from before chain ids (SQLite's
                    // first head) starts with one; a chain with records
                    // keeps what its records have.
                    let mut writer = if id.is_none() && next_seq == 0 {
                        Chain::new(key.clone())
                    } else {
                        Chain::from_head(
                            key.clone(),
                            id.as_deref(),
                            next_seq,
                            &prev,
                            tag.as_deref(),
                        )
                    }
                    .map_err(audit)?;
                    let id = writer.id().map(str::to_string);
                    for e in events {
                        // Chain time, under the head's lock: times follow
                        // sequence numbers across writers.
                        let now = std::time::SystemTime::now();
                        let r = writer.seal(&e.as_event(), now);
                        sqlx::query(q.insert_record)
                            .bind(chain)
                            .bind(seq_i64(r.seq)?)
                            .bind(r.ts.clone())
                            .bind(r.actor.clone())
                            .bind(r.role.clone())
                            .bind(r.purpose.clone())
                            .bind(r.action.clone())
                            .bind(r.scope.clone())
                            .bind(r.row.clone())
                            .bind(record_row_to_i64(&r))
                            .bind(r.rows_sha256.clone())
                            .bind(r.key_version.map(i64::from))
                            .bind(r.outcome.clone())
                            .bind(r.error.clone())
                            .bind(r.request_id.clone())
                            .bind(r.prev.clone())
                            .bind(r.mac.clone())
                            .bind(id.clone())
                            .execute(&mut *conn)
                            .await?;
                    }
                    let (next, mac) = writer.head();
                    sqlx::query(q.update_head)
                        .bind(chain)
                        .bind(seq_i64(next)?)
                        .bind(mac)
                        .bind(id)
                        .bind(writer.head_tag())
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })
            }

            fn load_keyring(
                conn: &mut Self::Connection,
            ) -> BoxFut<'_, Result<Keyring, Error>> {
                Box::pin(async move {
                    let q = sql(<$db as Backend>::dialect(conn)?);
                    let rows: Vec<KeyRow> = sqlx::query_as(q.keyring_select)
                        .fetch_all(&mut *conn)
                        .await?;
                    let keys = rows
                        .into_iter()
                        .map(key_record)
                        .collect::<Result<_, _>>()?;
                    let ring = Keyring { keys };
                    ring.validate().map_err(Error::Corrupt)?;
                    Ok(ring)
                })
            }

            fn lock_keyring(
                conn: &mut Self::Connection,
            ) -> BoxFut<'_, Result<(), Error>> {
                Box::pin(async move {
                    let q = sql(<$db as Backend>::dialect(conn)?);
                    sqlx::query(q.keyring_lock).execute(&mut *conn).await?;
                    Ok(())
                })
            }

            fn store_keyring<'c>(
                conn: &'c mut Self::Connection,
                ring: &'c Keyring,
            ) -> BoxFut<'c, Result<(), Error>> {
                Box::pin(async move {
                    let q = sql(<$db as Backend>::dialect(conn)?);
                    sqlx::query(q.keyring_delete).execute(&mut *conn).await?;
                    for k in &ring.keys {
                        sqlx::query(q.keyring_insert)
                            .bind(k.scope.clone())
                            .bind(k.purpose.as_str())
                            .bind(i64::from(k.version))
                            .bind(k.state.as_str())
                            .bind(k.kek_id.clone())
                            .bind(k.wrapped.clone())
                            .bind(k.created.clone())
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            }
        }
    };
}

backend!(sqlx::Any, |conn| Dialect::from_backend(conn.backend_name()));
#[cfg(feature = "postgres")]
backend!(sqlx::Postgres, |_conn| Ok(Dialect::Postgres));
#[cfg(feature = "sqlite")]
backend!(sqlx::Sqlite, |_conn| Ok(Dialect::Sqlite));
