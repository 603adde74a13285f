#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic is a failed test"
)]

//! Integration tests, one binary. Modules:
//!
//! - `accuracy`: per-entity recall, precision and leaks on the generated
//!   corpus (`scripts/gen_corpus.py`), with the floors they must meet.
//! - `coverage`: structure never hides text: what a text scan of a
//!   structured document finds, its structured reading covers or a named
//!   rule explains, and `redact` leaves none of it.
//! - `crash`: a decrypting child killed with SIGKILL never handed out a
//!   plaintext whose audit record is not on disk.
//! - `debug`: `Debug` output of the readers never shows input bytes.
//! - `dump`: real pg_dump output (COPY, --inserts, --column-inserts,
//!   custom format) from a throwaway cluster, and mysqldump syntax.
//! - `streaming`: scanning and redacting readers gives exactly the
//!   whole-buffer result, for every chunk size (property tests).
//! - `structured`: the JSON, CSV and dump readers on arbitrary bytes.

mod accuracy;
mod coverage;
mod crash;
mod debug;
mod dump;
mod streaming;
mod structured;
