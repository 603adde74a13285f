//! Opening inputs: files or stdin, gzip and zstd decompressed on the fly
//! (recognized by their magic bytes, whatever the file is called).

use std::fs::File;
use std::io::{self, BufRead, Read};
use std::path::Path;

use phisafe::format::Format;
use phisafe::format::dump::DumpDialect;

use crate::InputFormat;

/// Opens `path` (`-` for stdin) for streaming reads. A progress bar, if
/// given, counts the bytes read from the file itself, before any
/// decompression, so it ends where the file's size says.
pub(crate) fn open(
    path: &Path,
    progress: Option<&indicatif::ProgressBar>,
) -> io::Result<Box<dyn Read + Send>> {
    if path == Path::new("-") {
        decompress(io::stdin())
    } else {
        let file = File::open(path)?;
        match progress {
            Some(bar) => {
                decompress(Counting { inner: file, bar: bar.clone() })
            }
            None => decompress(file),
        }
    }
}

/// Adds the bytes read to a progress bar.
struct Counting<R> {
    inner: R,
    bar: indicatif::ProgressBar,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

/// The format to read an input as, and whether it was asked for
/// (`--input-format`) rather than detected: a detected structured format
/// that fails to parse falls back to text, an asked-for one is an error.
#[derive(Clone, Copy)]
pub(crate) struct Chosen {
    pub(crate) format: Format,
    pub(crate) told: bool,
}

/// Chooses how to read `path`: as asked, else by its name, else by its
/// first bytes (stdin stays text unless told, so a piped log is never
/// second-guessed). A dump's dialect is read from its head either way.
pub(crate) fn choose(
    requested: InputFormat,
    path: &Path,
    rdr: &mut impl BufRead,
) -> io::Result<Chosen> {
    let told = requested != InputFormat::Auto;
    let format = match requested {
        InputFormat::Auto if path == Path::new("-") => Format::Text,
        InputFormat::Auto => match Format::from_path(path) {
            Some(f) => f,
            None => Format::detect(rdr.fill_buf()?),
        },
        InputFormat::Text => Format::Text,
        InputFormat::Json => Format::Json,
        InputFormat::Jsonl => Format::JsonLines,
        InputFormat::Csv => Format::Csv,
        InputFormat::Tsv => Format::Tsv,
        InputFormat::PgDump => Format::Dump(DumpDialect::Postgres),
        InputFormat::MysqlDump => Format::Dump(DumpDialect::Mysql),
    };
    let format = match format {
        // `.sql` and `--input-format pg-dump` say "a dump"; mysqldump
        // says who made it in its first line.
        Format::Dump(DumpDialect::Postgres) => {
            Format::Dump(Format::dump_dialect(rdr.fill_buf()?))
        }
        f => f,
    };
    Ok(Chosen { format, told })
}

/// A format's name in notes and errors.
pub(crate) fn name(format: Format) -> &'static str {
    match format {
        Format::Json => "JSON",
        Format::JsonLines => "JSON lines",
        Format::Csv => "CSV",
        Format::Tsv => "TSV",
        Format::Dump(_) => "SQL",
        _ => "text",
    }
}

fn decompress(
    rdr: impl Read + Send + 'static,
) -> io::Result<Box<dyn Read + Send>> {
    phisafe::compress::decompressed(rdr)
}

/// The path without a compression extension, for table names:
/// `events.jsonl.gz` reads as `events.jsonl`.
pub(crate) fn logical(path: &Path) -> &Path {
    match path.extension().and_then(|e| e.to_str()) {
        Some("gz" | "zst" | "zstd") => {
            path.file_stem().map_or(path, Path::new)
        }
        _ => path,
    }
}
