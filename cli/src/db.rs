//! `phisafe db`: phisafe's tables, column migrations and live-table scans
//! in PostgreSQL or SQLite.

use crate::Status;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use phisafe::crypto::{FieldCipher, IndexSpec, Normalizer, Scope, audit_key};
use phisafe_sqlx::columns::{
    self, ColumnJob, ColumnReport, Operation, Source,
};
use phisafe_sqlx::{SqlCipher, SqlKeyStore};
use sqlx::AnyPool;
use zeroize::Zeroizing;

use crate::crypt::{Actor, MasterKey};

/// The database.
#[derive(Args)]
pub(crate) struct DbArgs {
    /// Database URL: `postgres://...` or `sqlite://PATH`.
    #[arg(long, env = "PHISAFE_DATABASE_URL")]
    url: String,
}

#[derive(Subcommand)]
pub(crate) enum DbCommand {
    /// Create or upgrade phisafe's own tables (schema `phisafe` in
    /// PostgreSQL, prefix `phisafe_` in SQLite).
    Init {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Encrypt an existing column in place: resumable batches, concurrent
    /// writes kept, already-encrypted values skipped.
    EncryptColumn(EncryptColumnArgs),
    /// Turn an encrypted column back into plaintext (rollback; audited).
    DecryptColumn(ColumnArgs),
    /// Move every value of a column to the active key version.
    ReencryptColumn(ColumnArgs),
    /// Count a column's values per key version.
    KeyVersions {
        #[command(flatten)]
        db: DbArgs,
        /// Table (`name` or `schema.name`).
        #[arg(long)]
        table: String,
        /// Column.
        #[arg(long)]
        column: String,
    },
    /// Classify the columns of live tables by sampling their rows.
    Scan {
        #[command(flatten)]
        db: DbArgs,
        /// Only this table.
        #[arg(long)]
        table: Option<String>,
        /// Rows sampled per table.
        #[arg(long, default_value_t = 1000)]
        sample: u64,
    },
}

/// One column to migrate, and who does it.
#[derive(Args)]
pub(crate) struct ColumnArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    master: MasterKey,
    /// Table (`name` or `schema.name`).
    #[arg(long)]
    table: String,
    /// Column to convert.
    #[arg(long)]
    column: String,
    /// Column identifying rows (the primary key); its value, as text, is
    /// the row reference each value is bound to.
    #[arg(long)]
    key_column: String,
    /// Scope of the data key (default: TABLE.COLUMN).
    #[arg(long)]
    scope: Option<String>,
    /// Rows per batch and transaction.
    #[arg(long, default_value_t = 1000)]
    batch_size: usize,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    by: Actor,
}

/// How the old `encrypt_phi()` sealed values.
#[derive(Clone, Copy, ValueEnum)]
enum PgcryptoMode {
    /// `pgp_sym_encrypt(value, key)`.
    Pgp,
    /// `encrypt(value, key, 'aes')`.
    Aes,
}

