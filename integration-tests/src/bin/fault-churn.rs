//! Churn harness: nodes on 127.0.0.1 restarted and partitioned at random while they keep
//! writing, then healed; all must converge with nothing lost (see
//! `integration_tests::fault::churn` and `docs/testing.md`).
//!
//! ```text
//! fault-churn [--nodes 10] [--secs 60] [--seed N] [--write-ms 100] [--fault-ms 1500]
//!             [--partition-chance 0.3] [--converge-secs 60] [--markdown FILE]
//! ```
//! Prints the seed first, one line per fault, then a result table; exits 1 on a divergence,
//! a lost write or no convergence within the bound.

use std::time::Duration;

use anyhow::{Context, bail};
use integration_tests::fault::{self, churn};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut p = churn::Params {
        seed: fault::clock_seed(),
        ..churn::Params::default()
    };
    let mut markdown = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--nodes" => p.nodes = value()?.parse()?,
            "--secs" => p.secs = value()?.parse()?,
            "--seed" => p.seed = value()?.parse()?,
            "--write-ms" => p.write_ms = value()?.parse()?,
            "--fault-ms" => p.fault_ms = value()?.parse()?,
            "--partition-chance" => p.partition_chance = value()?.parse()?,
            "--converge-secs" => p.converge = Duration::from_secs(value()?.parse()?),
            "--markdown" => markdown = Some(value()?),
            "-h" | "--help" => {
                println!(
                    "fault-churn [--nodes N] [--secs S] [--seed N] [--write-ms MS] [--fault-ms MS] [--partition-chance P] [--converge-secs S] [--markdown FILE]"
                );
                return Ok(());
            }
            other => bail!("unknown argument {other:?} (see --help)"),
        }
    }
    if p.nodes == 0 {
        bail!("--nodes must be at least 1");
    }
    let report = churn::run(p.clone(), &mut std::io::stderr()).await?;
    let table = report.summary(&p).markdown();
    println!("{table}");
    if let Some(file) = markdown {
        std::fs::write(file, &table)?;
    }
    if !report.passed() {
        bail!("churn FAILED (seed {})", p.seed);
    }
    Ok(())
}
