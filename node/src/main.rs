//! `allmende`: the node's command line.

use std::process::ExitCode;

use allmende_node::cli::{BadInput, Cli, run};
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    allmende_node::init_tracing(&cli.log);
    let mut stdout = std::io::stdout().lock();
    match run(cli, &mut stdout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<BadInput>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