#[derive(Args)]
pub(crate) struct EncryptColumnArgs {
    #[command(flatten)]
    column: ColumnArgs,
    /// Also fill this column with each value's blind index (hex in TEXT
    /// columns, bytes in BYTEA/BLOB) for equality search.
    #[arg(long, value_name = "COLUMN")]
    blind_index: Option<String>,
    /// How values are normalized before indexing: exact, trim-casefold,
    /// digits or last4.
    #[arg(long, default_value = "exact", requires = "blind_index")]
    index_normalizer: String,
    /// Bits of the blind index (fewer bits: more collisions, less
    /// leakage).
    #[arg(long, default_value_t = 32, requires = "blind_index")]
    index_bits: u16,
    /// The column holds pgcrypto ciphertexts from the old `encrypt_phi()`
    /// (PostgreSQL; the column must be BYTEA).
    #[arg(long, requires = "old_key_env")]
    from_pgcrypto: bool,
    /// Environment variable holding the old pgcrypto key; it is sent as a
    /// bound parameter, never in SQL text.
    #[arg(long, value_name = "VAR", requires = "from_pgcrypto")]
    old_key_env: Option<String>,
    /// pgcrypto function the old key was used with.
    #[arg(long, value_enum, default_value = "pgp")]
    pgcrypto_mode: PgcryptoMode,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

async fn connect(db: &DbArgs) -> anyhow::Result<AnyPool> {
    let pool = phisafe_sqlx::connect(&db.url).await.with_context(|| {
        format!("cannot connect to {}", redact_url(&db.url))
    })?;
    phisafe_sqlx::migrate(&pool).await?;
    Ok(pool)
}

/// A URL without its password, for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!(
                    "{}{}:***{}",
                    &url[..s + 3],
                    &creds[..c],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The cipher with the keyring and audit chain in the database.
fn open(
    url: &str,
    master: &MasterKey,
    by: &Actor,
) -> anyhow::Result<SqlCipher> {
    let provider = master.provider()?;
    let store = Arc::new(SqlKeyStore::connect(url)?);
    let key = audit_key(&*provider, &*store)?;
    let builder = FieldCipher::builder(provider, store).policy(by.policy()?);
    Ok(SqlCipher::new(builder, key)?)
}

/// Runs `phisafe db ...`; the exit code says whether every value was
/// converted.
pub(crate) fn db(cmd: DbCommand) -> anyhow::Result<Status> {
    let rt = runtime()?;
    match cmd {
        DbCommand::Init { db } => {
            rt.block_on(connect(&db))?;
            eprintln!("phisafe tables are up to date");
            Ok(Status::SUCCESS)
        }
        DbCommand::EncryptColumn(args) => {
            let mut job = job(&args.column)?;
            if let Some(col) = &args.blind_index {
                let norm = Normalizer::parse(&args.index_normalizer)
                    .with_context(|| {
                        format!(
                            "unknown normalizer {:?}: use exact, trim-casefold, digits or last4",
                            args.index_normalizer
                        )
                    })?;
                let spec = IndexSpec::new(col, norm, args.index_bits)?;
                job = job.blind_index(col, spec)?;
            }
            if args.from_pgcrypto {
                let var = args.old_key_env.as_deref().unwrap_or_default();
                let key =
                    Zeroizing::new(std::env::var(var).with_context(|| {
                        format!("set {var} to the old pgcrypto key")
                    })?);
                job = job.source(match args.pgcrypto_mode {
                    PgcryptoMode::Pgp => Source::PgpSym(key),
                    PgcryptoMode::Aes => Source::RawAes(key),
                });
            }
            run_column(&rt, &args.column, job, Operation::Encrypt)
        }
        DbCommand::DecryptColumn(args) => {
            let job = job(&args)?;
            run_column(&rt, &args, job, Operation::Decrypt)
        }
        DbCommand::ReencryptColumn(args) => {
            let job = job(&args)?;
            run_column(&rt, &args, job, Operation::Reencrypt)
        }
        DbCommand::KeyVersions { db, table, column } => {
            // The key column is not read; any other name passes the check.
            let job = ColumnJob::new(&table, &column, "phisafe_unused")?;
            let counts = rt.block_on(async {
                let pool = connect(&db).await?;
                anyhow::Ok(columns::key_versions(&pool, &job).await?)
            })?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{:<12} VALUES", "KEY VERSION")?;
            for (version, n) in counts {
                match version {
                    Some(v) => writeln!(out, "{v:<12} {n}")?,
                    None => writeln!(out, "{:<12} {n}", "plaintext")?,
                }
            }
            Ok(Status::SUCCESS)
        }
        DbCommand::Scan { db, table, sample } => {
            let scanner = phisafe::Scanner::new();
            let classifier = rt.block_on(async {
                let pool = phisafe_sqlx::connect(&db.url).await?;
                anyhow::Ok(
                    phisafe_sqlx::scan_tables(
                        &pool,
                        &scanner,
                        table.as_deref(),
                        sample,
                    )
                    .await?,
                )
            })?;
            // The same per-column table `phisafe scan` prints.
            let summaries = classifier.summaries();
            crate::report::table_columns(
                &mut std::io::stdout().lock(),
                &summaries,
            )?;
            let phi = summaries
                .iter()
                .filter(|s| s.classification().is_some())
                .count();
            eprintln!(
                "{phi} column(s) hold PHI; encrypt them with `phisafe db encrypt-column`"
            );
            Ok(Status::SUCCESS)
        }
    }
}

fn job(args: &ColumnArgs) -> anyhow::Result<ColumnJob> {
    Ok(ColumnJob::new(&args.table, &args.column, &args.key_column)?
        .batch_size(args.batch_size))
}

fn run_column(
    rt: &tokio::runtime::Runtime,
    args: &ColumnArgs,
    job: ColumnJob,
    op: Operation,
) -> anyhow::Result<Status> {
    let scope_name = args
        .scope
        .clone()
        .unwrap_or_else(|| format!("{}.{}", args.table, args.column));
    let scope = Scope::new(&scope_name)?;
    let job = job.bind_scope(&scope_name);
    // Tables first: the keyring and audit chain live in them.
    let pool = rt.block_on(connect(&args.db))?;
    let cipher = open(&args.db.url, &args.master, &args.by)?;
    let actor = args.by.name();
    let who = args.by.context(&scope, "", &actor);
    let stop = Arc::new(AtomicBool::new(false));
    let report = rt.block_on(async {
        let total = columns::count_rows(&pool, &job).await?;
        let bar = if args.quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(total)
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {pos}/{len} rows {wide_bar} {per_sec} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let flag = Arc::clone(&stop);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                flag.store(true, Ordering::Relaxed);
                eprintln!("\nstopping after this batch; run the same command to resume");
            }
        });
        let mut progress = |r: &ColumnReport| {
            bar.set_position(r.scanned.min(total));
            bar.set_message(format!("{} changed", r.changed));
        };
        let res = columns::convert_column(
            &pool,
            &cipher,
            &who,
            &job,
            op,
            &stop,
            &mut progress,
        )
        .await;
        bar.finish_and_clear();
        anyhow::Ok(res?)
    })?;
    let verb = match op {
        Operation::Encrypt => "encrypted",
        Operation::Decrypt => "decrypted",
        Operation::Reencrypt => "re-encrypted",
    };
    eprintln!(
        "{}.{}: {} rows read, {} {verb}, {} already done, {} NULL, {} failed{}",
        args.table,
        args.column,
        report.scanned,
        report.changed,
        report.already,
        report.nulls,
        report.failed,
        if report.resumed { " (resumed)" } else { "" },
    );
    if report.failed > 0 {
        eprintln!(
            "values left as they were, first keys: {}",
            report.failed_keys.join(", ")
        );
    }
    if report.stopped {
        return Ok(Status::from(130));
    }
    if report.failed > 0 {
        return Ok(Status::from(2));
    }
    Ok(Status::SUCCESS)
}

