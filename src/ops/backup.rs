//! Online backups: SQLite's backup API into a new file, its sha256, and a JSON manifest.
//!
//! The copy is taken in one step of the backup API, so it is one consistent snapshot of the
//! database even while an application writes to it (in WAL mode the writers go on; in
//! rollback-journal mode they wait for the copy). apply and rollback use this same code.

use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};
use sha2::{Digest, Sha256};

use crate::db::sibling;
use crate::error::{Error, Result};

/// How long a backup waits for a writer that holds the database.
pub const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// A backup that was taken.
#[derive(Debug, Clone)]
pub struct BackupFile {
    /// The backup database.
    pub path: PathBuf,
    /// Its manifest (`<backup>.json`).
    pub manifest: PathBuf,
    /// Its size in bytes.
    pub size: u64,
}

/// Returns the current UTC time as `YYYYMMDDTHHMMSSZ`, for file names.
pub fn timestamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    now.format(&format)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

/// Returns the current UTC time in RFC 3339, for manifests.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

/// Copies the `main` database of `source` into a new file in `dir`, named after `database`,
/// the time and `label`, and returns it. The file is fsynced; nothing is overwritten.
pub fn take(source: &Connection, database: &Path, dir: &Path, label: &str) -> Result<BackupFile> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create backup directory", dir, e))?;
    let stem = database
        .file_stem()
        .map_or("database".to_string(), |s| s.to_string_lossy().to_string());
    let base = format!("{stem}-{}-{label}", timestamp());
    // A name free in every compressed form too, so that compressing never meets a file.
    let taken = |p: &Path| {
        [Compression::None, Compression::Zstd, Compression::Gzip]
            .iter()
            .any(|c| sibling(p, c.suffix()).exists())
    };
    let mut path = dir.join(format!("{base}.db"));
    let mut n = 1;
    while taken(&path) {
        n += 1;
        path = dir.join(format!("{base}-{n}.db"));
    }
    let q = |e| {
        Error::sqlite(
            format!("back up {} to {}", database.display(), path.display()),
            e,
        )
    };
    // Created here first, so that a directory we may not write to is reported as such (and
    // a name taken meanwhile is never overwritten).
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| Error::io("create backup", &path, e))?;
    let copied = (|| {
        let mut dest = Connection::open(&path).map_err(q)?;
        let backup = Backup::new(source, &mut dest).map_err(q)?;
        // One step of every page: the whole database under one read transaction, so the copy
        // is one consistent snapshot. A writer holding the database makes it wait, boundedly.
        let deadline = std::time::Instant::now() + BUSY_WAIT;
        loop {
            match backup.step(-1).map_err(q)? {
                StepResult::Done => break,
                StepResult::More => {}
                _ if std::time::Instant::now() > deadline => {
                    return Err(Error::Usage(format!(
                        "back up {}: the database stayed busy for {} s; nothing was changed",
                        database.display(),
                        BUSY_WAIT.as_secs()
                    )));
                }
                _ => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
        drop(backup);
        drop(dest);
        let file = std::fs::File::open(&path).map_err(|e| Error::io("open backup", &path, e))?;
        file.sync_all()
            .map_err(|e| Error::io("sync backup", &path, e))?;
        Ok(file
            .metadata()
            .map_err(|e| Error::io("stat backup", &path, e))?
            .len())
    })();
    let size = match copied {
        Ok(size) => size,
        Err(e) => {
            // A failed copy (a full disk, say) leaves nothing behind.
            remove_with_sidecars(&path);
            return Err(e);
        }
    };
    let manifest = manifest_path(&path);
    Ok(BackupFile {
        path,
        manifest,
        size,
    })
}

/// Removes a database file and whatever SQLite or schemactl keeps beside it.
pub fn remove_with_sidecars(path: &Path) {
    for suffix in ["", "-journal", "-wal", "-shm", ".sha256", ".json"] {
        let _ = std::fs::remove_file(sibling(path, suffix));
    }
}

/// The manifest of a backup file.
pub fn manifest_path(backup: &Path) -> PathBuf {
    sibling(backup, ".json")
}

/// Returns the hex sha256 of a file, reading it in 1 MiB blocks.
pub fn sha256_file(path: &Path) -> Result<String> {
    let file = std::fs::File::open(path).map_err(|e| Error::io("read", path, e))?;
    let mut reader = Hashing::new(file);
    std::io::copy(&mut reader, &mut std::io::sink()).map_err(|e| Error::io("read", path, e))?;
    Ok(reader.hex())
}

/// A reader or writer that hashes every byte passing through it, so that a file is hashed
/// in the same pass that compresses or decompresses it.
pub struct Hashing<T> {
    inner: T,
    hasher: Sha256,
}

impl<T> Hashing<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// The hex sha256 of what passed through.
    pub fn hex(&self) -> String {
        self.hasher
            .clone()
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The wrapped reader or writer.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

impl<W: std::io::Write> std::io::Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Returns true when a database file is in WAL mode (file format bytes 18 and 19 are 2):
/// then a connection's uncommitted changes never reach the file itself.
pub fn is_wal(path: &Path) -> bool {
    let mut header = [0u8; 20];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .is_ok_and(|()| header[18] == 2 && header[19] == 2)
}

/// Writes a backup's manifest (JSON) next to it, with its sha256, and fsyncs it.
pub fn write_manifest(
    backup: &BackupFile,
    mut fields: serde_json::Value,
    sha256: &str,
) -> Result<()> {
    if let Some(map) = fields.as_object_mut() {
        map.insert("file".into(), backup.path.display().to_string().into());
        map.insert("size".into(), backup.size.into());
        map.insert("sha256".into(), sha256.into());
        map.insert("created_at".into(), now_rfc3339().into());
        map.insert("sqlite_version".into(), rusqlite::version().into());
    }
    let text = serde_json::to_string_pretty(&fields)
        .map_err(|e| Error::Usage(format!("manifest: {e}")))?;
    crate::migrations::write_new(&backup.manifest, &(text + "\n"))
}

/// How a backup file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// zstd, streaming (the default).
    #[default]
    Zstd,
    /// gzip, streaming.
    Gzip,
    /// A plain SQLite file.
    None,
}

impl Compression {
    /// The file name suffix after `.db`.
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::Zstd => ".zst",
            Compression::Gzip => ".gz",
            Compression::None => "",
        }
    }

    /// The compression of a backup file, from its name.
    pub fn of(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("zst") => Compression::Zstd,
            Some("gz") => Compression::Gzip,
            _ => Compression::None,
        }
    }
}

