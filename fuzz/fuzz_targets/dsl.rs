//! The DSL loader on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| schemactl::fuzz::dsl(data));
