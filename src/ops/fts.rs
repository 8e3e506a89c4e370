//! Full-text indexes whose rows live in another table (`content=...`): they find those rows by
//! rowid, so they must stay in step with it. `optimize --vacuum` refuses while VACUUM would
//! renumber the rowids such an index holds (a content table without an INTEGER PRIMARY KEY),
//! and `check` runs each one's own `integrity-check` against its content table.

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};
use crate::model::Schema;
pub use crate::sql::virtual_table::ExternalIndex;
use crate::sql::virtual_table::{ROWID_NAMES, external_index, module_args, option};
use crate::sql::{Tok, quote_ident};

/// Every fts table of `schema` declared with a non-empty `content=` option.
pub fn external_indexes(schema: &Schema) -> Vec<ExternalIndex> {
    schema
        .virtual_tables
        .iter()
        .filter_map(|v| external_index(&v.name, v.sql.as_str()))
        .collect()
}

/// The fts tables of `schema` declared with `content=''` (contentless: they keep no copy of
/// the text, so no `rebuild` can index rows again), each with the first trigger on `table`
/// whose body names it (the trigger that keeps it in step with `table`).
pub fn contentless_fed_by(schema: &Schema, table: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for v in &schema.virtual_tables {
        let Some((module, args)) = module_args(v.sql.as_str()) else {
            continue;
        };
        if !matches!(
            module.to_ascii_lowercase().as_str(),
            "fts3" | "fts4" | "fts5"
        ) {
            continue;
        }
        let contentless = option(&args, "content").is_some_and(|c| c.is_empty());
        if !contentless {
            continue;
        }
        let feeder = schema.triggers.iter().find(|t| {
            t.table.eq_ignore_ascii_case(table)
                && crate::sql::lex(t.sql.as_str()).is_ok_and(|tokens| {
                    tokens
                        .iter()
                        .filter_map(Tok::word)
                        .any(|w| w.eq_ignore_ascii_case(&v.name))
                })
        });
        if let Some(trigger) = feeder {
            out.push((v.name.to_string(), trigger.name.to_string()));
        }
    }
    out
}

/// What a view reads, through the views it reads in turn: the tables (as the schema spells
/// them), and whether any of those views names a rowid (`rowid`, `oid`, `_rowid_`). Read from
/// the views' words: a word that names a table counts, wherever it stands (a name in a
/// string literal does not), so a view may be said to read a table it does not; never the
/// other way round.
fn view_reads(schema: &Schema, view: &str) -> (Vec<String>, bool) {
    let mut seen: Vec<String> = Vec::new();
    let mut queue = vec![view.to_string()];
    let mut tables: Vec<String> = Vec::new();
    let mut rowid = false;
    while let Some(name) = queue.pop() {
        if seen.iter().any(|s| s.eq_ignore_ascii_case(&name)) {
            continue;
        }
        seen.push(name.clone());
        let Some(v) = schema
            .views
            .iter()
            .find(|v| v.name.as_str().eq_ignore_ascii_case(&name))
        else {
            continue;
        };
        let Ok(tokens) = crate::sql::lex(v.select.as_str()) else {
            // A view that does not lex reads anything: every table.
            tables.extend(schema.tables.iter().map(|t| t.name.to_string()));
            rowid = true;
            continue;
        };
        // Names in every spelling (`FROM 'a'`); a rowid only as a word (a string is a value).
        for t in &tokens {
            let Some(w) = t.name() else { continue };
            if t.word().is_some() && ROWID_NAMES.iter().any(|r| w.eq_ignore_ascii_case(r)) {
                rowid = true;
            }
            if let Some(t) = schema.table(w) {
                if !tables.iter().any(|x| x.eq_ignore_ascii_case(&t.name)) {
                    tables.push(t.name.to_string());
                }
            } else if schema
                .views
                .iter()
                .any(|v| v.name.as_str().eq_ignore_ascii_case(w))
            {
                queue.push(w.to_string());
            }
        }
    }
    (tables, rowid)
}

/// The external-content indexes whose content is `table`, or a view that reads it (see
/// [`view_reads`]): restoring rows into `table` with its triggers suspended leaves them out of
/// step until they are rebuilt.
pub fn over_table(schema: &Schema, table: &str) -> Vec<ExternalIndex> {
    external_indexes(schema)
        .into_iter()
        .filter(|ix| {
            ix.content.eq_ignore_ascii_case(table)
                || view_reads(schema, &ix.content)
                    .0
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(table))
        })
        .collect()
}

/// Rebuilds an external-content index from its content (inside the caller's transaction).
pub fn rebuild(conn: &Connection, ix: &ExternalIndex) -> Result<()> {
    let t = quote_ident(&ix.name);
    conn.execute_batch(&format!("INSERT INTO {t}({t}) VALUES('rebuild')"))
        .map_err(|e| Error::sqlite(format!("rebuild the full-text index \"{}\"", ix.name), e))
}

