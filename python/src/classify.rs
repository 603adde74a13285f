//! `phisafe.Classifier`: the core's per-column classification, so that
//! Python callers (and Spark's executors and driver) apply the same rule
//! as the CLI instead of a copy of it.

use std::sync::Mutex;

use phisafe::classify::Classifier;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::{PyFinding, PyScanner, Texts, entity, pattern_error};

/// Counts findings per column, row by row, and says what each column
/// holds: the dominant entity once its share of rows reaches `threshold`.
#[pyclass(module = "phisafe", name = "Classifier")]
#[derive(Debug)]
pub struct PyClassifier {
    threshold: f64,
    inner: Mutex<Classifier>,
}

type Counts = Vec<(String, u64, u64, Vec<(String, u64, f64)>)>;

impl PyClassifier {
    fn with<T>(&self, f: impl FnOnce(&mut Classifier) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Records each of `rows` as one row of `column`.
    fn observe_rows(
        &self,
        column: &str,
        rows: Vec<Vec<(phisafe::Entity, f32)>>,
    ) {
        self.with(|c| {
            for found in rows {
                c.observe(column, found);
            }
        });
    }
}

#[pymethods]
impl PyClassifier {
    /// The default threshold is the core's
    /// (`phisafe::classify::DEFAULT_CLASSIFY_THRESHOLD`), written out so that
    /// Python's signature shows it.
    #[new]
    #[pyo3(signature = (threshold = 0.5))]
    fn new(threshold: f64) -> PyResult<PyClassifier> {
        if !(0.0..=1.0).contains(&threshold) {
            return Err(pattern_error(format!(
                "threshold {threshold} is not between 0 and 1"
            )));
        }
        Ok(PyClassifier {
            threshold,
            inner: Mutex::new(Classifier::with_threshold(threshold)),
        })
    }

    /// The share of rows an entity needs to classify a column.
    #[getter]
    fn threshold(&self) -> f64 {
        self.threshold
    }

    /// Records one row's value of `column` and its findings (several of
    /// one entity count once, at the best score).
    fn observe(
        &self,
        column: &str,
        findings: Vec<PyRef<'_, PyFinding>>,
    ) -> PyResult<()> {
        let found = pairs(&findings)?;
        self.with(|c| c.observe(column, found));
        Ok(())
    }

    /// `observe` for many rows of one column: `rows[i]` is row i's
    /// findings (as `Scanner.scan_many` returns them).
    fn observe_many(
        &self,
        column: &str,
        rows: &Bound<'_, PyList>,
    ) -> PyResult<()> {
        let mut all = Vec::with_capacity(rows.len());
        for row in rows.iter() {
            let findings: Vec<PyRef<'_, PyFinding>> = row.extract()?;
            all.push(pairs(&findings)?);
        }
        self.observe_rows(column, all);
        Ok(())
    }

    /// Scans `texts`, the values of `column` in many rows, with `scanner`
    /// (in parallel, as `Scanner.scan_many` does, with `field` as there)
    /// and records each as a row. Makes no `Finding` objects: the cheap
    /// way to classify columns of data.
    #[pyo3(signature = (column, scanner, texts, field=None))]
    fn observe_texts(
        &self,
        py: Python<'_>,
        column: &str,
        scanner: PyRef<'_, PyScanner>,
        texts: Texts<'_>,
        field: Option<&str>,
    ) -> PyResult<()> {
        let texts = texts.0;
        let rows = scanner.scan_pairs(py, &texts, field)?;
        self.observe_rows(column, rows);
        Ok(())
    }

    /// Adds counts gathered elsewhere, in the form `counts()` gives them.
    fn add(
        &self,
        column: &str,
        rows: u64,
        rows_with_findings: u64,
        entities: Vec<(String, u64, f64)>,
    ) -> PyResult<()> {
        let entities = entities
            .into_iter()
            .map(|(e, n, s)| Ok((entity(&e)?, n, s)))
            .collect::<PyResult<Vec<_>>>()?;
        self.with(|c| c.add(column, rows, rows_with_findings, entities));
        Ok(())
    }

    /// The raw counts, per column: `(column, rows, rows_with_findings,
    /// [(entity, rows, score_sum), ...])`, to ship and `add` elsewhere.
    fn counts(&self) -> Counts {
        self.with(|c| {
            c.counts()
                .map(|(name, rows, hits, entities)| {
                    let entities = entities
                        .into_iter()
                        .map(|(e, n, s)| (e.as_str().to_string(), n, s))
                        .collect();
                    (name.to_string(), rows, hits, entities)
                })
                .collect()
        })
    }

    /// Adds another classifier's counts.
    fn merge(&self, other: &PyClassifier) {
        // Copied first: `other` may be `self`.
        let theirs = other.with(|c| c.clone());
        self.with(|c| c.merge(theirs));
    }

    /// One dict per column, in column order: `column`, `rows`,
    /// `rows_with_findings`, `share`, `classification` (an entity name or
    /// None) and `entities` (`entity`, `rows`, `mean_score`; most rows
    /// first), the shape of the CLI's per-column summary.
    fn summaries<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let summaries = self.with(|c| c.summaries());
        summaries
            .iter()
            .map(|s| {
                let d = PyDict::new(py);
                d.set_item("column", s.column())?;
                d.set_item("rows", s.rows())?;
                d.set_item("rows_with_findings", s.rows_with_findings())?;
                d.set_item("share", s.share())?;
                d.set_item(
                    "classification",
                    s.classification().map(|e| e.as_str()),
                )?;
                let entities = s
                    .entities()
                    .iter()
                    .map(|e| {
                        let d = PyDict::new(py);
                        d.set_item("entity", e.entity.as_str())?;
                        d.set_item("rows", e.rows)?;
                        d.set_item("mean_score", e.mean_score)?;
                        Ok(d)
                    })
                    .collect::<PyResult<Vec<_>>>()?;
                d.set_item("entities", entities)?;
                Ok(d)
            })
            .collect()
    }

    fn __repr__(&self) -> String {
        let n = self.with(|c| c.counts().count());
        format!("Classifier(threshold={}, columns={n})", self.threshold)
    }
}

fn pairs(
    findings: &[PyRef<'_, PyFinding>],
) -> PyResult<Vec<(phisafe::Entity, f32)>> {
    findings.iter().map(|f| Ok((entity(&f.entity)?, f.score))).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_python_default_threshold_is_the_cores() {
        // `PyClassifier::new` spells the default out for its signature.
        assert!(
            (phisafe::classify::DEFAULT_CLASSIFY_THRESHOLD - 0.5).abs()
                < 1e-12
        );
    }
}
