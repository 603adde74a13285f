//! Online migration of existing columns ([`convert_column`]): plaintext
//! or pgcrypto ciphertexts to phisafe envelopes, back to plaintext, and
//! onto the active key version after a rotation.
//!
//! Each batch runs in its own transaction, which reads the rows (locking
//! them `FOR UPDATE` in PostgreSQL; SQLite's write lock is taken first),
//! writes each new value only where the column still holds the value read
//! (compare-and-swap), appends the batch's audit record and records the
//! last key done in `column_progress`. So a run killed at any point
//! resumes after the last committed batch, values already in the target
//! form are recognized and skipped, and an application's concurrent
//! writes are never overwritten: a row changed under a batch is left for
//! the next pass.
//!
//! Rows are bound to their key: the envelope's associated data holds the
//! key column's value as text (`CAST(key AS TEXT)`), the row reference to
//! give [`Context`] when reading them back.
//!
//! A column stays the type it is: `TEXT`-like columns receive the text
//! form (`psf:...`), `BYTEA`/`BLOB` columns the binary form. To move a
//! `TEXT` column to `BYTEA`, add the new column, copy, encrypt it, and
//! swap names in one transaction (see the crate README).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use phisafe::crypto::{Context, IndexSpec};
use sqlx::{Any, AnyPool, Row as _};
use zeroize::Zeroizing;

use crate::backend::Dialect;
use crate::column::SqlCipher;
use crate::{Error, dialect_of};

/// Where the values to encrypt come from.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Source {
    /// The column holds plaintext.
    #[default]
    Plaintext,
    /// The column (`BYTEA`) holds `pgp_sym_encrypt(value, key)` output.
    PgpSym(Zeroizing<String>),
    /// The column (`BYTEA`) holds `encrypt(value, key, 'aes')` output.
    RawAes(Zeroizing<String>),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Source::Plaintext => "Plaintext",
            Source::PgpSym(_) => "PgpSym(..)",
            Source::RawAes(_) => "RawAes(..)",
        })
    }
}

/// One column to migrate.
#[derive(Debug, Clone)]
pub struct ColumnJob {
    table: String,
    column: String,
    /// The scope the column's values are bound to.
    scope: String,
    key: String,
    batch: usize,
    index: Option<(String, IndexSpec)>,
    source: Source,
}

/// Checks an identifier (`name` or `schema.name` for tables) and returns
/// it quoted. Only ASCII letters, digits and `_`, not starting with a
/// digit: the names are spliced into SQL text, so nothing else gets in.
fn quote(name: &str, qualified: bool) -> Result<String, Error> {
    let parts: Vec<&str> = name.split('.').collect();
    let ok = |p: &str| {
        !p.is_empty()
            && p.len() <= 63
            && !p.as_bytes()[0].is_ascii_digit()
            && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    if parts.len() > if qualified { 2 } else { 1 }
        || !parts.iter().all(|p| ok(p))
    {
        return Err(Error::Invalid(format!(
            "{name:?} is not a plain SQL name (letters, digits and _{})",
            if qualified { ", optionally schema.table" } else { "" }
        )));
    }
    Ok(parts.iter().map(|p| format!("\"{p}\"")).collect::<Vec<_>>().join("."))
}

impl ColumnJob {
    /// Column `column` of `table` (optionally `schema.table`), rows
    /// identified by `key_column` (unique and not null: the primary key).
    pub fn new(
        table: &str,
        column: &str,
        key_column: &str,
    ) -> Result<ColumnJob, Error> {
        quote(table, true)?;
        quote(column, false)?;
        quote(key_column, false)?;
        if column == key_column {
            return Err(Error::Invalid(
                "the key column cannot be the column being encrypted".into(),
            ));
        }
        Ok(ColumnJob {
            table: table.to_string(),
            column: column.to_string(),
            scope: format!("{table}.{column}"),
            key: key_column.to_string(),
            batch: 1000,
            index: None,
            source: Source::Plaintext,
        })
    }

    /// Binds the column's values to scope `name` (without tenant) instead
    /// of `table.column`: for an application that reads them under
    /// another scope name. [`convert_column`] refuses a caller whose
    /// context names another scope.
    pub fn bind_scope(mut self, name: &str) -> ColumnJob {
        self.scope = name.to_string();
        self
    }

    /// The scope the column's values are bound to.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// Rows per batch (and transaction); default 1000.
    pub fn batch_size(mut self, rows: usize) -> ColumnJob {
        self.batch = rows.clamp(1, 100_000);
        self
    }

    /// Also fills `column` with each value's blind index (encryption
    /// only).
    pub fn blind_index(
        mut self,
        column: &str,
        spec: IndexSpec,
    ) -> Result<ColumnJob, Error> {
        quote(column, false)?;
        self.index = Some((column.to_string(), spec));
        Ok(self)
    }

    /// Where the values come from (encryption only).
    pub fn source(mut self, source: Source) -> ColumnJob {
        self.source = source;
        self
    }

    /// The table, as given.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The column, as given.
    pub fn column(&self) -> &str {
        &self.column
    }
}

/// Running totals, handed to the progress callback after each batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnReport {
    /// Rows read.
    pub scanned: u64,
    /// Values rewritten.
    pub changed: u64,
    /// Values already in the target form (or key version), left alone.
    pub already: u64,
    /// NULLs, left alone.
    pub nulls: u64,
    /// Rows changed by someone else between read and write, left for the
    /// next pass.
    pub conflicts: u64,
    /// Values that could not be converted (not UTF-8 for a text column,
    /// not a valid envelope, wrong old key...), left as they were.
    pub failed: u64,
    /// Key column values of the first failed rows (at most 20).
    pub failed_keys: Vec<String>,
    /// Whether this run continued an interrupted one.
    pub resumed: bool,
    /// Whether the run was stopped before the end; run it again to go on.
    pub stopped: bool,
}

