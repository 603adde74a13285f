//! The `phisafe` command line: scan files, directories and streams for
//! PHI/PII, redact them, manage keys and convert database columns.
//!
//! The `phisafe` binary and the Python package's `phisafe` console script
//! both call [`run`], so the two behave the same.
//!
//! Exit codes: 0 when the run succeeded (and, with `--fail-on`, nothing at
//! or above the threshold was found), 1 when `--fail-on` was given and
//! something was found (or `audit verify` found a broken chain), 2 for
//! usage or I/O errors (after scanning every readable input), 130 when
//! `db encrypt` stopped at Ctrl-C.
//!
//! ```
//! let status = phisafe_cli::run(["phisafe", "patterns", "--entities", "SSN"]);
//! assert_eq!(status.code(), 0);
//! ```

#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, reason = "a CLI prints its results")]
#![allow(clippy::print_stderr, reason = "a CLI prints its errors")]

mod crypt;
mod db;
mod input;
mod report;
mod walk;

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use phisafe::{Entity, HashKey, Operator, Redactor, Scanner};

use phisafe::format::Format;

use crate::report::FileReport;

#[derive(Parser)]
#[command(name = "phisafe", version, about = "Find and redact PHI/PII")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan files, directories (recursively) or stdin (`-`) and report
    /// findings.
    Scan(ScanArgs),
    /// Redact a file or stdin (`-`) to a file or stdout, streaming.
    Redact(RedactArgs),
    /// List the enabled patterns.
    Patterns(ScannerArgs),
    /// Manage the master key and data keys.
    #[command(subcommand)]
    Keys(crypt::KeysCommand),
    /// Encrypt stdin for one field of one row; prints the envelope.
    Encrypt(crypt::EncryptArgs),
    /// Decrypt an envelope from stdin (text or binary form).
    Decrypt(crypt::CryptArgs),
    /// Check audit logs.
    #[command(subcommand)]
    Audit(crypt::AuditCommand),
    /// Encrypt columns of a live PostgreSQL or SQLite database, and scan
    /// it for PHI.
    #[command(subcommand)]
    Db(db::DbCommand),
}

#[derive(Args)]
struct ScannerArgs {
    /// Only these entity types (comma-separated, e.g. SSN,EMAIL).
    #[arg(long, value_delimiter = ',')]
    entities: Vec<String>,
    /// Drop findings scoring below this (0 to 1).
    #[arg(long, default_value_t = phisafe::scan::DEFAULT_MIN_SCORE)]
    min_score: f32,
    /// Extra pattern file (TOML); may be repeated.
    #[arg(long = "patterns", value_name = "FILE")]
    pattern_files: Vec<PathBuf>,
    /// Disable a pattern by id; may be repeated.
    #[arg(long = "disable", value_name = "ID")]
    disabled: Vec<String>,
    /// Value never to report (exact match); may be repeated.
    #[arg(long = "allow", value_name = "VALUE")]
    allow: Vec<String>,
    /// Report dates that open a log line and are followed by a time.
    #[arg(long)]
    log_timestamps: bool,
    /// Input format; `auto` goes by extension (.json, .jsonl, .ndjson,
    /// .csv, .tsv, .sql), then by content (JSON that parses, dumps that
    /// say so, tables: a header over even rows); anything else, and stdin
    /// unless told, is text.
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    input_format: InputFormat,
    #[command(flatten)]
    csv: CsvArgs,
}

/// How delimited input is laid out; what is not given is sniffed from the
/// file's first 256 KiB.
#[derive(Args, Clone, Copy)]
pub(crate) struct CsvArgs {
    /// CSV field delimiter: one ASCII character, or `tab`.
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter)]
    csv_delimiter: Option<u8>,
    /// Whether the CSV's first row (after any preamble) is a header.
    #[arg(long, value_enum, default_value_t = HeaderArg::Auto)]
    csv_header: HeaderArg,
    /// Preamble records before the CSV's header or first row, read as text.
    #[arg(long, value_name = "N")]
    csv_skip: Option<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum HeaderArg {
    Auto,
    Yes,
    No,
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() && s != "\"" && s != "\n" => {
            Ok(s.as_bytes()[0])
        }
        _ => {
            Err("one ASCII character (not a quote or newline), or `tab`"
                .into())
        }
    }
}

