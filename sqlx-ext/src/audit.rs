//! The audit trail in the database: [`SqlAuditSink`] for the core
//! [`FieldCipher`](phisafe::crypto::FieldCipher), appends in the caller's
//! transaction, and [`verify`].
//!
//! Records live in `audit_log`, in one or more chains. Each chain has a
//! head row (`audit_head`: next sequence number, last MAC, chain id and a
//! tag over them, see `docs/FORMAT.md`) that a writer
//! locks for the length of its transaction, so appends to a chain are
//! serialized across connections and processes and a rolled-back
//! transaction takes its records and its head update with it. In
//! PostgreSQL a writer that finds every head locked opens a new chain
//! (`FOR UPDATE SKIP LOCKED`), so concurrent transactions never wait on
//! each other's audit records; SQLite, with one writer, has one chain.
//!
//! [`verify`] checks every chain from sequence 0, and that each chain has
//! as many records as its head says, under the head's tag: records
//! deleted from the end of a chain are caught unless a copy of the head
//! row as it was then is put back; [`verify_with`] and checkpoints catch
//! that too.

use std::sync::{Arc, Mutex};

use phisafe::audit::{
    AuditAction, AuditError, AuditEvent, AuditKey, AuditRecord, AuditSink,
    Chain, Checkpoint, Checkpoints, Outcome, Rows, Verifier, VerifyReport,
};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row as _};

use crate::backend::{Backend, Dialect, HeadRow, ZERO_MAC};
use crate::bridge::Bridge;
use crate::{Error, dialect_of};

/// An [`AuditEvent`] that owns its strings, so it can wait for a database
/// write. Its record is stamped when it is chained, as every sink does
/// (`docs/FORMAT.md`): times then follow sequence numbers.
#[derive(Debug, Clone)]
pub struct OwnedEvent {
    actor: String,
    role: String,
    purpose: String,
    action: AuditAction,
    scope: String,
    row: Option<String>,
    batch: Option<(u64, [u8; 32])>,
    key_version: Option<u32>,
    outcome: Outcome,
    error: Option<&'static str>,
    request_id: Option<String>,
}

impl OwnedEvent {
    /// Copies an event.
    pub fn new(e: &AuditEvent<'_>) -> OwnedEvent {
        let (row, batch) = match e.rows {
            Rows::None => (None, None),
            Rows::One(r) => (Some(r.to_string()), None),
            Rows::Batch { count, digest } => (None, Some((count, digest))),
        };
        OwnedEvent {
            actor: e.actor.to_string(),
            role: e.role.to_string(),
            purpose: e.purpose.to_string(),
            action: e.action,
            scope: e.scope.to_string(),
            row,
            batch,
            key_version: e.key_version,
            outcome: e.outcome,
            error: e.error,
            request_id: e.request_id.map(str::to_string),
        }
    }

    /// Borrows it back as an event.
    pub fn as_event(&self) -> AuditEvent<'_> {
        let rows = match (&self.row, self.batch) {
            (Some(r), _) => Rows::One(r),
            (None, Some((count, digest))) => Rows::Batch { count, digest },
            (None, None) => Rows::None,
        };
        AuditEvent {
            actor: &self.actor,
            role: &self.role,
            purpose: &self.purpose,
            action: self.action,
            scope: &self.scope,
            rows,
            key_version: self.key_version,
            outcome: self.outcome,
            error: self.error,
            request_id: self.request_id.as_deref(),
        }
    }
}

