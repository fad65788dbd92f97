//! Hostile-peer harness: attackers send the attacks of issue 21 to four honest nodes on
//! 127.0.0.1 while these keep writing; nothing may be accepted, nothing may diverge, and
//! honest changes must keep propagating (see `integration_tests::fault::hostile` and
//! `docs/testing.md`).
//!
//! ```text
//! hostile-peer [--secs 60] [--baseline-secs 20] [--seed N] [--write-ms 200]
//!              [--phantom-docs 5000] [--max-attackers 600] [--settle-secs 60]
//!              [--only DecodeBomb,RequestFlood,...] [--markdown FILE]
//! ```
//! `--only` runs some of the attacks (names as in `hostile::Attack`), to see which costs what.
//! Prints the seed first, progress every 5 s, then the result tables; exits 1 if an attack
//! was accepted, a node diverged, an honest node was blocked, or an honest change did not
//! propagate (or none was measured under attack).

use std::time::Duration;

use anyhow::{Context, bail};
use integration_tests::fault::{self, hostile};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut p = hostile::Params {
        seed: fault::clock_seed(),
        ..hostile::Params::default()
    };
    let mut markdown = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--secs" => p.secs = value()?.parse()?,
            "--baseline-secs" => p.baseline_secs = value()?.parse()?,
            "--seed" => p.seed = value()?.parse()?,
            "--write-ms" => p.write_ms = value()?.parse()?,
            "--phantom-docs" => p.phantom_docs = value()?.parse()?,
            "--max-attackers" => p.max_attackers = value()?.parse()?,
            "--settle-secs" => p.settle = Duration::from_secs(value()?.parse()?),
            "--only" => {
                let names = value()?;
                p.kinds = names
                    .split(',')
                    .map(|n| {
                        hostile::Attack::ALL
                            .into_iter()
                            .find(|k| format!("{k:?}").eq_ignore_ascii_case(n.trim()))
                            .with_context(|| {
                                format!("no attack {n:?} (one of {:?})", hostile::Attack::ALL)
                            })
                    })
                    .collect::<anyhow::Result<_>>()?;
            }
            "--markdown" => markdown = Some(value()?),
            "-h" | "--help" => {
                println!(
                    "hostile-peer [--secs S] [--baseline-secs S] [--seed N] [--write-ms MS] [--phantom-docs N] [--max-attackers N] [--settle-secs S] [--only KIND,KIND] [--markdown FILE]"
                );
                return Ok(());
            }
            other => bail!("unknown argument {other:?} (see --help)"),
        }
    }
    if p.write_ms == 0 {
        bail!("--write-ms must be at least 1");
    }
    let report = hostile::run(p.clone(), &mut std::io::stderr()).await?;
    let tables = report.markdown(&p);
    println!("{tables}");
    if let Some(file) = markdown {
        std::fs::write(file, &tables)?;
    }
    if !report.passed() {
        bail!("hostile-peer FAILED (seed {})", p.seed);
    }
    Ok(())
}
