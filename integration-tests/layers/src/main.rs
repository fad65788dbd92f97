//! `allmende-layers`: checks the workspace's layering (see the library's documentation) and
//! exits with status 1 on a violation. Run from anywhere inside the workspace.

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    match run() {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("allmende-layers: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<usize, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .output()
        .map_err(|e| format!("running {cargo} metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let meta = allmende_layers::parse_metadata(&String::from_utf8_lossy(&out.stdout))?;
    let rules = allmende_layers::rules(&meta)?;
    let mut violations = allmende_layers::check_crates(&meta, &rules);
    let roots = allmende_layers::library_roots(&meta);
    for (name, lib) in &roots {
        violations.extend(allmende_layers::check_modules(name, lib)?);
    }
    for v in &violations {
        eprintln!("layering violation: {v}");
    }
    if violations.is_empty() {
        println!(
            "layers ok: {} crates follow [workspace.metadata.layers]; no module circle in {} libraries",
            rules.len(),
            roots.len()
        );
    } else {
        eprintln!(
            "{} violation(s); the rules are in the workspace Cargo.toml, the reasons in docs/ARCHITECTURE.md",
            violations.len()
        );
    }
    Ok(violations.len())
}