std::thread_local! {
    static CAPTURED: std::cell::RefCell<Vec<OwnedEvent>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The sink of a [`SqlCipher`](crate::SqlCipher)'s own cipher: events
/// stay with the thread that made them until [`Capture::run`] takes them
/// to write into a transaction. The type is private to this crate, and a
/// cipher's sink is fixed when it is built, so no other code can divert
/// the records.
#[derive(Debug, Default)]
pub(crate) struct Capture;

impl Capture {
    /// Runs `op` (synchronous: its events are made on this thread) and
    /// returns its result with the events it made.
    pub(crate) fn run<T>(op: impl FnOnce() -> T) -> (T, Vec<OwnedEvent>) {
        let before = CAPTURED.with_borrow_mut(std::mem::take);
        let out = op();
        let events =
            CAPTURED.with_borrow_mut(|e| std::mem::replace(e, before));
        (out, events)
    }
}

impl AuditSink for Capture {
    fn append(&self, event: &AuditEvent<'_>) -> Result<(), AuditError> {
        CAPTURED.with_borrow_mut(|e| e.push(OwnedEvent::new(event)));
        Ok(())
    }
}

type Pending =
    Vec<(OwnedEvent, std::sync::mpsc::SyncSender<Result<(), String>>)>;

/// An [`AuditSink`] that appends to phisafe's audit table, each record
/// committed before `append` returns (fail closed). Appends that arrive
/// while a write is in flight are committed together in the next
/// transaction (group commit).
///
/// It runs its own small connection pool on a background thread, so it
/// works from synchronous code and from inside async runtimes alike
/// (`append` blocks the calling thread; in async code call the cipher
/// from `spawn_blocking`, or use [`crate::SqlCipher`], which writes in
/// the caller's transaction).
pub struct SqlAuditSink {
    bridge: Bridge,
    key: AuditKey,
    pending: Arc<Mutex<Pending>>,
}

impl std::fmt::Debug for SqlAuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlAuditSink").finish_non_exhaustive()
    }
}

impl SqlAuditSink {
    /// Connects to `url` (phisafe's tables must exist: see
    /// [`crate::migrate`]) and checks that `key` verifies the newest
    /// record, so a wrong keyring is found now, not at verification.
    pub fn connect(url: &str, key: AuditKey) -> Result<SqlAuditSink, Error> {
        let bridge = Bridge::connect(url)?;
        let check = key.clone();
        bridge.call(move |pool| async move {
            check_key(&pool, &check).await
        })??;
        Ok(SqlAuditSink { bridge, key, pending: Arc::default() })
    }
}

/// Checks `key` against the last record of the longest chain, found
/// through the heads and read by primary key (no scan of the log).
async fn check_key(pool: &AnyPool, key: &AuditKey) -> Result<(), Error> {
    let dialect = dialect_of(pool).await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM {log} WHERE (chain, seq) IN \
         (SELECT chain, next_seq - 1 FROM {head} WHERE next_seq > 0 \
          ORDER BY next_seq DESC LIMIT 1)",
        log = dialect.table("audit_log"),
        head = dialect.table("audit_head"),
    );
    let last =
        sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_optional(pool).await?;
    if let Some(row) = last {
        Chain::resume(key.clone(), &record(&row)?)
            .map_err(|e| Error::Audit(e.to_string()))?;
    }
    Ok(())
}

impl AuditSink for SqlAuditSink {
    fn append(&self, event: &AuditEvent<'_>) -> Result<(), AuditError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((OwnedEvent::new(event), tx));
        let pending = Arc::clone(&self.pending);
        let key = self.key.clone();
        self.bridge
            .spawn(move |pool| async move {
                let batch = std::mem::take(
                    &mut *pending.lock().unwrap_or_else(|p| p.into_inner()),
                );
                if batch.is_empty() {
                    return; // an earlier job committed ours
                }
                let events: Vec<OwnedEvent> =
                    batch.iter().map(|(e, _)| e.clone()).collect();
                let res = write_autonomous(&pool, &key, &events)
                    .await
                    .map_err(|e| e.to_string());
                for (_, reply) in batch {
                    let _ = reply.send(res.clone());
                }
            })
            .map_err(|e| match e {
                Error::Forked => AuditError::Forked,
                e => AuditError::Other(e.to_string()),
            })?;
        match rx.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(msg)) => Err(AuditError::Other(format!(
                "cannot write the audit record to the database: {msg}"
            ))),
            Err(_) => Err(AuditError::Other(
                "the database audit writer stopped".into(),
            )),
        }
    }
}

