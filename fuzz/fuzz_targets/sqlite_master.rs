//! The parsers of sqlite_master's SQL text on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| schemactl::fuzz::sqlite_master(data));
