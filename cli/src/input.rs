//! Opening inputs: files or stdin, gzip and zstd decompressed on the fly
//! (recognized by their magic bytes, whatever the file is called).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

const GZIP: &[u8] = &[0x1f, 0x8b];
const ZSTD: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

/// Opens `path` (`-` for stdin) for streaming reads.
pub(crate) fn open(path: &Path) -> io::Result<Box<dyn Read>> {
    if path == Path::new("-") {
        decompress(io::stdin().lock())
    } else {
        decompress(File::open(path)?)
    }
}

fn decompress(rdr: impl Read + 'static) -> io::Result<Box<dyn Read>> {
    let mut buf = BufReader::with_capacity(64 << 10, rdr);
    let head = buf.fill_buf()?;
    Ok(if head.starts_with(GZIP) {
        // Multi-member: concatenated .gz files (log rotation) read whole.
        Box::new(flate2::bufread::MultiGzDecoder::new(buf))
    } else if head.starts_with(ZSTD) {
        Box::new(zstd::Decoder::with_buffer(buf)?)
    } else {
        Box::new(buf)
    })
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