impl CsvArgs {
    /// The dialect to read a delimited input with: what was given, the
    /// rest sniffed from `sample`.
    pub(crate) fn options(
        &self,
        scanner: &Scanner,
        format: Format,
        sample: &[u8],
    ) -> phisafe::format::csv::CsvOptions {
        let default = if format == Format::Tsv { b'\t' } else { b',' };
        let sniffed =
            scanner.sniff_csv(sample, self.csv_delimiter.unwrap_or(default));
        let mut opts = sniffed;
        if let Some(d) = self.csv_delimiter {
            opts = opts.delimiter(d);
        }
        match self.csv_header {
            HeaderArg::Auto => {}
            HeaderArg::Yes => opts = opts.headers(true),
            HeaderArg::No => opts = opts.headers(false),
        }
        if let Some(n) = self.csv_skip {
            opts = opts.skip(n);
        }
        opts
    }
}

/// How an input is read.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum InputFormat {
    Auto,
    Text,
    Json,
    Jsonl,
    Csv,
    Tsv,
    PgDump,
    MysqlDump,
}

#[derive(Args)]
struct ScanArgs {
    /// Files, directories, or `-` for stdin.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    scanner: ScannerArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,
    /// Exit 1 if any finding scores at least SCORE (default: --min-score).
    /// Give the score with `=` (`--fail-on=0.8`) so a following `-` stays
    /// a path.
    #[arg(
        long,
        value_name = "SCORE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "-1"
    )]
    fail_on: Option<f32>,
    /// Show matched values in previews (they are masked by default).
    #[arg(long)]
    show_values: bool,
    /// Write the report here (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Never show a progress bar.
    #[arg(long)]
    no_progress: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Table,
    Json,
    Jsonl,
    Sarif,
}

#[derive(Args)]
struct RedactArgs {
    /// Input file, or `-` for stdin.
    input: PathBuf,
    /// Output file (written atomically), or `-` for stdout.
    #[arg(short, long, default_value = "-")]
    output: PathBuf,
    #[command(flatten)]
    scanner: ScannerArgs,
    /// Operator for one entity, e.g. SSN=partial; may be repeated.
    /// Operators: mask, tag, partial, hash, remove.
    #[arg(long = "operator", value_name = "ENTITY=OP")]
    operators: Vec<String>,
    /// Operator for entities without their own.
    #[arg(long, default_value = "tag")]
    default_operator: String,
}

/// How a run ended: the process exit code (see the crate docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status(u8);

impl Status {
    /// The run succeeded.
    pub const SUCCESS: Status = Status(0);

    /// The exit code for the process.
    pub fn code(self) -> u8 {
        self.0
    }
}

impl From<u8> for Status {
    fn from(code: u8) -> Status {
        Status(code)
    }
}

impl From<Status> for std::process::ExitCode {
    fn from(s: Status) -> std::process::ExitCode {
        std::process::ExitCode::from(s.0)
    }
}

/// Runs the command line given by `args` (the program name first, as in
/// `std::env::args_os`). Usage errors and `--help` are printed here, not
/// by exiting the process, so an embedding process (the Python console
/// script) keeps control.
pub fn run<I, T>(args: I) -> Status
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            // Printing help or a usage error to a closed pipe is no error.
            let _ = err.print();
            return Status::from(u8::try_from(err.exit_code()).unwrap_or(2));
        }
    };
    match dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return Status::SUCCESS;
            }
            eprintln!("phisafe: {err:#}");
            Status::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn dispatch(cli: Cli) -> anyhow::Result<Status> {
    match cli.command {
        Command::Scan(args) => scan(args),
        Command::Redact(args) => redact(args),
        Command::Patterns(args) => {
            let scanner = build_scanner(&args)?;
            let mut out = io::stdout().lock();
            for p in scanner.patterns() {
                writeln!(
                    out,
                    "{:<28} {:<15} {:.2}/{:.2}  {}",
                    p.id(),
                    p.entity().as_str(),
                    p.score(),
                    p.context_score(),
                    p.description()
                )?;
            }
            Ok(Status::SUCCESS)
        }
        Command::Keys(cmd) => crypt::keys(cmd).map(|()| Status::SUCCESS),
        Command::Encrypt(args) => {
            crypt::encrypt(args).map(|()| Status::SUCCESS)
        }
        Command::Decrypt(args) => {
            crypt::decrypt(args).map(|()| Status::SUCCESS)
        }
        Command::Audit(cmd) => crypt::audit(cmd)
            .map(|ok| if ok { Status::SUCCESS } else { Status::from(1) }),
        Command::Db(cmd) => db::db(cmd),
    }
}