/// Whether VACUUM can renumber the rows of `table`: a rowid table without an INTEGER PRIMARY
/// KEY (a column named like the rowid shadows it: `shadowed` is that name, when there is one).
fn renumbered(schema: &Schema, table: &str, shadowed: Option<&str>) -> bool {
    schema.table(table).is_some_and(|t| {
        !t.without_rowid
            && t.rowid_alias().is_none()
            && shadowed.is_none_or(|name| t.column(name).is_none())
    })
}

/// The external-content indexes whose rowids VACUUM would renumber, each as
/// `"i" (content table "t")` or `"i" (content view "v", over table "t")`: those whose content
/// table is a rowid table without an INTEGER PRIMARY KEY and whose rowid is the table's own;
/// and those whose content is a view that names a rowid (`rowid`, `oid`, `_rowid_`) and reads
/// such a table, directly or through other views (what the view calls its rowid cannot be
/// proved to be anything but that table's rowid).
pub fn renumbered_by_vacuum(schema: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    for ix in external_indexes(schema) {
        let rowid = ix.reads_rowid();
        if schema.table(&ix.content).is_some() {
            if rowid && renumbered(schema, &ix.content, Some(&ix.content_rowid)) {
                out.push(format!(
                    "\"{}\" (content table \"{}\")",
                    ix.name, ix.content
                ));
            }
            continue;
        }
        let (tables, names_rowid) = view_reads(schema, &ix.content);
        let under: Vec<String> = tables
            .iter()
            .filter(|t| renumbered(schema, t, None))
            .map(|t| format!("\"{t}\""))
            .collect();
        if names_rowid && !under.is_empty() {
            out.push(format!(
                "\"{}\" (content view \"{}\", over table {} without an INTEGER PRIMARY KEY)",
                ix.name,
                ix.content,
                under.join(", ")
            ));
        }
    }
    out
}

/// Runs each external-content index's own `integrity-check` against its content table, in a
/// transaction that is always rolled back (the check is written as an INSERT, so it needs a
/// read-write connection and, while it runs, the write lock: it waits for it at most
/// `busy`). Returns, per index, what it found wrong: Ok(Some(why)) out of step, Err(why) when
/// it could not be checked.
pub fn out_of_step(
    database: &std::path::Path,
    schema: &Schema,
    busy: std::time::Duration,
) -> Vec<(ExternalIndex, std::result::Result<String, String>)> {
    let indexes = external_indexes(schema);
    if indexes.is_empty() {
        return Vec::new();
    }
    let conn = match Connection::open_with_flags(
        database,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) {
        Ok(c) => c,
        Err(e) => {
            let why = format!("it cannot be opened for its integrity-check: {e}");
            return indexes.into_iter().map(|i| (i, Err(why.clone()))).collect();
        }
    };
    let _ = conn.busy_timeout(busy);
    let mut out = Vec::new();
    for ix in indexes {
        match integrity_check(&conn, &ix) {
            Ok(None) => {}
            Ok(Some(why)) => out.push((ix, Ok(why))),
            Err(why) => out.push((ix, Err(why))),
        }
    }
    out
}

/// One index's integrity-check, rolled back: Ok(Some) when the index is out of step.
fn integrity_check(
    conn: &Connection,
    ix: &ExternalIndex,
) -> std::result::Result<Option<String>, String> {
    let t = quote_ident(&ix.name);
    let sql = if ix.module == "fts5" {
        format!("INSERT INTO {t}({t}, rank) VALUES('integrity-check', 1)")
    } else {
        format!("INSERT INTO {t}({t}) VALUES('integrity-check')")
    };
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| format!("its integrity-check could not start: {e}"))?;
    let result = conn.execute_batch(&sql);
    let _ = conn.execute_batch("ROLLBACK");
    match result {
        Ok(()) => Ok(None),
        Err(e) if crate::backup::is_corrupt_sqlite(&e) => Ok(Some(format!(
            "full-text index \"{}\" is out of step with its content table \"{}\" ({e}): rebuild it with INSERT INTO {t}({t}) VALUES('rebuild')",
            ix.name, ix.content
        ))),
        Err(e) => Err(format!("its integrity-check failed: {e}")),
    }
}

/// Refuses a VACUUM that would renumber the rowids an external-content index holds.
pub fn refuse_vacuum(schema: &Schema) -> Result<()> {
    let indexes = renumbered_by_vacuum(schema);
    if indexes.is_empty() {
        Ok(())
    } else {
        Err(Error::VacuumWouldBreakIndex { indexes })
    }
}
