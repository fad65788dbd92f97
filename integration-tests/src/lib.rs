//! Helpers shared by Allmende's multi-process and end-to-end tests.
//!
//! The binaries in `src/bin/` are test fixtures driven by the tests in `tests/`.
