//! The one error type of every input format.

use std::fmt;
use std::io;

use super::Format;

/// Input that is not well formed in the format it is read as, located by
/// line (and by column where the reader knows it).
///
/// The message describes the syntax, never the input's content, so it can
/// be logged. Streaming readers return it inside an [`io::Error`] of kind
/// [`InvalidData`](io::ErrorKind::InvalidData); [`InputError::in_io`]
/// gets it back.
///
/// ```
/// use phisafe::format::{Format, InputErrorKind};
/// use phisafe::Scanner;
///
/// let err = Scanner::new().scan_json(b"{\"ssn\": ").unwrap_err();
/// assert_eq!(err.format(), Format::Json);
/// assert_eq!(err.kind(), InputErrorKind::Syntax);
/// assert_eq!((err.line(), err.column()), (1, Some(9)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    pub(crate) format: Format,
    pub(crate) kind: InputErrorKind,
    pub(crate) line: u64,
    pub(crate) column: Option<u64>,
    /// What is wrong, in words about the syntax.
    pub(crate) what: &'static str,
}

/// What kind of problem an [`InputError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputErrorKind {
    /// The bytes do not follow the format's grammar.
    Syntax,
    /// Nesting deeper than the limit it holds.
    TooDeep(usize),
    /// A line or statement longer than the limit (in bytes) it holds.
    TooLong(usize),
    /// Another format that cannot be read as this one (a `pg_dump`
    /// custom-format archive, say); the message says how to convert it.
    Unsupported,
}

impl InputError {
    pub(crate) fn new(
        format: Format,
        kind: InputErrorKind,
        line: u64,
        column: Option<u64>,
        what: &'static str,
    ) -> InputError {
        InputError { format, kind, line, column, what }
    }

    /// The format the input was read as.
    pub fn format(&self) -> Format {
        self.format
    }

    /// What kind of problem this is.
    pub fn kind(&self) -> InputErrorKind {
        self.kind
    }

    /// 1-based line of the problem.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// 1-based column (in bytes) of the problem, where the reader knows it.
    pub fn column(&self) -> Option<u64> {
        self.column
    }

    /// The `InputError` inside an I/O error from a streaming reader, if it
    /// holds one (other `InvalidData` errors, such as invalid UTF-8 in a
    /// file name, do not).
    pub fn in_io(e: &io::Error) -> Option<&InputError> {
        e.get_ref()?.downcast_ref()
    }

    pub(crate) fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.format {
            Format::Text => "text",
            Format::Json => "JSON",
            Format::JsonLines => "JSON lines",
            Format::Csv | Format::Tsv => "CSV",
            Format::Dump(_) => "SQL",
        };
        write!(f, "invalid {name} at line {}", self.line)?;
        if let Some(column) = self.column {
            write!(f, ", column {column}")?;
        }
        f.write_str(": ")?;
        match self.kind {
            InputErrorKind::Syntax | InputErrorKind::Unsupported => {
                f.write_str(self.what)
            }
            InputErrorKind::TooDeep(limit) => write!(
                f,
                "nested deeper than {limit} levels; raise \
                 ScannerBuilder::json_max_depth if the input is trusted"
            ),
            InputErrorKind::TooLong(limit) => {
                write!(f, "{} (the limit is {limit} bytes)", self.what)
            }
        }
    }
}

impl std::error::Error for InputError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::dump::DumpDialect;

    #[test]
    fn messages_name_the_format_and_the_place() {
        let e = InputError::new(
            Format::Dump(DumpDialect::Postgres),
            InputErrorKind::TooLong(16),
            7,
            None,
            "a statement is too long",
        );
        assert_eq!(
            e.to_string(),
            "invalid SQL at line 7: a statement is too long (the limit is \
             16 bytes)"
        );
        let io = e.clone().into_io();
        assert_eq!(io.kind(), io::ErrorKind::InvalidData);
        assert_eq!(InputError::in_io(&io), Some(&e));
        let other = io::Error::new(io::ErrorKind::InvalidData, "utf-8");
        assert_eq!(InputError::in_io(&other), None);
    }
}