/// What `backup` is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The live database.
    pub database: PathBuf,
    /// Where backups go.
    pub dir: PathBuf,
    /// Compression.
    pub compress: Compression,
    /// A word in the file name (`manual`, `daily`, ...).
    pub label: String,
}

/// A finished backup: the file, its sidecar and manifest, and what they say.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Taken {
    /// The backup file.
    pub path: PathBuf,
    /// The sha256 of the file.
    pub sha256: String,
    /// The file's size.
    pub size: u64,
    /// The database's size (uncompressed).
    pub database_size: u64,
}

/// Returns the sidecar (`<file>.sha256`, in sha256sum's format) of a backup file.
pub fn sidecar_path(backup: &Path) -> PathBuf {
    sibling(backup, ".sha256")
}

/// Runs `PRAGMA integrity_check` on a database file; Err names the first problem.
pub fn integrity_check(path: &Path) -> Result<()> {
    // Opened read-write so that a WAL-mode copy cleans up its -wal and -shm when closed.
    let conn =
        Connection::open(path).map_err(|e| Error::sqlite(format!("open {}", path.display()), e))?;
    let result: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| Error::sqlite(format!("check {}", path.display()), e))?;
    if result == "ok" {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "{}: integrity_check failed: {result}",
            path.display()
        )))
    }
}

/// Takes a verified, optionally compressed backup with its sha256 sidecar and manifest.
pub fn backup(opts: &Options) -> Result<Taken> {
    crate::db::must_exist(&opts.database)?;
    let source = crate::apply::open_live(&opts.database)?;
    let raw = take(&source, &opts.database, &opts.dir, &opts.label)?;
    drop(source);
    let result = finish(opts, &raw);
    if result.is_err() {
        remove_with_sidecars(&raw.path);
        for c in [Compression::Zstd, Compression::Gzip] {
            remove_with_sidecars(&sibling(&raw.path, c.suffix()));
        }
    }
    result
}

