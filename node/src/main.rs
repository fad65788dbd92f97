//! `allmende`: the node's command line.

use std::process::ExitCode;

use allmende_node::cli::{BadInput, Cli, Command, run};
use allmende_node::config::Config;
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let cfg = match cli.settings() {
        Ok(c) => c,
        // `config check` reports on the file it is given, even when the default one is bad.
        Err(_) if matches!(cli.command, Command::Config(_)) => Config::default(),
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    allmende_node::init_tracing(&cfg.log.filter, cfg.log.format);
    let mut stdout = std::io::stdout().lock();
    match run(cli, &cfg, &mut stdout) {
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