/// The audit key and every chain's report; `expect` holds chains to
/// their checkpoints.
fn chain_reports(
    url: &str,
    master: &MasterKey,
    expect: &phisafe::audit::Checkpoints,
) -> anyhow::Result<(
    phisafe::audit::AuditKey,
    Vec<phisafe_sqlx::audit::ChainReport>,
)> {
    let provider = master.provider()?;
    let store = SqlKeyStore::connect(url)?;
    let key = audit_key(&*provider, &store)?;
    let reports = runtime()?.block_on(async {
        let pool = phisafe_sqlx::connect(url).await?;
        anyhow::Ok(
            phisafe_sqlx::audit::verify_with(&pool, &key, expect).await?,
        )
    })?;
    Ok((key, reports))
}

/// Verifies every audit chain in the database, each against its
/// checkpoint in `expect_head` if given; returns whether all hold.
pub(crate) fn verify(
    url: &str,
    master: &MasterKey,
    expect_head: Option<&Path>,
) -> anyhow::Result<bool> {
    let expect = match expect_head {
        Some(path) => {
            phisafe::audit::Checkpoints::load(path).with_context(|| {
                format!("cannot read checkpoints {}", path.display())
            })?
        }
        None => Default::default(),
    };
    let (_, reports) = chain_reports(url, master, &expect)?;
    if reports.is_empty() {
        println!("{}: no audit records", redact_url(url));
        return Ok(true);
    }
    let mut ok = true;
    for r in &reports {
        let held = if expect.chains.contains_key(&r.chain) {
            "; holds the head of its checkpoint"
        } else {
            ""
        };
        match &r.problem {
            None => println!(
                "chain {}: {} records, intact{held}",
                r.chain, r.valid
            ),
            Some(p) => {
                ok = false;
                println!(
                    "chain {}: broken after {} valid records: {p}",
                    r.chain, r.valid
                );
            }
        }
    }
    Ok(ok)
}

/// Verifies every audit chain and writes a checkpoint of each intact one
/// to `output`; an error when no chain verifies.
pub(crate) fn checkpoint(
    url: &str,
    master: &MasterKey,
    output: &Path,
) -> anyhow::Result<()> {
    let (key, reports) = chain_reports(url, master, &Default::default())?;
    let set = phisafe_sqlx::audit::checkpoints(
        &key,
        &reports,
        std::time::SystemTime::now(),
    );
    for r in reports.iter().filter(|r| r.problem.is_some()) {
        eprintln!(
            "phisafe: chain {} is broken (run `phisafe audit verify --db`): not checkpointed",
            r.chain
        );
    }
    if set.chains.is_empty() {
        bail!(
            "{}: no intact audit chain: no checkpoint written",
            redact_url(url)
        );
    }
    set.save(output)
        .with_context(|| format!("cannot write {}", output.display()))?;
    println!(
        "{}: checkpoint of {} chain(s) written to {}",
        redact_url(url),
        set.chains.len(),
        output.display()
    );
    Ok(())
}