fn build_scanner(args: &ScannerArgs) -> anyhow::Result<Scanner> {
    let mut b = Scanner::builder();
    if !args.entities.is_empty() {
        let es = args
            .entities
            .iter()
            .map(|s| s.trim().parse::<Entity>())
            .collect::<Result<Vec<_>, _>>()?;
        b.entities(es);
    }
    for f in &args.pattern_files {
        b.pattern_file(f)?;
    }
    for id in &args.disabled {
        b.disable_pattern(id);
    }
    for v in &args.allow {
        b.allow(v);
    }
    if !(0.0..=1.0).contains(&args.min_score) {
        bail!("--min-score must be between 0 and 1");
    }
    b.min_score(args.min_score).log_timestamps(args.log_timestamps);
    Ok(b.build()?)
}

fn scan(args: ScanArgs) -> anyhow::Result<Status> {
    let scanner = build_scanner(&args.scanner)?;
    let inputs = walk::collect(&args.paths);
    let total: u64 = inputs.files.iter().map(|f| f.len).sum();
    let progress =
        (!args.no_progress && io::stderr().is_terminal() && total > 64 << 20)
            .then(|| {
                let bar = indicatif::ProgressBar::new(total);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
                    )
                    .expect("the template is valid"),
                );
                bar
            });
    let format = match args.format {
        FormatArg::Table => report::Format::Table,
        FormatArg::Json => report::Format::Json,
        FormatArg::Jsonl => report::Format::Jsonl,
        FormatArg::Sarif => report::Format::Sarif,
    };
    let reports = walk::scan_all(
        &scanner,
        &inputs.files,
        args.scanner.input_format,
        &args.scanner.csv,
        args.show_values,
        format,
        progress.as_ref(),
    );
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let mut failed = inputs.errors;
    let mut files: Vec<FileReport> = Vec::new();
    for r in reports {
        match r {
            Ok(r) => {
                for (line, err) in &r.line_errors {
                    let path = format!("{}:{line}", r.path.display());
                    failed.push((PathBuf::from(path), err.clone()));
                }
                for note in &r.notes {
                    eprintln!("phisafe: note: {}: {note}", r.path.display());
                }
                files.push(r);
            }
            Err(e) => failed.push(e),
        }
    }
    for (path, err) in &failed {
        eprintln!("phisafe: {}: {err}", path.display());
    }
    let mut classifier = phisafe::classify::Classifier::new();
    for f in &mut files {
        if let Some(c) = f.columns.take() {
            classifier.merge(c);
        }
    }
    let columns = classifier.summaries();
    let mut write = |w: &mut dyn Write| {
        report::write(w, format, &scanner, &mut files, &failed, &columns)
    };
    match &args.output {
        Some(path) if path != Path::new("-") => {
            write_atomically(path, |w| write(w))?;
        }
        _ => {
            let mut out = io::BufWriter::new(io::stdout().lock());
            write(&mut out)?;
            out.flush()?;
        }
    }
    if !failed.is_empty() {
        return Ok(Status::from(2));
    }
    if let Some(threshold) = args.fail_on {
        let threshold =
            if threshold < 0.0 { args.scanner.min_score } else { threshold };
        let hit = files.iter().any(|f| {
            f.findings.len() > 0 && f.findings.max_score() >= threshold
        });
        if hit {
            return Ok(Status::from(1));
        }
    }
    Ok(Status::SUCCESS)
}

