//! Per-column classification: which entity a column (CSV header, table
//! column, JSON path with array indices folded) holds, from the findings of
//! many rows. This is what a data owner reads first: "patients.ssn: SSN in
//! 99.7% of 120,000 rows".

use std::collections::BTreeMap;

use crate::Entity;

/// The default share of rows an entity needs for a column to be
/// classified as that entity.
pub const DEFAULT_CLASSIFY_THRESHOLD: f64 = 0.5;

#[derive(Clone, Debug, Default)]
struct Column {
    rows: u64,
    rows_with_findings: u64,
    /// Per entity: rows holding it, and the sum of their best scores.
    entities: BTreeMap<Entity, (u64, f64)>,
}

/// Accumulates findings per column, row by row.
///
/// ```
/// use phisafe::Entity;
/// use phisafe::classify::Classifier;
///
/// let mut c = Classifier::new();
/// for row in 0..10 {
///     let found = if row < 9 { vec![(Entity::Ssn, 0.9)] } else { vec![] };
///     c.observe("patients.ssn", found);
/// }
/// let s = &c.summaries()[0];
/// assert_eq!((s.rows(), s.rows_with_findings()), (10, 9));
/// assert_eq!(s.classification(), Some(Entity::Ssn));
/// ```
#[derive(Clone, Debug)]
pub struct Classifier {
    threshold: f64,
    columns: BTreeMap<String, Column>,
}

impl Default for Classifier {
    fn default() -> Classifier {
        Classifier::new()
    }
}

impl Classifier {
    /// A classifier with the default threshold.
    pub fn new() -> Classifier {
        Classifier::with_threshold(DEFAULT_CLASSIFY_THRESHOLD)
    }

    /// A classifier whose columns are classified when one entity is in at
    /// least `threshold` (0 to 1) of their rows.
    pub fn with_threshold(threshold: f64) -> Classifier {
        Classifier { threshold, columns: BTreeMap::new() }
    }

    /// Records one row's value of `column` and the findings in it (entity
    /// and score; several findings of one entity count once, at the best
    /// score).
    pub fn observe<I>(&mut self, column: &str, findings: I)
    where
        I: IntoIterator<Item = (Entity, f32)>,
    {
        if !self.columns.contains_key(column) {
            self.columns.insert(column.to_string(), Column::default());
        }
        let col = self.columns.get_mut(column).expect("inserted above");
        col.rows += 1;
        let mut best: BTreeMap<Entity, f32> = BTreeMap::new();
        for (e, s) in findings {
            let b = best.entry(e).or_insert(s);
            *b = b.max(s);
        }
        if !best.is_empty() {
            col.rows_with_findings += 1;
        }
        for (e, s) in best {
            let slot = col.entities.entry(e).or_default();
            slot.0 += 1;
            slot.1 += f64::from(s);
        }
    }

    /// Adds counts gathered elsewhere, as [`Classifier::counts`] gives
    /// them (a distributed job sums them per column and entity): `rows`
    /// values, `rows_with_findings` of them with findings, and per entity
    /// the rows holding it and the sum of its best score per row.
    ///
    /// ```
    /// use phisafe::Entity;
    /// use phisafe::classify::Classifier;
    ///
    /// let mut c = Classifier::new();
    /// c.add("patients.ssn", 10, 9, [(Entity::Ssn, 9, 8.1)]);
    /// let s = &c.summaries()[0];
    /// assert_eq!(s.classification(), Some(Entity::Ssn));
    /// assert!((s.entities()[0].mean_score - 0.9).abs() < 1e-9);
    /// ```
    pub fn add<I>(
        &mut self,
        column: &str,
        rows: u64,
        rows_with_findings: u64,
        entities: I,
    ) where
        I: IntoIterator<Item = (Entity, u64, f64)>,
    {
        let col = self.columns.entry(column.to_string()).or_default();
        col.rows += rows;
        col.rows_with_findings += rows_with_findings;
        for (e, n, sum) in entities {
            let slot = col.entities.entry(e).or_default();
            slot.0 += n;
            slot.1 += sum;
        }
    }

    /// The raw counts per column, in column-name order, in the form
    /// [`Classifier::add`] takes: column, rows, rows with findings, and per
    /// entity its rows and score sum.
    pub fn counts(
        &self,
    ) -> impl Iterator<Item = (&str, u64, u64, Vec<(Entity, u64, f64)>)> {
        self.columns.iter().map(|(name, c)| {
            let entities =
                c.entities.iter().map(|(&e, &(n, s))| (e, n, s)).collect();
            (name.as_str(), c.rows, c.rows_with_findings, entities)
        })
    }

    /// Adds another classifier's counts (from another file or thread).
    pub fn merge(&mut self, other: Classifier) {
        for (name, rows, hits, entities) in other.counts() {
            self.add(name, rows, hits, entities);
        }
    }