/// What [`convert_column`] does to a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Plaintext (or pgcrypto ciphertext) to envelopes.
    Encrypt,
    /// Envelopes to plaintext.
    Decrypt,
    /// Envelopes to the active key version.
    Reencrypt,
}

impl Operation {
    /// Lower-case name, as recorded in `column_progress`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Encrypt => "encrypt",
            Operation::Decrypt => "decrypt",
            Operation::Reencrypt => "reencrypt",
        }
    }
}

use Operation as Op;

/// How a column stores values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Bytes,
}

/// One column value as read.
#[derive(Clone)]
enum Val {
    Text(String),
    Bytes(Vec<u8>),
}

/// Plaintext before encryption: shows its kind and length only.
impl std::fmt::Debug for Val {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Val::Text(s) => write!(f, "Text({} bytes)", s.len()),
            Val::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
        }
    }
}

/// What the statements need to know about the table.
struct Plan {
    kind: Kind,
    index_kind: Option<Kind>,
    first: String,
    next: String,
    update: UpdateSql,
    progress: String,
}

/// The compare-and-swap write of many rows in one statement.
struct UpdateSql {
    table: String,
    column: String,
    key: String,
    /// The key's type, to cast the text key back (PostgreSQL).
    key_type: Option<String>,
    index: Option<String>,
}

/// Rows per UPDATE statement: well under both databases' parameter limits.
const UPDATE_ROWS: usize = 500;

impl UpdateSql {
    /// Sets `rows` rows, each only where the column still holds the value
    /// read: parameters per row are key (text), new value, old value and,
    /// with a blind index, the index.
    fn sql(&self, rows: usize) -> String {
        let per = if self.index.is_some() { 4 } else { 3 };
        let mut values = String::with_capacity(rows * 20);
        for r in 0..rows {
            let b = r * per;
            if r > 0 {
                values.push_str(", ");
            }
            values.push_str(&format!("(${}, ${}, ${}", b + 1, b + 2, b + 3));
            if per == 4 {
                values.push_str(&format!(", ${}", b + 4));
            }
            values.push(')');
        }
        let (cols, set_index) = match &self.index {
            Some(ix) => ("pk, val, prev, ix", format!(", {ix} = v.ix")),
            None => ("pk, val, prev", String::new()),
        };
        let key = match &self.key_type {
            Some(ty) => format!("CAST(v.pk AS {ty})"),
            None => "v.pk".to_string(),
        };
        let (t, c, k) = (&self.table, &self.column, &self.key);
        format!(
            "WITH v({cols}) AS (VALUES {values}) \
             UPDATE {t} AS phisafe_t SET {c} = v.val{set_index} FROM v \
             WHERE phisafe_t.{k} = {key} AND phisafe_t.{c} = v.prev"
        )
    }
}