/// Appends `events` in a transaction of their own.
async fn write_autonomous(
    pool: &AnyPool,
    key: &AuditKey,
    events: &[OwnedEvent],
) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    <sqlx::Any as Backend>::append_audit(&mut tx, key, events).await?;
    tx.commit().await?;
    Ok(())
}

const COLUMNS: &str = "chain, seq, ts, actor, role, purpose, action, scope, \
                       row_ref, rows, rows_sha256, key_version, outcome, error, \
                       request_id, prev, mac, chain_id";

fn record(row: &AnyRow) -> Result<AuditRecord, Error> {
    let bad = |_| Error::Corrupt("audit row has an out-of-range number");
    let seq: i64 = row.try_get(1)?;
    let rows: Option<i64> = row.try_get(9)?;
    let key_version: Option<i64> = row.try_get(11)?;
    Ok(AuditRecord {
        seq: u64::try_from(seq).map_err(bad)?,
        chain: row.try_get(17)?,
        ts: row.try_get(2)?,
        actor: row.try_get(3)?,
        role: row.try_get(4)?,
        purpose: row.try_get(5)?,
        action: row.try_get(6)?,
        scope: row.try_get(7)?,
        row: row.try_get(8)?,
        rows: rows.map(u64::try_from).transpose().map_err(bad)?,
        rows_sha256: row.try_get(10)?,
        key_version: key_version
            .map(u32::try_from)
            .transpose()
            .map_err(bad)?,
        outcome: row.try_get(12)?,
        error: row.try_get(13)?,
        request_id: row.try_get(14)?,
        prev: row.try_get(15)?,
        mac: row.try_get(16)?,
    })
}

/// The verification of one audit chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Chain number (the head row's key).
    pub chain: i64,
    /// The chain's random id, bound into its records' MACs (`None` for a
    /// chain begun before chain ids).
    pub id: Option<String>,
    /// Records that verified, from sequence 0 up to the first bad one.
    pub valid: u64,
    /// How many records the chain head says there are.
    pub expected: u64,
    /// Sequence number and MAC of the last record that verified: what a
    /// checkpoint keeps ([`checkpoints`]).
    pub head: Option<(u64, String)>,
    /// Why the chain is broken, if it is.
    pub problem: Option<String>,
}

impl ChainReport {
    /// Whether every record verified and none is missing.
    pub fn is_ok(&self) -> bool {
        self.problem.is_none()
    }
}

/// Verifies every audit chain in the database, record by record.
pub async fn verify(
    pool: &AnyPool,
    key: &AuditKey,
) -> Result<Vec<ChainReport>, Error> {
    verify_with(pool, key, &Checkpoints::default()).await
}

/// Checkpoints of every chain that verifies, to keep outside the database
/// (another host, write-once storage) and hand to [`verify_with`] later;
/// chains that are empty or broken get none.
pub fn checkpoints(
    key: &AuditKey,
    reports: &[ChainReport],
    now: std::time::SystemTime,
) -> Checkpoints {
    let chains = reports
        .iter()
        .filter(|r| r.is_ok())
        .filter_map(|r| {
            let report = VerifyReport {
                valid: r.valid,
                chain: r.id.clone(),
                head: r.head.clone(),
                first_bad: None,
            };
            Some((r.chain, Checkpoint::of(key, &report, now)?))
        })
        .collect();
    Checkpoints { v: 1, chains }
}

