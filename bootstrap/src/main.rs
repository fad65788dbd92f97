//! `allmende-bootstrap`: a well-known Allmende peer for discovery and relaying.
//!
//! It runs the same node as `allmende run` (it stores and serves the catalog, which speeds
//! up catch-up), with the relay server switched on and no organisation identity. At start it
//! prints every address others should use, with `/p2p/<peer id>`, one per line.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use allmende_node::cli::NetArgs;
use allmende_node::node::{Node, NodeConfig, dial_addresses, shutdown_signal};
use clap::Parser;

/// A well-known Allmende peer for discovery and relaying.
#[derive(Debug, Parser)]
#[command(name = "allmende-bootstrap", version, about)]
struct Args {
    /// Data directory (store and node key).
    #[arg(long, env = "ALLMENDE_BOOTSTRAP_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Network flags.
    #[command(flatten)]
    net: NetArgs,
    /// Serve the status API here (off by default).
    #[arg(long, env = "ALLMENDE_HTTP", value_name = "HOST:PORT")]
    http: Option<std::net::SocketAddr>,
    /// Log filter.
    #[arg(long, env = "ALLMENDE_LOG", default_value = "info")]
    log: String,
    /// Log line format.
    #[arg(long, env = "ALLMENDE_LOG_FORMAT", default_value = "human")]
    log_format: allmende_node::config::LogFormat,
}

fn main() -> ExitCode {
    let args = Args::parse();
    allmende_node::init_tracing(&args.log, args.log_format);
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let data_dir = match args.data_dir {
        Some(d) => d,
        None => allmende_node::datadir::default_data_dir()?.with_file_name("allmende-bootstrap"),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let node = Node::spawn(NodeConfig {
            data_dir,
            identity_file: None,
            net: args.net.to_config(true),
            http: args.http,
            trust_anchors: vec![],
            quarantine: Default::default(),
            demo: false,
        })
        .await?;
        let mut out = std::io::stdout().lock();
        for addr in dial_addresses(&node).await {
            writeln!(out, "{addr}")?;
        }
        out.flush()?;
        drop(out);
        shutdown_signal().await;
        node.shutdown().await;
        Ok(())
    })
}
