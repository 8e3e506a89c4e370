//! `schemactl stats`: sizes (per table and index, from dbstat), row counts, pages, the
//! freelist, the WAL and the schema version, for people, JSON and Prometheus.

use std::path::Path;

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::sql::quote_ident;

/// One table or index.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Object {
    /// Its name.
    pub name: String,
    /// `table` or `index`.
    pub kind: String,
    /// The table it belongs to.
    pub table: String,
    /// Bytes of the pages it uses.
    pub bytes: u64,
    /// Pages it uses.
    pub pages: u64,
    /// Rows (tables only).
    pub rows: Option<u64>,
}

/// The statistics of a database.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Stats {
    /// The database file.
    pub database: String,
    /// The main file's size in bytes.
    pub file_bytes: u64,
    /// The `-wal` file's size in bytes (0 when there is none).
    pub wal_bytes: u64,
    /// Page size in bytes.
    pub page_size: u64,
    /// Pages in the database.
    pub page_count: u64,
    /// Pages on the freelist (reclaimable by VACUUM).
    pub freelist_count: u64,
    /// The journal mode.
    pub journal_mode: String,
    /// The last applied migration's version, when schemactl manages the database.
    pub schema_version: Option<i32>,
    /// The last applied migration's name.
    pub last_migration: Option<String>,
    /// Every table and index, largest first.
    pub objects: Vec<Object>,
}

/// Reads the statistics of the database at `path` through `conn`.
pub fn stats(conn: &Connection, path: &Path) -> Result<Stats> {
    let pragma = |name: &'static str| -> Result<u64> {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, i64>(0))
            .map(|v| u64::try_from(v).unwrap_or_default())
            .map_err(Error::sqlite_in(name))
    };
    let file_bytes = std::fs::metadata(path)
        .map_err(|e| Error::io("stat", path, e))?
        .len();
    let wal_bytes = crate::db::wal_bytes(path);
    let journal_mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .map_err(Error::sqlite_in("journal_mode"))?;
    let mut stmt = conn
        .prepare(
            "SELECT d.name, coalesce(s.type, 'table'), coalesce(s.tbl_name, d.name), d.pgsize, d.pageno
               FROM dbstat AS d LEFT JOIN sqlite_schema AS s ON s.name = d.name
              WHERE d.aggregate = 1
              ORDER BY d.pgsize DESC, d.name",
        )
        .map_err(Error::sqlite_in("read dbstat"))?;
    let mut objects: Vec<Object> = stmt
        .query_map([], |r| {
            Ok(Object {
                name: r.get(0)?,
                kind: r.get(1)?,
                table: r.get(2)?,
                bytes: u64::try_from(r.get::<_, i64>(3)?).unwrap_or_default(),
                pages: u64::try_from(r.get::<_, i64>(4)?).unwrap_or_default(),
                rows: None,
            })
        })
        .map_err(Error::sqlite_in("read dbstat"))?
        .collect::<rusqlite::Result<_>>()
        .map_err(Error::sqlite_in("read dbstat"))?;
    for o in objects.iter_mut().filter(|o| o.kind == "table") {
        o.rows = conn
            .query_row(
                &format!("SELECT count(*) FROM {}", quote_ident(&o.name)),
                [],
                |r| r.get::<_, i64>(0),
            )
            .ok()
            .map(|n| u64::try_from(n).unwrap_or_default());
    }
    let applied = crate::migrations::history::applied(conn)?;
    Ok(Stats {
        database: path.display().to_string(),
        file_bytes,
        wal_bytes,
        page_size: pragma("page_size")?,
        page_count: pragma("page_count")?,
        freelist_count: pragma("freelist_count")?,
        journal_mode,
        schema_version: applied.last().map(|a| a.version),
        last_migration: applied
            .last()
            .map(|a| format!("V{}__{}", a.version, a.name)),
        objects,
    })
}

