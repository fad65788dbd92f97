//! Every input the fuzzers once crashed on (`fuzz/regressions/<target>/`, one file each, kept
//! after the fix) and every seed (`fuzz/seeds/`) replayed through its target. A target panics
//! on a bug, so this test fails if a fixed crash comes back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use integration_tests::fuzz::TARGETS;

fn replay(folder: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz")
        .join(folder);
    let mut n = 0;
    for (name, target) in TARGETS {
        let Ok(entries) = std::fs::read_dir(root.join(name)) else {
            continue;
        };
        let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            println!("{name}: {}", f.display());
            target(&bytes);
            n += 1;
        }
    }
    n
}

#[test]
fn kept_crash_inputs_stay_fixed() {
    println!("{} crash inputs replayed", replay("regressions"));
}

#[test]
fn seeds_run_clean() {
    assert!(replay("seeds") >= 5);
}
