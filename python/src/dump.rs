//! `phisafe.DumpReader`: a plain-SQL dump's rows, decoded by the core
//! parser, for loading its tables elsewhere (Spark DataFrames).

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::Mutex;

use phisafe::format::Format;
use phisafe::format::dump::{DumpDialect, DumpReader};
use pyo3::exceptions::PyStopIteration;
use pyo3::prelude::*;

use super::InputError;

/// One table row, as `next` returns it: table, column names, 1-based row
/// within the table, and the values (text; None for NULL).
type Row = (String, Vec<String>, u64, Vec<Option<String>>);

/// Iterates over the rows of a `pg_dump` or `mysqldump` plain-SQL file
/// (COPY blocks and INSERTs), decoded by phisafe's dump parser, in
/// bounded memory; gzip and zstd files are decompressed on the fly.
/// Values are text (bytea stays in its `\x...` form; bytes that are not
/// UTF-8 become U+FFFD).
#[pyclass(frozen, module = "phisafe", name = "DumpReader")]
pub struct PyDumpReader {
    rows: Mutex<DumpReader<BufReader<Box<dyn Read + Send>>>>,
}

impl std::fmt::Debug for PyDumpReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DumpReader").finish_non_exhaustive()
    }
}

#[pymethods]
impl PyDumpReader {
    /// Opens `path`; `dialect` is `auto` (what the file's header says,
    /// as the CLI decides), `postgres` or `mysql`.
    #[new]
    #[pyo3(signature = (path, dialect="auto"))]
    fn new(path: PathBuf, dialect: &str) -> PyResult<PyDumpReader> {
        let dialect = match dialect {
            "auto" => None,
            "postgres" => Some(DumpDialect::Postgres),
            "mysql" => Some(DumpDialect::Mysql),
            other => {
                return Err(InputError::new_err(format!(
                    "unknown dump dialect {other:?}: use auto, postgres or \
                     mysql"
                )));
            }
        };
        let file = File::open(&path).map_err(|e| {
            InputError::new_err(format!("cannot open {}: {e}", path.display()))
        })?;
        let input = phisafe::compress::decompressed(file).map_err(|e| {
            InputError::new_err(format!("cannot read {}: {e}", path.display()))
        })?;
        let mut input = BufReader::with_capacity(256 << 10, input);
        let dialect = match dialect {
            Some(d) => d,
            None => Format::dump_dialect(input.fill_buf().map_err(|e| {
                InputError::new_err(format!(
                    "cannot read {}: {e}",
                    path.display()
                ))
            })?),
        };
        let rows = DumpReader::new(input, dialect);
        Ok(PyDumpReader { rows: Mutex::new(rows) })
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Row> {
        py.detach(|| {
            let mut rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
            match rows.next_values() {
                None => Err(PyStopIteration::new_err(())),
                Some(Err(e)) => Err(InputError::new_err(e.to_string())),
                Some(Ok(r)) => Ok((
                    r.table.to_string(),
                    r.columns.iter().map(|c| c.to_string()).collect(),
                    r.row,
                    r.values
                        .into_iter()
                        .map(|v| {
                            v.map(|b| String::from_utf8_lossy(&b).into_owned())
                        })
                        .collect(),
                )),
            }
        })
    }
}
