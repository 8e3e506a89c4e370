//! `schemactl optimize`: PRAGMA optimize (or a full ANALYZE), and VACUUM after checking that
//! the disk has room for it and that nothing finds rows by a rowid VACUUM would renumber (a
//! stash, an external-content full-text index), with sizes before and after.

use std::path::Path;

use crate::error::{Error, Result};

/// What `optimize` is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The live database.
    pub database: std::path::PathBuf,
    /// Run VACUUM.
    pub vacuum: bool,
    /// Run a full ANALYZE instead of PRAGMA optimize.
    pub analyze: bool,
    /// Wait for another schemactl instead of refusing.
    pub wait: bool,
}

/// Sizes before or after.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Sizes {
    /// The main file.
    pub file_bytes: u64,
    /// The `-wal` file.
    pub wal_bytes: u64,
    /// Pages on the freelist.
    pub freelist_pages: u64,
}

/// What `optimize` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// Sizes before.
    pub before: Sizes,
    /// Sizes after.
    pub after: Sizes,
    /// What ran, in order.
    pub ran: Vec<String>,
}

fn sizes(conn: &rusqlite::Connection, path: &Path) -> Result<Sizes> {
    Ok(Sizes {
        file_bytes: std::fs::metadata(path)
            .map_err(|e| Error::io("stat", path, e))?
            .len(),
        wal_bytes: crate::db::wal_bytes(path),
        freelist_pages: conn
            .query_row("PRAGMA freelist_count", [], |r| r.get::<_, i64>(0))
            .map(|n| u64::try_from(n).unwrap_or_default())
            .map_err(|e| Error::sqlite("read freelist_count", e))?,
    })
}

/// Free bytes on the file system holding `path`.
pub fn free_space(path: &Path) -> Option<u64> {
    crate::db::file_system(path).map(|(_, free)| free)
}

/// Runs the optimizations.
pub fn optimize(opts: &Options, say: &mut dyn FnMut(&str)) -> Result<Report> {
    crate::db::must_exist(&opts.database)?;
    let _lock = crate::db::lock::acquire(&opts.database, opts.wait, &mut |m| say(m))?;
    let conn = crate::db::open_live(&opts.database)?;
    let before = sizes(&conn, &opts.database)?;
    let mut ran = Vec::new();
    if opts.vacuum {
        // VACUUM renumbers the rowids of a table without an INTEGER PRIMARY KEY: a stash
        // that finds rows by rowid would lose them, or find others.
        let stashes = crate::apply::stash::renumbered_by_vacuum(&conn)?;
        if !stashes.is_empty() {
            return Err(Error::VacuumWouldMisplace { stashes });
        }
        // So does an external-content full-text index: its rowids are its content table's.
        crate::ops::fts::refuse_vacuum(&crate::inspect(&conn)?)?;
        // VACUUM writes a temporary copy of the database and journals the rewrite of the
        // original (or writes it to the WAL): about twice the file.
        let need = (before.file_bytes + before.wal_bytes).saturating_mul(2);
        let dir = opts
            .database
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let temp = std::env::temp_dir();
        let short = [dir, temp.as_path()].into_iter().find_map(|place| {
            free_space(place)
                .filter(|free| *free < need)
                .map(|free| (place, free))
        });
        if let Some((place, free)) = short {
            return Err(Error::NoSpace {
                place: place.to_path_buf(),
                need,
                free,
            });
        }
        say("vacuuming ...");
        conn.execute_batch("VACUUM")
            .map_err(|e| Error::sqlite("VACUUM", e))?;
        ran.push("VACUUM".to_string());
    }
    if opts.analyze {
        say("analyzing ...");
        conn.execute_batch("ANALYZE")
            .map_err(|e| Error::sqlite("ANALYZE", e))?;
        ran.push("ANALYZE".to_string());
    } else {
        conn.execute_batch("PRAGMA optimize")
            .map_err(|e| Error::sqlite("PRAGMA optimize", e))?;
        ran.push("PRAGMA optimize".to_string());
    }
    if opts.vacuum {
        // Fold the WAL back so the size after says what VACUUM saved.
        let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
    }
    let after = sizes(&conn, &opts.database)?;
    Ok(Report { before, after, ran })
}
