//! Test fixture: writes deployments into an initialised data dir one by one and prints
//! `ack <n> <key>` after each write has returned, then keeps writing until it has written
//! `count`, then waits to be killed. The durability test kills it with SIGKILL at random
//! moments and checks that every acknowledged write survived.

use std::io::Write;
use std::path::PathBuf;

use allmende_node::datadir::DataDir;
use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::ids::DocId;
use allmende_protocol::schema::Deployment;
use anyhow::Context;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().context("usage: ack-writer DATA_DIR COUNT")?);
    let count: u64 = args
        .next()
        .context("usage: ack-writer DATA_DIR COUNT")?
        .parse()?;
    let dd = DataDir::new(dir);
    let id = dd.identity()?;
    let mut repo = dd.open_repo()?;
    let header = DocHeader::singleton(DocKind::Deployments, id.org);
    let mut stdout = std::io::stdout().lock();
    for n in 0..count {
        let key = format!("ack-{}-{n}", std::process::id());
        let d = Deployment {
            cost_once_eur: Some(n),
            ..integration_tests::deployment(DocId::from_bytes([7; 32]), &n.to_string())
        };
        repo.edit(&id.keypair, header, allmende_node::now(), |ed| {
            ed.put(&key, &d)
        })?;
        writeln!(stdout, "ack {n} {key}")?;
        stdout.flush()?;
    }
    writeln!(stdout, "done")?;
    stdout.flush()?;
    loop {
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
}
