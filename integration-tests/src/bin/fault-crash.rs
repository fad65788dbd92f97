//! Crash-consistency harness: kills an `allmende run` process catching up from a peer with
//! SIGKILL at random moments and checks its store after every kill (see
//! `integration_tests::fault::crash` and `docs/testing.md`).
//!
//! ```text
//! fault-crash [--rounds 20] [--seed N] [--initial 1500] [--batch 1000] [--converge-secs 300]
//!             [--markdown FILE]
//! ```
//! Prints the seed first, one line per round, then a result table; exits 1 when anything
//! acknowledged was lost, a check failed or the node did not converge.

use std::time::Duration;

use anyhow::{Context, bail};
use integration_tests::fault::{self, crash};

fn main() -> anyhow::Result<()> {
    let mut p = crash::Params {
        seed: fault::clock_seed(),
        ..crash::Params::default()
    };
    let mut markdown = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--rounds" => p.rounds = value()?.parse()?,
            "--seed" => p.seed = value()?.parse()?,
            "--initial" => p.initial = value()?.parse()?,
            "--batch" => p.batch = value()?.parse()?,
            "--converge-secs" => p.converge = Duration::from_secs(value()?.parse()?),
            "--markdown" => markdown = Some(value()?),
            "-h" | "--help" => {
                println!(
                    "fault-crash [--rounds N] [--seed N] [--initial CHANGES] [--batch CHANGES] [--converge-secs S] [--markdown FILE]"
                );
                return Ok(());
            }
            other => bail!("unknown argument {other:?} (see --help)"),
        }
    }
    let allmende = fault::allmende_bin()?;
    let report = crash::run(&allmende, p, &mut std::io::stderr())?;
    let table = report.summary().markdown();
    println!("{table}");
    if let Some(file) = markdown {
        std::fs::write(file, &table)?;
    }
    if !report.passed() {
        bail!("crash consistency FAILED (seed {})", report.params.seed);
    }
    Ok(())
}
