//! [`scan_tables`]: which columns of a live database hold PHI, through
//! the same detection engine as files, before anything is encrypted.

use std::collections::BTreeMap;

use phisafe::Scanner;
use phisafe::classify::Classifier;
use sqlx::{AnyPool, Row as _};

use crate::backend::Dialect;
use crate::{Error, dialect_of};

/// Lists the user tables and their text-like columns: `(table, columns)`,
/// with `table` qualified by schema in PostgreSQL. phisafe's own tables
/// and binary columns (where ciphertext lives) are left out.
async fn tables(
    pool: &AnyPool,
    dialect: Dialect,
) -> Result<BTreeMap<String, Vec<String>>, Error> {
    let sql = match dialect {
        Dialect::Postgres => {
            // information_schema uses domain types (`name`) Any cannot
            // read: cast to text.
            "SELECT CAST(c.table_schema || '.' || c.table_name AS TEXT), \
             CAST(c.column_name AS TEXT), CAST(c.data_type AS TEXT) \
             FROM information_schema.columns c JOIN information_schema.tables t \
             ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
             WHERE t.table_type = 'BASE TABLE' \
             AND c.table_schema NOT IN ('pg_catalog', 'information_schema', 'phisafe') \
             ORDER BY 1, c.ordinal_position"
        }
        Dialect::Sqlite => {
            "SELECT m.name, p.name, p.type FROM sqlite_master m \
             JOIN pragma_table_info(m.name) p WHERE m.type = 'table' \
             AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
             AND m.name NOT LIKE 'phisafe\\_%' ESCAPE '\\' \
             AND m.name NOT LIKE '\\_%migrations' ESCAPE '\\' \
             ORDER BY m.name, p.cid"
        }
    };
    let rows: Vec<(String, String, String)> =
        sqlx::query_as(sql).fetch_all(pool).await?;
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (table, column, ty) in rows {
        let ty = ty.to_ascii_lowercase();
        if ty.contains("bytea") || ty.contains("blob") {
            continue;
        }
        out.entry(table).or_default().push(column);
    }
    Ok(out)
}

fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Scans up to `sample` rows of each table (or of `only`, as `table` or
/// `schema.table`) and classifies each column by what it holds; column
/// names count as context ([`Scanner::scan_field`]), as CSV headers and
/// JSON keys do. Values are read as text; nothing is written.
pub async fn scan_tables(
    pool: &AnyPool,
    scanner: &Scanner,
    only: Option<&str>,
    sample: u64,
) -> Result<Classifier, Error> {
    let dialect = dialect_of(pool).await?;
    let mut all = tables(pool, dialect).await?;
    if let Some(t) = only {
        let qualified = match dialect {
            Dialect::Postgres if !t.contains('.') => format!("public.{t}"),
            _ => t.to_string(),
        };
        all.retain(|name, _| *name == qualified);
        if all.is_empty() {
            return Err(Error::Invalid(format!("no table {t}")));
        }
    }
    let mut classifier = Classifier::new();
    for (table, columns) in &all {
        let quoted_table =
            table.split('.').map(ident).collect::<Vec<_>>().join(".");
        let list = columns
            .iter()
            .map(|c| format!("CAST({} AS TEXT)", ident(c)))
            .collect::<Vec<_>>()
            .join(", ");
        // Identifiers come from the catalog and are quoted; the limit is
        // a number.
        let sql = format!("SELECT {list} FROM {quoted_table} LIMIT {sample}");
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?;
        // Named as a dump names them (`public.patients.ssn`), so that
        // `phisafe scan dump.sql` and `phisafe db scan` agree.
        let names: Vec<String> =
            columns.iter().map(|c| format!("{table}.{c}")).collect();
        for row in rows {
            for (i, c) in columns.iter().enumerate() {
                let Some(v) = row.try_get::<Option<String>, _>(i)? else {
                    continue; // NULL: not a value of the column
                };
                let found = scanner.scan_field(c, v.as_bytes());
                classifier.observe(
                    &names[i],
                    found.iter().map(|f| (f.entity(), f.score())),
                );
            }
        }
    }
    Ok(classifier)
}