const MAX_FAILED_KEYS: usize = 20;

/// The declared type of a column, or an error naming what is missing.
async fn column_type(
    pool: &AnyPool,
    dialect: Dialect,
    table: &str,
    column: &str,
) -> Result<String, Error> {
    let found: Option<(String,)> =
        match dialect {
            Dialect::Postgres => sqlx::query_as(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute \
                 WHERE attrelid = CAST($1 AS regclass) AND attname = $2 \
                 AND NOT attisdropped AND attnum > 0",
            )
            .bind(quote(table, true)?)
            .bind(column)
            .fetch_optional(pool)
            .await?,
            Dialect::Sqlite => {
                sqlx::query_as(
                    "SELECT type FROM pragma_table_info($1) WHERE name = $2",
                )
                .bind(table)
                .bind(column)
                .fetch_optional(pool)
                .await?
            }
        };
    found.map(|(t,)| t.to_ascii_lowercase()).ok_or_else(|| {
        Error::Invalid(format!("table {table} has no column {column}"))
    })
}

/// Whether a column type holds text or bytes; `None` if neither.
fn kind_of(ty: &str) -> Option<Kind> {
    if ty.contains("bytea") || ty.contains("blob") {
        Some(Kind::Bytes)
    } else if ty.is_empty()
        || ty.contains("text")
        || ty.contains("char")
        || ty.contains("clob")
    {
        Some(Kind::Text)
    } else {
        None
    }
}

/// A declared length limit (`varchar(50)`), if any.
fn length_limit(ty: &str) -> Option<usize> {
    let open = ty.find('(')?;
    ty[open + 1..].trim_end_matches(')').trim().parse().ok()
}

async fn plan(pool: &AnyPool, job: &ColumnJob, op: Op) -> Result<Plan, Error> {
    let dialect = dialect_of(pool).await?;
    let ty = column_type(pool, dialect, &job.table, &job.column).await?;
    let kind = kind_of(&ty).ok_or_else(|| {
        Error::Unsupported(format!(
            "column {}.{} is {ty}; ciphertext needs TEXT or BYTEA/BLOB: add such a column, \
             copy the values into it and migrate that one",
            job.table, job.column
        ))
    })?;
    if op == Op::Encrypt
        && let Some(limit) = length_limit(&ty)
    {
        return Err(Error::Unsupported(format!(
            "column {}.{} is {ty}: ciphertext is about 1.4 x the value + 70 characters and \
             would not fit {limit}; ALTER it to TEXT first",
            job.table, job.column
        )));
    }
    let pgcrypto = !matches!(job.source, Source::Plaintext);
    if pgcrypto && (op != Op::Encrypt || dialect != Dialect::Postgres) {
        return Err(Error::Unsupported(
            "pgcrypto sources are for encrypt-column on PostgreSQL".into(),
        ));
    }
    if pgcrypto && kind != Kind::Bytes {
        return Err(Error::Unsupported(format!(
            "column {}.{} is {ty}; pgcrypto ciphertexts are BYTEA",
            job.table, job.column
        )));
    }
    let key_ty = column_type(pool, dialect, &job.table, &job.key).await?;
    let index_kind = match &job.index {
        Some((col, _)) if op == Op::Encrypt => {
            let ty = column_type(pool, dialect, &job.table, col).await?;
            Some(kind_of(&ty).ok_or_else(|| {
                Error::Unsupported(format!(
                    "blind index column {col} is {ty}; use TEXT (hex) or BYTEA/BLOB"
                ))
            })?)
        }
        _ => None,
    };
    let (t, c, k) = (
        quote(&job.table, true)?,
        quote(&job.column, false)?,
        quote(&job.key, false)?,
    );
    // The key is carried as text and cast back, so any key type works and
    // its index is used.
    let key_param = |n: u8| match dialect {
        Dialect::Postgres => format!("CAST(${n} AS {key_ty})"),
        Dialect::Sqlite => format!("${n}"),
    };
    let opened = match &job.source {
        Source::Plaintext => String::new(),
        Source::PgpSym(_) => {
            format!(", phisafe.try_pgcrypto_decrypt({c}, $1, 'pgp')")
        }
        Source::RawAes(_) => {
            format!(", phisafe.try_pgcrypto_decrypt({c}, $1, 'aes')")
        }
    };
    let lock = match dialect {
        Dialect::Postgres => " FOR UPDATE",
        Dialect::Sqlite => "",
    };
    // The old key, when there is one, is $1.
    let p_after = if pgcrypto { 2 } else { 1 };
    let select = |filter: String| {
        format!(
            // Aliased: an output column named like the key would make
            // ORDER BY sort the text.
            "SELECT CAST({k} AS TEXT) AS phisafe_row_key, {c}{opened} FROM {t}{filter} \
             ORDER BY {k} LIMIT {}{lock}",
            job.batch
        )
    };
    let first = select(String::new());
    let next = select(format!(" WHERE {k} > {}", key_param(p_after)));
    let update = UpdateSql {
        table: t.clone(),
        column: c.clone(),
        key: k.clone(),
        key_type: (dialect == Dialect::Postgres).then(|| key_ty.clone()),
        index: match &job.index {
            Some((col, _)) if op == Op::Encrypt => Some(quote(col, false)?),
            _ => None,
        },
    };
    let progress = dialect.table("column_progress");
    Ok(Plan { kind, index_kind, first, next, update, progress })
}

