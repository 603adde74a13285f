//! Opening inputs: files or stdin, gzip and zstd decompressed on the fly
//! (recognized by their magic bytes, whatever the file is called).

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

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

/// The format of an input whose name says nothing, from its first bytes
/// (after decompression): dumps announce themselves in their first
/// comment, a JSON document opens with `{` or `[`, and JSON lines close
/// their first object on the first line.
pub(crate) fn sniff(head: &[u8]) -> crate::InputFormat {
    use crate::InputFormat;
    let head = &head[..head.len().min(4096)];
    let has = |needle: &[u8]| memchr::memmem::find(head, needle).is_some();
    if head.starts_with(b"PGDMP") || has(b"PostgreSQL database dump") {
        return InputFormat::PgDump;
    }
    if has(b"MySQL dump") || has(b"MariaDB dump") {
        return InputFormat::MysqlDump;
    }
    let body = head.trim_ascii_start();
    let first_line = body.split(|&b| b == b'\n').next().unwrap_or_default();
    match body.first() {
        Some(b'{') if first_line.trim_ascii_end().ends_with(b"}") => {
            InputFormat::Jsonl
        }
        Some(b'{' | b'[') => InputFormat::Json,
        _ => InputFormat::Text,
    }
}

fn decompress(
    rdr: impl Read + Send + 'static,
) -> io::Result<Box<dyn Read + Send>> {
    phisafe::compress::decompressed(rdr)
}

/// The path without a compression extension, for format detection:
/// `events.jsonl.gz` reads as `events.jsonl`.
pub(crate) fn logical(path: &Path) -> &Path {
    match path.extension().and_then(|e| e.to_str()) {
        Some("gz" | "zst" | "zstd") => {
            path.file_stem().map_or(path, Path::new)
        }
        _ => path,
    }
}
