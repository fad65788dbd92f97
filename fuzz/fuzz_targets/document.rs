//! Fuzz target `document`: see `integration_tests::fuzz::document` for what it feeds and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| integration_tests::fuzz::document(data));