/// Converts a column in place: `Operation::Encrypt` turns plaintext or
/// pgcrypto values into envelopes, `Decrypt` turns envelopes back into
/// plaintext (a rollback, audited as decryption), `Reencrypt` moves
/// envelopes to the scope's active key version (after a rotation; check
/// completion with [`key_versions`]).
///
/// `who` gives the actor, role, purpose and tenant for the policy check
/// and the audit records; its scope must be the column's (`table.column`,
/// or what [`ColumnJob::bind_scope`] set), so that a grant on one scope cannot
/// bind another column's values to it. Its row is not used.
/// `progress` is called after each committed batch; setting `stop` ends
/// the run after the current batch.
pub async fn convert_column(
    pool: &AnyPool,
    cipher: &SqlCipher,
    who: &Context<'_>,
    job: &ColumnJob,
    op: Operation,
    stop: &AtomicBool,
    progress: &mut (dyn FnMut(&ColumnReport) + Send),
) -> Result<ColumnReport, Error> {
    run(pool, cipher, who, job, op, stop, progress).await
}

async fn run(
    pool: &AnyPool,
    cipher: &SqlCipher,
    who: &Context<'_>,
    job: &ColumnJob,
    op: Op,
    stop: &AtomicBool,
    progress: &mut (dyn FnMut(&ColumnReport) + Send),
) -> Result<ColumnReport, Error> {
    if who.scope().name() != job.scope {
        return Err(Error::Invalid(format!(
            "the column {}.{} is bound to scope {:?}, but the caller's context names {:?}; \
             pass a context for the column's scope (or bind the column with ColumnJob::bind_scope)",
            job.table,
            job.column,
            job.scope,
            who.scope().name()
        )));
    }
    let plan = plan(pool, job, op).await?;
    if op != Op::Decrypt {
        // Keys are created before any batch transaction holds locks a
        // keyring write would wait for.
        let index = op == Op::Encrypt && job.index.is_some();
        let (made, events) = cipher.captured(|c| c.prepare(who, index));
        let mut conn = pool.acquire().await?;
        cipher.record::<Any>(&mut conn, &events).await?;
        made?;
    }
    let mut report = ColumnReport::default();
    let id = [job.table.as_str(), job.column.as_str(), op.as_str()];
    let saved: Option<(Option<String>, Option<String>)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT last_key, finished FROM {} \
             WHERE table_name = $1 AND column_name = $2 AND operation = $3",
            plan.progress
        )))
        .bind(id[0])
        .bind(id[1])
        .bind(id[2])
        .fetch_optional(pool)
        .await?;
    let mut after = match saved {
        Some((Some(last), None)) => {
            report.resumed = true;
            Some(last)
        }
        _ => None,
    };
    // Rows that changed under a batch get another pass from the start
    // (it only rewrites what is still to do). A resumed run needs none:
    // the batches before its resume point committed. Values an old
    // application writes meanwhile are caught by running it again.
    let mut passes = 0;
    loop {
        passes += 1;
        let before = report.conflicts;
        loop {
            if stop.load(Ordering::Relaxed) {
                report.stopped = true;
                return Ok(report);
            }
            let (n, last) = batch(
                pool,
                cipher,
                who,
                job,
                op,
                &plan,
                after.as_deref(),
                &mut report,
            )
            .await?;
            progress(&report);
            match last {
                Some(last) if n == job.batch => after = Some(last),
                _ => break,
            }
        }
        after = None;
        let again = report.conflicts > before;
        if !again || passes >= 3 {
            break;
        }
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE {} SET finished = $4, last_key = NULL \
         WHERE table_name = $1 AND column_name = $2 AND operation = $3",
        plan.progress
    )))
    .bind(id[0])
    .bind(id[1])
    .bind(id[2])
    .bind(now())
    .execute(pool)
    .await?;
    Ok(report)
}

fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// One row to rewrite: where the column still holds `old`, store `new`
/// (and the blind index).
struct Write {
    key: String,
    old: Val,
    new: Val,
    index: Option<Val>,
}

/// One batch in one transaction: returns the rows read and the last key.
#[allow(clippy::too_many_arguments, reason = "one call site, all needed")]
async fn batch(
    pool: &AnyPool,
    cipher: &SqlCipher,
    who: &Context<'_>,
    job: &ColumnJob,
    op: Op,
    plan: &Plan,
    after: Option<&str>,
    report: &mut ColumnReport,
) -> Result<(usize, Option<String>), Error> {
    let mut tx = pool.begin().await?;
    // The progress row is written first: in SQLite that takes the write
    // lock before anything is read.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {} (table_name, column_name, operation, last_key, changed, updated) \
         VALUES ($1, $2, $3, NULL, 0, $4) ON CONFLICT (table_name, column_name, operation) \
         DO UPDATE SET updated = excluded.updated",
        plan.progress
    )))
    .bind(job.table.as_str())
    .bind(job.column.as_str())
    .bind(op.as_str())
    .bind(now())
    .execute(&mut *tx)
    .await?;

    let old_key = match &job.source {
        Source::Plaintext => None,
        Source::PgpSym(k) | Source::RawAes(k) => Some(k.as_str()),
    };
    let mut q = match after {
        None => sqlx::query(sqlx::AssertSqlSafe(plan.first.clone())),
        Some(_) => sqlx::query(sqlx::AssertSqlSafe(plan.next.clone())),
    };
    if let Some(k) = old_key {
        q = q.bind(k.to_string());
    }
    if let Some(a) = after {
        q = q.bind(a.to_string());
    }
    let rows = q.fetch_all(&mut *tx).await?;
    let n = rows.len();
    let mut read: Vec<(String, Option<Val>, Option<Zeroizing<String>>)> =
        Vec::with_capacity(n);
    for row in &rows {
        let key: String = row.try_get(0)?;
        let val = match plan.kind {
            Kind::Text => row.try_get::<Option<String>, _>(1)?.map(Val::Text),
            Kind::Bytes => {
                row.try_get::<Option<Vec<u8>>, _>(1)?.map(Val::Bytes)
            }
        };
        let opened = if old_key.is_some() {
            row.try_get::<Option<String>, _>(2)?.map(Zeroizing::new)
        } else {
            None
        };
        read.push((key, val, opened));
    }
    drop(rows);
    report.scanned += n as u64;
    let last = read.last().map(|(k, _, _)| k.clone());

    let writes =
        convert(cipher, &mut tx, who, job, op, plan, read, report).await?;
    let mut changed = 0u64;
    let mut writes = writes.into_iter().peekable();
    while writes.peek().is_some() {
        let chunk: Vec<Write> = writes.by_ref().take(UPDATE_ROWS).collect();
        let n = chunk.len() as u64;
        let mut q =
            sqlx::query(sqlx::AssertSqlSafe(plan.update.sql(chunk.len())));
        for Write { key, old, new, index } in chunk {
            q = bind_val(q.bind(key), new);
            q = bind_val(q, old);
            if let Some(ix) = index {
                q = bind_val(q, ix);
            }
        }
        // A row whose value changed since it was read is left alone.
        let done = q.execute(&mut *tx).await?.rows_affected().min(n);
        changed += done;
        report.conflicts += n - done;
    }
    report.changed += changed;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE {} SET last_key = $4, changed = changed + $5, updated = $6 \
         WHERE table_name = $1 AND column_name = $2 AND operation = $3",
        plan.progress
    )))
    .bind(job.table.as_str())
    .bind(job.column.as_str())
    .bind(op.as_str())
    .bind(last.clone())
    .bind(changed as i64)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((n, last))
}

