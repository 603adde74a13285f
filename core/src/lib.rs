//! phisafe finds protected health information (PHI) and other personal data
//! in text, logs and database exports, and redacts it.
//!
//! # Overview
//!
//! - [`Scanner`]: the compiled pattern pack. Build once, share everywhere
//!   (`Send + Sync`, cheap to clone); [`Scanner::scan`] a byte slice,
//!   [`Scanner::scan_reader`] a stream of any size, [`Scanner::scan_many`]
//!   a batch in parallel.
//! - [`Finding`]: entity type, byte span, score and pattern; no copy of the
//!   data.
//! - [`Redactor`]: replaces findings with a per-entity [`Operator`] (`mask`,
//!   `tag`, `partial`, `hash`, `remove`), on slices or streams.
//! - [`Entity`]: the canonical entity types.
//! - Structured input, walked rather than scanned as text:
//!   [`Scanner::scan_json`] / [`Scanner::scan_jsonl`] (JSON Pointers),
//!   [`Scanner::scan_csv`] (row and column), [`Scanner::scan_dump`]
//!   (`pg_dump` and `mysqldump`: table, column, row), with field names as
//!   hints (`patterns/keys.toml`), shape-keeping redaction
//!   ([`Redactor::redact_json`], [`Redactor::redact_csv`],
//!   [`Redactor::redact_dump`]; [`Redactor::redact_csv_parallel`] and
//!   [`Redactor::redact_dump_parallel`] on the rayon pool) and per-column
//!   classification
//!   ([`classify::Classifier`]). [`format::Format`] tells which an input is,
//!   by name or content, and never refuses: what is not structured is
//!   text.
//!
//! # Example
//!
//! ```
//! use phisafe::{Entity, Redactor, Scanner};
//!
//! let scanner = Scanner::new();
//! let note = "Pt Maria Lopez, DOB 04/12/1957, MRN 00482913, phone 415-555-2671";
//! let entities: Vec<Entity> =
//!     scanner.scan(note.as_bytes()).iter().map(|f| f.entity()).collect();
//! assert_eq!(
//!     entities,
//!     [Entity::Person, Entity::Date, Entity::Mrn, Entity::Phone]
//! );
//!
//! let redactor = Redactor::new(scanner);
//! assert_eq!(
//!     redactor.redact_str(note),
//!     "Pt [PERSON], DOB [DATE], MRN [MRN], phone [PHONE]"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # API themes
//!
//! - **Bytes in, offsets out.** Input is `&[u8]`: invalid UTF-8 and NUL
//!   bytes are scanned, never a panic. Offsets are byte offsets.
//! - **Configuration is explicit.** [`ScannerBuilder`] takes entity filters,
//!   extra pattern files, allow and deny lists and the score threshold; the
//!   library reads no environment variables and no files of its own.
//! - **Patterns are data.** The default pack lives in `core/patterns/*.toml`,
//!   embedded at build time; the format is in `core/patterns/README.md`.
//! - **Errors say what to do** and never contain scanned data.
//! - **Forks.** A forked child never reuses its parent's nonces, and audit
//!   sinks opened before a fork refuse work in the child
//!   ([`audit::AuditError::Forked`]) rather than lose records: open them
//!   in each worker. [`Scanner::scan_many`], [`Scanner::scan_parallel`]
//!   and the other `_parallel` methods run on rayon's global pool, whose threads do not survive a fork; in a
//!   child of a process that used it, run them inside a pool of the
//!   child's own (`rayon::ThreadPool::install`), as the Python bindings do.
//!
//! # Crate features
//!
//! - `tracing`: `tracing::RedactingWriter`, a `tracing-subscriber` writer
//!   that redacts each formatted event line.

#![forbid(unsafe_code)]

pub mod audit;
pub mod classify;
#[cfg(feature = "compression")]
pub mod compress;
pub mod crypto;
mod entity;
mod error;
pub mod fork;
pub mod format;
pub mod redact;
pub mod scan;
#[cfg(feature = "tracing")]
pub mod tracing;

pub use entity::{Entity, UnknownEntity};
pub use error::BuildError;
pub use redact::{HashKey, Operator, RedactError, Redactor};
pub use scan::{Finding, Pattern, PatternId, Scanner, ScannerBuilder};

/// The README's Rust examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_thread_safe<T: Send + Sync + std::panic::UnwindSafe + Clone>() {}

    #[test]
    fn oibits() {
        assert_thread_safe::<Scanner>();
        assert_thread_safe::<Redactor>();
        assert_thread_safe::<Finding>();
        fn errors<T: Send + Sync + std::error::Error + 'static>() {}
        errors::<BuildError>();
        errors::<RedactError>();
        errors::<UnknownEntity>();
    }
}