/// Makes the copy self-contained, checks, compresses and hashes it, and writes its sidecar and
/// manifest. On error the caller removes whatever was written.
fn finish(opts: &Options, raw: &BackupFile) -> Result<Taken> {
    // A backup is one self-contained file: no WAL to go with it.
    Connection::open(&raw.path)
        .and_then(|c| {
            c.query_row("PRAGMA journal_mode = DELETE", [], |r| {
                r.get::<_, String>(0)
            })
        })
        .map_err(|e| Error::sqlite(format!("finish {}", raw.path.display()), e))?;
    let raw = BackupFile {
        size: std::fs::metadata(&raw.path)
            .map_err(|e| Error::io("stat", &raw.path, e))?
            .len(),
        ..raw.clone()
    };
    // The integrity check of the copy runs beside the pass that compresses and hashes it
    // (or only hashes it): two full reads of the copy, on two cores at once.
    let compressed = |c: Compression| sibling(&raw.path, c.suffix());
    let (checked, hashed) = std::thread::scope(|s| {
        let hashing = s.spawn(|| match opts.compress {
            Compression::None => sha256_file(&raw.path),
            c => compress(&raw.path, &compressed(c), c),
        });
        let checked = integrity_check(&raw.path);
        let hashed = hashing
            .join()
            .unwrap_or_else(|_| Err(Error::Usage("the checksum thread failed".into())));
        (checked, hashed)
    });
    let path = compressed(opts.compress);
    let sha256 = checked.and(hashed)?;
    if path != raw.path {
        let _ = std::fs::remove_file(&raw.path);
    }
    let size = std::fs::metadata(&path)
        .map_err(|e| Error::io("stat", &path, e))?
        .len();
    let file_name = path
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default();
    crate::migrations::write_new(&sidecar_path(&path), &format!("{sha256}  {file_name}\n"))?;
    let (version, last) = schema_version(&opts.database);
    let taken = BackupFile {
        path: path.clone(),
        manifest: manifest_path(&path),
        size,
    };
    write_manifest(
        &taken,
        serde_json::json!({
            "database": opts.database.display().to_string(),
            "reason": opts.label,
            "compression": opts.compress,
            "database_size": raw.size,
            "schema_version": version,
            "last_migration": last,
        }),
        &sha256,
    )?;
    Ok(Taken {
        path,
        sha256,
        size,
        database_size: raw.size,
    })
}

/// The applied version and last migration of a database, when it has a history.
fn schema_version(database: &Path) -> (Option<i32>, Option<String>) {
    let Ok(conn) = crate::db::open_read_only(database) else {
        return (None, None);
    };
    let applied = crate::apply::history::applied(&conn).unwrap_or_default();
    let last = applied
        .last()
        .map(|a| format!("V{}__{}", a.version, a.name));
    (applied.last().map(|a| a.version), last)
}

/// Compresses `from` into a new file `to`, streaming, fsyncs it and returns the sha256 of
/// what it wrote.
fn compress(from: &Path, to: &Path, c: Compression) -> Result<String> {
    let input = std::fs::File::open(from).map_err(|e| Error::io("read", from, e))?;
    let output = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)
        .map_err(|e| Error::io("create", to, e))?;
    let output = Hashing::new(std::io::BufWriter::with_capacity(1 << 20, output));
    let w = |e| Error::io("compress into", to, e);
    let mut input = std::io::BufReader::with_capacity(1 << 20, input);
    let output = match c {
        Compression::Zstd => {
            let mut encoder = zstd::stream::Encoder::new(output, 3).map_err(w)?;
            std::io::copy(&mut input, &mut encoder).map_err(w)?;
            encoder.finish().map_err(w)?
        }
        Compression::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(output, flate2::Compression::fast());
            std::io::copy(&mut input, &mut encoder).map_err(w)?;
            encoder.finish().map_err(w)?
        }
        Compression::None => return Err(Error::Usage("nothing to compress".into())),
    };
    let sha256 = output.hex();
    let file = output
        .into_inner()
        .into_inner()
        .map_err(|e| w(e.into_error()))?;
    file.sync_all().map_err(w)?;
    Ok(sha256)
}

/// Decompresses a backup into a new plain database file `to` (a copy when not compressed),
/// and returns the sha256 of the backup file as read.
pub fn decompress(from: &Path, to: &Path) -> Result<String> {
    let input = std::fs::File::open(from).map_err(|e| Error::io("read", from, e))?;
    let output = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)
        .map_err(|e| Error::io("create", to, e))?;
    let mut output = std::io::BufWriter::with_capacity(1 << 20, output);
    let r = |e| Error::io("decompress", from, e);
    let mut reader = std::io::BufReader::with_capacity(1 << 20, Hashing::new(input));
    match Compression::of(from) {
        Compression::Zstd => zstd::stream::copy_decode(&mut reader, &mut output).map_err(r)?,
        Compression::Gzip => {
            std::io::copy(&mut flate2::read::GzDecoder::new(&mut reader), &mut output)
                .map_err(r)?;
        }
        Compression::None => {
            std::io::copy(&mut reader, &mut output).map_err(r)?;
        }
    }
    // Whatever the decoder left unread still counts towards the checksum.
    std::io::copy(&mut reader, &mut std::io::sink()).map_err(r)?;
    let sha256 = reader.get_ref().hex();
    let output = output.into_inner().map_err(|e| r(e.into_error()))?;
    output.sync_all().map_err(|e| Error::io("sync", to, e))?;
    Ok(sha256)
}
