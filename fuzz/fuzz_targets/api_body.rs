//! Fuzz target `api_body`: see `integration_tests::fuzz::api_body` for what it feeds and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| integration_tests::fuzz::api_body(data));
