//! `allmende-bootstrap`: a well-known Allmende peer for discovery and relaying.
//!
//! The peer-to-peer layer it runs on is not built yet (network issue). Until then the
//! binary says so and exits with a failure code instead of pretending to serve.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "allmende-bootstrap {}: the peer-to-peer network layer is not built yet; \
         nothing to serve. See docs/ARCHITECTURE.md.",
        env!("CARGO_PKG_VERSION")
    );
    ExitCode::FAILURE
}