fn bind_val(
    q: sqlx::query::Query<'_, Any, sqlx::any::AnyArguments>,
    v: Val,
) -> sqlx::query::Query<'_, Any, sqlx::any::AnyArguments> {
    match v {
        Val::Text(s) => q.bind(s),
        Val::Bytes(b) => q.bind(b),
    }
}

fn is_envelope(v: &Val) -> bool {
    match v {
        Val::Text(s) => phisafe::crypto::is_envelope(s.as_bytes()),
        Val::Bytes(b) => phisafe::crypto::is_envelope(b),
    }
}

/// The envelope bytes of a stored value (either form).
fn envelope(v: &Val) -> Option<Vec<u8>> {
    match v {
        Val::Text(s) => phisafe::crypto::from_text(s).ok(),
        Val::Bytes(b) => {
            phisafe::crypto::Envelope::parse(b).ok().map(|_| b.clone())
        }
    }
}

fn note_failed(report: &mut ColumnReport, key: &str) {
    report.failed += 1;
    if report.failed_keys.len() < MAX_FAILED_KEYS {
        report.failed_keys.push(key.to_string());
    }
}

/// Turns the rows read into writes, through the cipher, with the batch's
/// audit records appended in `tx`.
#[allow(clippy::too_many_arguments, reason = "one call site, all needed")]
async fn convert(
    cipher: &SqlCipher,
    tx: &mut sqlx::Transaction<'static, Any>,
    who: &Context<'_>,
    job: &ColumnJob,
    op: Op,
    plan: &Plan,
    read: Vec<(String, Option<Val>, Option<Zeroizing<String>>)>,
    report: &mut ColumnReport,
) -> Result<Vec<Write>, Error> {
    let form = |bytes: Vec<u8>| match plan.kind {
        Kind::Text => Val::Text(phisafe::crypto::to_text(&bytes)),
        Kind::Bytes => Val::Bytes(bytes),
    };
    let mut todo: Vec<(String, Val, Zeroizing<Vec<u8>>)> = Vec::new();
    let mut writes = Vec::new();
    for (key, val, opened) in read {
        let Some(val) = val else {
            report.nulls += 1;
            continue;
        };
        match op {
            Op::Encrypt if is_envelope(&val) => report.already += 1,
            Op::Encrypt => {
                let plain = match (&job.source, opened, &val) {
                    (Source::Plaintext, _, Val::Text(s)) => {
                        Zeroizing::new(s.as_bytes().to_vec())
                    }
                    (Source::Plaintext, _, Val::Bytes(b)) => {
                        Zeroizing::new(b.clone())
                    }
                    (_, Some(p), _) => Zeroizing::new(p.as_bytes().to_vec()),
                    (_, None, _) => {
                        note_failed(report, &key);
                        continue;
                    }
                };
                todo.push((key, val, plain));
            }
            Op::Decrypt | Op::Reencrypt => match envelope(&val) {
                Some(env) => todo.push((key, val, Zeroizing::new(env))),
                None => report.already += 1,
            },
        }
    }
    if todo.is_empty() {
        return Ok(writes);
    }
    let items: Vec<(&str, &[u8])> =
        todo.iter().map(|(k, _, b)| (k.as_str(), &b[..])).collect();
    match op {
        Op::Encrypt => {
            let (sealed, events) =
                cipher.captured(|c| c.encrypt_many(who, &items));
            let index = match &job.index {
                Some((_, spec)) => {
                    let texts: Vec<(&str, String)> = todo
                        .iter()
                        .map(|(k, _, b)| {
                            (
                                k.as_str(),
                                String::from_utf8_lossy(b).into_owned(),
                            )
                        })
                        .collect();
                    let pairs: Vec<(&str, &str)> =
                        texts.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    let (ix, more) = cipher
                        .captured(|c| c.blind_index_many(who, spec, &pairs));
                    cipher.record::<Any>(tx, &more).await?;
                    Some(ix?)
                }
                None => None,
            };
            cipher.record::<Any>(tx, &events).await?;
            let sealed = sealed?;
            for (i, ((key, old, _), new)) in
                todo.into_iter().zip(sealed).enumerate()
            {
                let index = index.as_ref().and_then(|ix| ix.get(i)).map(
                    |ix| match plan.index_kind {
                        Some(Kind::Text) => Val::Text(ix.to_hex()),
                        _ => Val::Bytes(ix.as_bytes().to_vec()),
                    },
                );
                writes.push(Write { key, old, new: form(new), index });
            }
        }
        Op::Decrypt => {
            let (opened, events) =
                cipher.captured(|c| c.decrypt_many(who, &items));
            cipher.record::<Any>(tx, &events).await?;
            for ((key, old, _), plain) in todo.into_iter().zip(opened?) {
                let new = match (plain, plan.kind) {
                    (Ok(p), Kind::Bytes) => Val::Bytes(p.to_vec()),
                    (Ok(p), Kind::Text) => match String::from_utf8(p.to_vec())
                    {
                        Ok(s) => Val::Text(s),
                        Err(_) => {
                            note_failed(report, &key);
                            continue;
                        }
                    },
                    (Err(_), _) => {
                        note_failed(report, &key);
                        continue;
                    }
                };
                writes.push(Write { key, old, new, index: None });
            }
        }
        Op::Reencrypt => {
            let (moved, events) =
                cipher.captured(|c| c.reencrypt_many(who, &items));
            cipher.record::<Any>(tx, &events).await?;
            for ((key, old, _), res) in todo.into_iter().zip(moved?) {
                match res {
                    Ok(Some(new)) => writes.push(Write {
                        key,
                        old,
                        new: form(new),
                        index: None,
                    }),
                    Ok(None) => report.already += 1,
                    Err(_) => note_failed(report, &key),
                }
            }
        }
    }
    Ok(writes)
}

