//! `allmende-bootstrap`: a well-known Allmende peer for discovery and relaying.
//!
//! It runs the same node as `allmende run` (it stores and serves the catalog, which speeds
//! up catch-up), with the relay server switched on and no organisation identity. With
//! `--network FILE` it follows the anchors of the network's manifest, and keeps and passes on
//! only what they vouch for; without, it runs in open mode and stores what every key signs.
//! At start it prints every address others should use, with `/p2p/<peer id>`, one per line.

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
    /// The network's manifest: follow its trust anchors and quarantine bounds (without it,
    /// open mode).
    #[arg(long, env = "ALLMENDE_NETWORK", value_name = "FILE")]
    network: Option<PathBuf>,
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
    let manifest = args
        .network
        .as_deref()
        .map(allmende_node::network::read_verified)
        .transpose()?;
    let (trust_anchors, quarantine) = match &manifest {
        Some(m) => (
            m.body.anchors.clone(),
            allmende_node::network::quarantine_of(&m.body.quarantine),
        ),
        None => (Vec::new(), Default::default()),
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
            trust_anchors,
            quarantine,
            demo: false,
        })
        .await?;
        if node.open_mode() {
            eprintln!(
                "warning: open mode: no --network manifest, so this bootstrap node stores and passes on what every key signs"
            );
        }
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
