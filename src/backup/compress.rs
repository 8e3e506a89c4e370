//! Backup compression, streaming: zstd (the default) and gzip, hashing what is written or read
//! in the same pass.

use std::path::Path;

use super::Hashing;
use crate::error::{Error, Result};

/// How a backup file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
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

/// Compresses `from` into a new file `to`, streaming, fsyncs it and returns the sha256 of
/// what it wrote.
pub fn compress(from: &Path, to: &Path, c: Compression) -> Result<String> {
    let (input, output) = open_pair(from, to)?;
    // Buffers of 256 KiB: larger ones save no time (zstd keeps its own window) and the
    // compression may run beside SQLite's integrity check of the same copy.
    let output = Hashing::new(std::io::BufWriter::with_capacity(1 << 18, output));
    let w = |e| Error::io("compress into", to, e);
    let mut input = std::io::BufReader::with_capacity(1 << 18, input);
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
        Compression::None => {
            return Err(Error::InvalidArgument {
                what: format!("compress {}", crate::printable::path(&from)),
                message: "no compression was asked for".into(),
            });
        }
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
    let (input, output) = open_pair(from, to)?;
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

/// Opens `from` for reading and creates `to`, which must not exist yet (nothing is overwritten).
fn open_pair(from: &Path, to: &Path) -> Result<(std::fs::File, std::fs::File)> {
    let input = std::fs::File::open(from).map_err(|e| Error::io("read", from, e))?;
    let output = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)
        .map_err(|e| Error::io("create", to, e))?;
    Ok((input, output))
}