/// A size for people: bytes below 1 KiB, else one decimal in the largest binary unit (KiB,
/// MiB, GiB, TiB) that keeps the number under 1024, e.g. `512 B`, `1.5 KiB`, `12.0 MiB`.
/// [`parse_size`] reads it back (within half a unit of its last digit). JSON and Prometheus
/// keep exact bytes.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    // Rounded to one decimal, 1023.95 KiB would print as 1024.0 KiB: move up a unit first.
    while value >= 1023.95 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Parses a size: a number of bytes, or with a unit (KB, MB, GB, TB: powers of 1000; KiB,
/// MiB, GiB, TiB: powers of 1024), e.g. `1GB`, `512 MiB`.
pub fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size: give e.g. 1GB, 500MB or 1073741824"))?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" | "k" => 1e3,
        "mb" | "m" => 1e6,
        "gb" | "g" => 1e9,
        "tb" | "t" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "`{other}` is not a size unit: use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB"
            ));
        }
    };
    let bytes = number * factor;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(bytes as u64)
}

/// The statistics in Prometheus' text exposition format.
pub fn prometheus(s: &Stats) -> String {
    let label = |v: &str| {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    let db = label(&s.database);
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, samples: Vec<(String, u64)>| {
        out.push_str(&format!(
            "# HELP schemactl_{name} {help}\n# TYPE schemactl_{name} gauge\n"
        ));
        for (labels, value) in samples {
            out.push_str(&format!(
                "schemactl_{name}{{database=\"{db}\"{labels}}} {value}\n"
            ));
        }
    };
    gauge(
        "database_file_bytes",
        "Size of the database file.",
        vec![(String::new(), s.file_bytes)],
    );
    gauge(
        "database_wal_bytes",
        "Size of the -wal file.",
        vec![(String::new(), s.wal_bytes)],
    );
    gauge(
        "database_page_size_bytes",
        "Page size.",
        vec![(String::new(), s.page_size)],
    );
    gauge(
        "database_pages",
        "Pages in the database.",
        vec![(String::new(), s.page_count)],
    );
    gauge(
        "database_freelist_pages",
        "Pages on the freelist.",
        vec![(String::new(), s.freelist_count)],
    );
    gauge(
        "schema_version",
        "Last applied migration version (0 when none).",
        vec![(
            String::new(),
            s.schema_version
                .map_or(0, |v| u64::try_from(v).unwrap_or_default()),
        )],
    );
    gauge(
        "object_bytes",
        "Bytes used by a table or index.",
        s.objects
            .iter()
            .map(|o| {
                (
                    format!(
                        ",name=\"{}\",kind=\"{}\",table=\"{}\"",
                        label(&o.name),
                        label(&o.kind),
                        label(&o.table)
                    ),
                    o.bytes,
                )
            })
            .collect(),
    );
    gauge(
        "table_rows",
        "Rows in a table.",
        s.objects
            .iter()
            .filter_map(|o| {
                o.rows
                    .map(|r| (format!(",table=\"{}\"", label(&o.name)), r))
            })
            .collect(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn human_sizes_pick_the_unit_that_keeps_the_number_small() {
        let cases: [(u64, &str); 9] = [
            (0, "0 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (1536, "1.5 KiB"),
            (1024 * 1024 - 1, "1.0 MiB"),
            (12 * 1024 * 1024, "12.0 MiB"),
            (1_073_741_824, "1.0 GiB"),
            (5 * 1024u64.pow(4), "5.0 TiB"),
            (3000 * 1024u64.pow(4), "3000.0 TiB"),
        ];
        for (bytes, text) in cases {
            assert_eq!(human_size(bytes), text, "{bytes}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Any size reads back within 5% (exactly below 1 KiB), and its number stays under
        /// 1024 below the largest unit.
        #[test]
        fn human_sizes_read_back(bytes in prop_oneof![0u64..4096, any::<u64>(), 0u64..(1u64 << 45)]) {
            let text = human_size(bytes);
            let back = parse_size(&text).map_err(TestCaseError::fail)?;
            if bytes < 1024 {
                prop_assert_eq!(back, bytes);
            } else {
                let error = (back as f64 - bytes as f64).abs() / bytes as f64;
                prop_assert!(error <= 0.05, "{} -> {} -> {}", bytes, text, back);
            }
            let number: f64 = text.split(' ').next().unwrap_or_default().parse().unwrap_or(f64::MAX);
            prop_assert!(number < 1024.0 || text.ends_with("TiB"), "{}", text);
        }
    }
}