    /// One summary per column, in column-name order.
    pub fn summaries(&self) -> Vec<ColumnSummary> {
        self.columns
            .iter()
            .map(|(name, c)| {
                let mut entities: Vec<EntityCount> = c
                    .entities
                    .iter()
                    .map(|(&entity, &(rows, sum))| EntityCount {
                        entity,
                        rows,
                        mean_score: sum / rows as f64,
                    })
                    .collect();
                entities.sort_by(|a, b| {
                    b.rows.cmp(&a.rows).then(a.entity.cmp(&b.entity))
                });
                let classification = entities
                    .first()
                    .filter(|top| {
                        top.rows as f64 >= self.threshold * c.rows as f64
                    })
                    .map(|top| top.entity);
                ColumnSummary {
                    column: name.clone(),
                    rows: c.rows,
                    rows_with_findings: c.rows_with_findings,
                    entities,
                    classification,
                }
            })
            .collect()
    }
}

/// How often one entity was found in a column.
#[derive(Clone, Debug, PartialEq)]
pub struct EntityCount {
    /// The entity.
    pub entity: Entity,
    /// Rows in which it was found.
    pub rows: u64,
    /// Mean of its best score per row.
    pub mean_score: f64,
}

/// What one column holds.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnSummary {
    column: String,
    rows: u64,
    rows_with_findings: u64,
    entities: Vec<EntityCount>,
    classification: Option<Entity>,
}

impl ColumnSummary {
    /// The column's name (`table.column`, a header, or a JSON path with
    /// `*` for array indices).
    pub fn column(&self) -> &str {
        &self.column
    }

    /// Rows in which the column had a value.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Rows in which something was found in the column.
    pub fn rows_with_findings(&self) -> u64 {
        self.rows_with_findings
    }

    /// `rows_with_findings / rows`.
    pub fn share(&self) -> f64 {
        if self.rows == 0 {
            0.0
        } else {
            self.rows_with_findings as f64 / self.rows as f64
        }
    }

    /// Entities found, most rows first.
    pub fn entities(&self) -> &[EntityCount] {
        &self.entities
    }

    /// The dominant entity, when its share of rows passes the threshold.
    pub fn classification(&self) -> Option<Entity> {
        self.classification
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dominant_entity_over_threshold() {
        let mut c = Classifier::with_threshold(0.6);
        for i in 0..10 {
            let found = match i {
                0..=5 => vec![(Entity::Phone, 0.8), (Entity::Phone, 0.9)],
                6 => vec![(Entity::Ssn, 0.5)],
                _ => vec![],
            };
            c.observe("contacts.phone", found);
        }
        c.observe("contacts.note", []);
        let s = c.summaries();
        assert_eq!(s[0].column(), "contacts.note");
        assert_eq!(s[0].classification(), None);
        let phone = &s[1];
        assert_eq!(phone.rows(), 10);
        assert_eq!(phone.rows_with_findings(), 7);
        assert!((phone.share() - 0.7).abs() < 1e-9);
        assert_eq!(phone.entities()[0].rows, 6);
        assert!((phone.entities()[0].mean_score - 0.9).abs() < 1e-6);
        // 6 of 10 rows is exactly the threshold.
        assert_eq!(phone.classification(), Some(Entity::Phone));
        let mut other = Classifier::with_threshold(0.6);
        other.observe("contacts.phone", []);
        c.merge(other);
        assert_eq!(c.summaries()[1].classification(), None);
    }

    #[test]
    fn counts_added_elsewhere_summarize_as_observed() {
        let mut observed = Classifier::new();
        let mut a = Classifier::new();
        let mut b = Classifier::new();
        for i in 0..30u32 {
            let found = match i % 3 {
                0 => vec![(Entity::Email, 0.9), (Entity::Person, 0.6)],
                1 => vec![(Entity::Email, 0.7)],
                _ => vec![],
            };
            observed.observe("t.c", found.clone());
            if i < 11 { &mut a } else { &mut b }.observe("t.c", found);
        }
        // Counts shipped as numbers (a Spark aggregation) and added up.
        let mut total = Classifier::new();
        for part in [&a, &b] {
            for (name, rows, hits, entities) in part.counts() {
                total.add(name, rows, hits, entities);
            }
        }
        let (want, got) = (observed.summaries(), total.summaries());
        assert_eq!(want.len(), 1);
        assert_eq!(got[0].rows(), 30);
        assert_eq!(got[0].rows_with_findings(), 20);
        assert_eq!(got[0].classification(), Some(Entity::Email));
        for (w, g) in want[0].entities().iter().zip(got[0].entities()) {
            assert_eq!((w.entity, w.rows), (g.entity, g.rows));
            assert!((w.mean_score - g.mean_score).abs() < 1e-9);
        }
    }
}
