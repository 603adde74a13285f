//! Collecting inputs and scanning them in parallel.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use phisafe::Scanner;
use phisafe::scan::{Blocks, DEFAULT_CHUNK};
use rayon::prelude::*;

use crate::report::{FileReport, Located};

/// One input: a file path, or stdin.
pub(crate) struct Input {
    pub(crate) path: PathBuf,
    pub(crate) len: u64,
}

pub(crate) struct Inputs {
    pub(crate) files: Vec<Input>,
    pub(crate) errors: Vec<(PathBuf, String)>,
}

/// Expands directories recursively (sorted, symlinks to directories not
/// followed); `-` stands for stdin.
pub(crate) fn collect(paths: &[PathBuf]) -> Inputs {
    let mut inputs = Inputs { files: Vec::new(), errors: Vec::new() };
    for p in paths {
        if p == Path::new("-") {
            inputs.files.push(Input { path: p.clone(), len: 0 });
        } else {
            visit(p, &mut inputs);
        }
    }
    inputs
}

fn visit(path: &Path, inputs: &mut Inputs) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            inputs.errors.push((path.to_path_buf(), e.to_string()));
            return;
        }
    };
    if meta.is_file() {
        inputs.files.push(Input { path: path.to_path_buf(), len: meta.len() });
        return;
    }
    if !meta.is_dir() {
        return;
    }
    let entries = match std::fs::read_dir(path) {
        Ok(rd) => rd,
        Err(e) => {
            inputs.errors.push((path.to_path_buf(), e.to_string()));
            return;
        }
    };
    let mut children: Vec<PathBuf> = Vec::new();
    for entry in entries {
        match entry {
            Ok(e) => {
                let is_link_dir = e.file_type().is_ok_and(|t| t.is_symlink())
                    && e.path().is_dir();
                if !is_link_dir {
                    children.push(e.path());
                }
            }
            Err(e) => inputs.errors.push((path.to_path_buf(), e.to_string())),
        }
    }
    children.sort();
    for c in children {
        visit(&c, inputs);
    }
}

/// Scans every input on the rayon pool; results come back in input order.
pub(crate) fn scan_all(
    scanner: &Scanner,
    files: &[Input],
    show_values: bool,
    progress: Option<&indicatif::ProgressBar>,
) -> Vec<Result<FileReport, (PathBuf, String)>> {
    files
        .par_iter()
        .map(|input| {
            let result = if input.path == Path::new("-") {
                scan_one(scanner, io::stdin().lock(), show_values, progress)
            } else {
                File::open(&input.path)
                    .and_then(|f| scan_one(scanner, f, show_values, progress))
            };
            result
                .map(|findings| FileReport {
                    path: input.path.clone(),
                    findings,
                })
                .map_err(|e| (input.path.clone(), e.to_string()))
        })
        .collect()
}

fn scan_one<R: Read>(
    scanner: &Scanner,
    rdr: R,
    show_values: bool,
    progress: Option<&indicatif::ProgressBar>,
) -> io::Result<Vec<Located>> {
    let mut blocks = Blocks::new(scanner, rdr, DEFAULT_CHUNK);
    let mut out = Vec::new();
    // Line of the first byte of the current block, 1-based.
    let mut line = 1u64;
    while let Some(b) = blocks.next_block()? {
        let mut at = 0;
        for f in b.findings {
            let rel = f.start() - b.offset;
            line +=
                memchr::memchr_iter(b'\n', &b.bytes[at..rel]).count() as u64;
            at = rel;
            let value = &b.bytes[rel..f.end() - b.offset];
            out.push(Located {
                finding: *f,
                line,
                preview: crate::report::preview(value, show_values),
            });
        }
        line += memchr::memchr_iter(b'\n', &b.bytes[at..]).count() as u64;
        if let Some(p) = progress {
            p.inc(b.bytes.len() as u64);
        }
    }
    Ok(out)
}