/// Rows in the job's table, for a progress bar's total.
pub async fn count_rows(
    pool: &AnyPool,
    job: &ColumnJob,
) -> Result<u64, Error> {
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM {}",
        quote(&job.table, true)?
    )))
    .fetch_one(pool)
    .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// How many values of a column are under each key version: `None` counts
/// values that are not envelopes (plaintext), NULLs are not counted. A
/// re-encryption is complete when only the active version is left.
pub async fn key_versions(
    pool: &AnyPool,
    job: &ColumnJob,
) -> Result<Vec<(Option<u32>, u64)>, Error> {
    use futures_util::TryStreamExt as _;

    let dialect = dialect_of(pool).await?;
    let ty = column_type(pool, dialect, &job.table, &job.column).await?;
    let kind = kind_of(&ty).ok_or_else(|| {
        Error::Unsupported(format!("column type {ty} holds no envelopes"))
    })?;
    let sql = format!(
        "SELECT {} FROM {} WHERE {} IS NOT NULL",
        quote(&job.column, false)?,
        quote(&job.table, true)?,
        quote(&job.column, false)?
    );
    let mut counts = std::collections::BTreeMap::<Option<u32>, u64>::new();
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(pool);
    while let Some(row) = rows.try_next().await? {
        let val = match kind {
            Kind::Text => Val::Text(row.try_get(0)?),
            Kind::Bytes => Val::Bytes(row.try_get(0)?),
        };
        let version = envelope(&val).and_then(|e| {
            phisafe::crypto::Envelope::parse(&e).ok().map(|e| e.key_version())
        });
        *counts.entry(version).or_default() += 1;
    }
    Ok(counts.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::Val;

    #[test]
    fn plaintext_values_do_not_show_in_debug() {
        let text = format!("{:?}", Val::Text("219-09-9999".into()));
        let bytes = format!("{:?}", Val::Bytes(b"219".to_vec()));
        assert_eq!(
            (text.as_str(), bytes.as_str()),
            ("Text(11 bytes)", "Bytes(3 bytes)")
        );
    }
}