/// [`verify`], and each chain held to its checkpoint in `expect`: records
/// cut off a chain's end, a chain deleted, or one begun again are reported
/// even when its head row was changed with them. A checkpoint whose tag
/// does not verify under `key` is an error.
pub async fn verify_with(
    pool: &AnyPool,
    key: &AuditKey,
    expect: &Checkpoints,
) -> Result<Vec<ChainReport>, Error> {
    for cp in expect.chains.values() {
        cp.check(key).map_err(|e| Error::Audit(e.to_string()))?;
    }
    let dialect = dialect_of(pool).await?;
    let heads: Vec<HeadRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT chain, next_seq, prev, chain_id, tag FROM {} ORDER BY chain",
        dialect.table("audit_head")
    )))
    .fetch_all(pool)
    .await?;
    let mut reports = Vec::with_capacity(heads.len());
    for head in &heads {
        let cp = expect.chains.get(&head.0);
        reports.push(verify_chain(pool, dialect, key, head, cp).await?);
    }
    let orphans: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT DISTINCT chain FROM {} WHERE chain NOT IN (SELECT chain FROM {})",
        dialect.table("audit_log"),
        dialect.table("audit_head")
    )))
    .fetch_all(pool)
    .await?;
    for (chain,) in orphans {
        reports.push(ChainReport {
            chain,
            id: None,
            valid: 0,
            expected: 0,
            head: None,
            problem: Some(
                "records of a chain with no head: the head was deleted".into(),
            ),
        });
    }
    // A checkpointed chain with neither head nor records was deleted.
    for (&chain, cp) in &expect.chains {
        if !reports.iter().any(|r| r.chain == chain) {
            reports.push(ChainReport {
                chain,
                id: cp.chain.clone(),
                valid: 0,
                expected: 0,
                head: None,
                problem: Some(format!(
                    "the checkpoint of {} saw record {} of this chain, which is gone: it was deleted",
                    cp.taken, cp.seq
                )),
            });
        }
    }
    reports.sort_by_key(|r| r.chain);
    Ok(reports)
}

async fn verify_chain(
    pool: &AnyPool,
    dialect: Dialect,
    key: &AuditKey,
    head: &HeadRow,
    expect: Option<&Checkpoint>,
) -> Result<ChainReport, Error> {
    use futures_util::TryStreamExt as _;

    let (chain, next_seq, _, ref id, _) = *head;
    let sql = format!(
        "SELECT {COLUMNS} FROM {} WHERE chain = $1 ORDER BY seq",
        dialect.table("audit_log")
    );
    let mut rows =
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(chain).fetch(pool);
    let mut v = Verifier::new(key);
    if let Some(cp) = expect {
        v = v.expecting(cp).map_err(|e| Error::Audit(e.to_string()))?;
    }
    let mut problem = None;
    while let Some(row) = rows.try_next().await? {
        if let Err(why) = v.push(&record(&row)?) {
            problem = Some(format!("record {}: {why}", v.valid()));
            break;
        }
    }
    let expected = u64::try_from(next_seq).unwrap_or(0);
    if problem.is_none() && v.valid() != expected {
        problem = Some(format!(
            "{} records where the chain head counts {expected}: records were cut off the end",
            v.valid()
        ));
    }
    if problem.is_none() {
        problem = v.finish().err();
    }
    // The head row is checked last: the records say more about what
    // happened, and a head moved back with them is caught here.
    if problem.is_none() {
        problem = check_head(key, v.head(), v.chain(), head);
    }
    let report_head = v.head().cloned();
    Ok(ChainReport {
        chain,
        id: v.chain().map(str::to_string).or_else(|| id.clone()),
        valid: v.valid(),
        expected,
        head: report_head,
        problem,
    })
}

/// Why the head row of a chain whose records verified does not belong to
/// them, if it does not: its tag, id or last MAC.
fn check_head(
    key: &AuditKey,
    last: Option<&(u64, String)>,
    records_id: Option<&str>,
    head: &HeadRow,
) -> Option<String> {
    let (_, next_seq, ref prev, ref id, ref tag) = *head;
    let next_seq = u64::try_from(next_seq).unwrap_or(0);
    if let Err(e) = Chain::from_head(
        key.clone(),
        id.as_deref(),
        next_seq,
        prev,
        tag.as_deref(),
    ) {
        return Some(e.to_string());
    }
    if last.is_some() && records_id != id.as_deref() {
        return Some(
            "the head row names another chain id than its records: it was replaced".into(),
        );
    }
    let last_mac = last.map_or(ZERO_MAC, |(_, mac)| mac.as_str());
    if prev != last_mac {
        return Some(
            "the head row's last MAC is not the last record's: it was altered"
                .into(),
        );
    }
    None
}
