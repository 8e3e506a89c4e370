//! Fuzzing entry points. The cargo-fuzz targets in `fuzz/` call these, and `tests/fuzz_corpus.rs`
//! replays every saved input through them on stable Rust, so a crash found once stays a
//! regression test. Each returns normally for any input: an error is a value, never a panic.

/// The DSL loader on arbitrary text (invalid UTF-8 is skipped: files are read as UTF-8 and
/// refused with a message before the loader sees them).
pub fn dsl(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::dsl::load_str("fuzz.yaml", text);
    }
}

/// The parsers of `sqlite_master.sql` text: every statement kind inspect reads.
pub fn sqlite_master(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = crate::parse::parse_table(text);
    let _ = crate::parse::parse_index(text);
    let _ = crate::parse::parse_view(text);
    let _ = crate::parse::parse_trigger(text);
    let _ = crate::parse::parse_virtual_table(text);
    let _ = crate::sql::canonical(text);
}