/// Writes through a temporary file in the same directory, renamed into
/// place only when everything was written: readers never see half a file.
fn write_atomically(
    path: &Path,
    f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| {
        format!("cannot create a temporary file in {}", dir.display())
    })?;
    {
        let mut w = io::BufWriter::new(tmp.as_file_mut());
        f(&mut w)?;
        w.flush()?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn redact(args: RedactArgs) -> anyhow::Result<Status> {
    let scanner = build_scanner(&args.scanner)?;
    let mut b = Redactor::builder(scanner)
        .default_operator(args.default_operator.parse::<Operator>()?);
    for spec in &args.operators {
        let Some((entity, op)) = spec.split_once('=') else {
            bail!("--operator takes ENTITY=OP, e.g. SSN=partial");
        };
        b = b.operator(entity.trim().parse()?, op.trim().parse()?);
    }
    // The key comes from the environment so it stays out of shell history
    // and process listings.
    if let Some(key) = std::env::var_os("PHISAFE_HASH_KEY") {
        b = b.hash_key(HashKey::new(key.as_encoded_bytes())?);
    }
    let redactor = b.build()?;
    let stdin_in = args.input == Path::new("-");
    let stdout_out = args.output == Path::new("-");
    if !stdin_in && !stdout_out && same_file(&args.input, &args.output) {
        bail!("input and output are the same file; write elsewhere");
    }
    let open = || -> anyhow::Result<_> {
        let input = input::open(&args.input, None).with_context(|| {
            format!("cannot open {}", args.input.display())
        })?;
        Ok(io::BufReader::with_capacity(256 << 10, input))
    };
    let mut input = open()?;
    let chosen =
        input::choose(args.scanner.input_format, &args.input, &mut input)?;
    let csv = args.scanner.csv;
    let mut bad_lines = 0u64;
    let mut run = |format: Format,
                   input: io::BufReader<Box<dyn io::Read + Send>>,
                   w: &mut dyn Write|
     -> io::Result<()> {
        match format {
            // Element by element, in bounded memory.
            Format::Json => redactor.redact_json_stream(input, w).map(drop),
            Format::JsonLines => {
                bad_lines = redactor.redact_jsonl(input, w)?;
                Ok(())
            }
            Format::Dump(dialect) => {
                redactor.redact_dump_parallel(input, w, dialect).map(drop)
            }
            Format::Csv | Format::Tsv => {
                let mut input = input;
                let sample = io::BufRead::fill_buf(&mut input)?;
                let opts = csv.options(redactor.scanner(), format, sample);
                redactor.redact_csv_parallel(input, w, opts).map(drop)
            }
            // Streams block by block, so a piped log flows through.
            _ => redactor.redact_reader(input, w).map(drop),
        }
    };
    // A detected format that turns out not to parse is redacted again as
    // text, from the start: nothing half-structured is written. Only a
    // detected JSON document can fail that way (bad JSON lines, INSERTs
    // and CSV records are redacted as text where they stand).
    let retry_as_text = !chosen.told && chosen.format == Format::Json;
    let not_parsed = |e: &anyhow::Error| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::InvalidData)
    };
    let mut format = chosen.format;
    if stdout_out {
        if retry_as_text {
            // Spooled, so that stdout gets one whole output or the other.
            let mut spool = tempfile::tempfile()?;
            let first =
                run(format, input, &mut io::BufWriter::new(&mut spool));
            match first {
                Ok(()) => {
                    use std::io::Seek;
                    spool.seek(io::SeekFrom::Start(0))?;
                    io::copy(&mut spool, &mut io::stdout().lock())?;
                }
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    note_text(&args.input, format, &e);
                    format = Format::Text;
                    run(format, open()?, &mut io::stdout().lock())?;
                }
                Err(e) => return Err(e.into()),
            }
        } else {
            run(format, input, &mut io::stdout().lock())?;
        }
    } else {
        match write_atomically(&args.output, |w| run(format, input, w)) {
            Err(e) if retry_as_text && not_parsed(&e) => {
                note_text(&args.input, format, &e);
                format = Format::Text;
                let input = open()?;
                write_atomically(&args.output, |w| run(format, input, w))?;
            }
            r => r?,
        }
    }
    if bad_lines > 0 {
        eprintln!(
            "phisafe: note: {}: {bad_lines} line(s) were not valid JSON and \
             were redacted as text",
            args.input.display()
        );
        if chosen.told {
            return Ok(Status::from(2));
        }
    }
    Ok(Status::SUCCESS)
}

/// Says on stderr that a detected format did not parse and the input is
/// read as text instead.
pub(crate) fn note_text(
    path: &Path,
    format: Format,
    err: &dyn std::fmt::Display,
) {
    eprintln!(
        "phisafe: note: {}: looked like {} but is not ({err}); read as text",
        path.display(),
        input::name(format),
    );
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
