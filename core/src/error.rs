//! Error types.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

/// An error building a [`Scanner`](crate::Scanner): a pattern file that does
/// not parse, a pattern that is invalid, or a regex that does not compile.
///
/// Messages name the file and pattern id so the author can fix them.
#[derive(Debug)]
pub struct BuildError {
    kind: BuildErrorKind,
}

#[derive(Debug)]
pub(crate) enum BuildErrorKind {
    File { origin: String, message: String, span: Option<Range<usize>> },
    Io { path: PathBuf, err: std::io::Error },
    InvalidPattern { origin: String, id: String, what: String },
    DuplicateId { id: String },
    Regex { id: String, message: String },
    NoPatterns,
}

impl BuildError {
    pub(crate) fn new(kind: BuildErrorKind) -> BuildError {
        BuildError { kind }
    }

    /// The id of the pattern at fault, if one is.
    pub fn pattern_id(&self) -> Option<&str> {
        match &self.kind {
            BuildErrorKind::InvalidPattern { id, .. }
            | BuildErrorKind::DuplicateId { id }
            | BuildErrorKind::Regex { id, .. } => Some(id),
            _ => None,
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            BuildErrorKind::File { origin, message, span } => {
                write!(f, "pattern file {origin}")?;
                if let Some(span) = span {
                    write!(f, " (bytes {}..{})", span.start, span.end)?;
                }
                write!(f, " is not valid: {}", message.trim_end())
            }
            BuildErrorKind::Io { path, .. } => {
                write!(f, "cannot read pattern file {}", path.display())
            }
            BuildErrorKind::InvalidPattern { origin, id, what } => {
                write!(f, "pattern {id:?} in {origin}: {what}")
            }
            BuildErrorKind::DuplicateId { id } => write!(
                f,
                "pattern id {id:?} is defined twice; ids must be unique"
            ),
            BuildErrorKind::Regex { id, message } => {
                write!(f, "regex of pattern {id:?}: {message}")
            }
            BuildErrorKind::NoPatterns => f.write_str(
                "no patterns are enabled; check the entity filter and \
                 disabled patterns",
            ),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            BuildErrorKind::Io { err, .. } => Some(err),
            _ => None,
        }
    }
}
