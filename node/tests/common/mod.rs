//! Running the `allmende` binary as a user does, shared by the command-line test files.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `allmende --data-dir DIR ARGS…` with a clean environment for data dir and logging.
pub fn allmende(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_allmende"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("ALLMENDE_DATA_DIR")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// Runs a command that must succeed; returns its standard output.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = allmende(dir, args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
