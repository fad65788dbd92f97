//! Helpers shared by Allmende's multi-node and end-to-end tests.
//!
//! Every node listens on `127.0.0.1` only, with an OS-chosen port, mDNS off, and a short
//! reconciliation interval; every wait is bounded.
//!
//! The binaries in `src/bin/` are fixtures driven by the tests in `tests/`, the benchmark,
//! and the fault harness (`fault-crash`, `fault-churn`; see [`fault`] and `docs/testing.md`).

pub mod attacks;
pub mod browser;
pub mod fault;
pub mod fuzz;
pub mod raw_http;
pub mod synth;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use allmende_node::datadir::DataDir;
use allmende_node::net::NetConfig;
use allmende_node::node::{HttpOptions, Node, NodeConfig};
use allmende_protocol::doc::{DocError, DocHeader, DocKind, Editor};
use allmende_protocol::identity::Keypair;
use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::schema::{
    Deployment, DeploymentStatus, OperatedBy, OrgKind, OrgProfile, Product, ProductKind,
};
use anyhow::{Context, bail};
use libp2p::Multiaddr;

/// A node in a test, with its data directory.
pub struct TestNode {
    /// The running node (`None` while stopped).
    pub node: Option<Node>,
    /// Its data directory.
    pub dir: PathBuf,
    secret: Option<[u8; 32]>,
    net: NetConfig,
    http: Option<SocketAddr>,
    /// The trust anchors it follows (none: open mode).
    anchors: Vec<OrgId>,
}

/// Network settings for tests: loopback, fast reconciliation, no mDNS.
pub fn test_net(bootstrap: &[Multiaddr]) -> NetConfig {
    NetConfig {
        listen: vec![
            "/ip4/127.0.0.1/tcp/0"
                .parse()
                .unwrap_or_else(|_| Multiaddr::empty()),
        ],
        bootstrap: bootstrap.to_vec(),
        mdns: false,
        reconcile_interval: Duration::from_secs(1),
        ..NetConfig::default()
    }
}

/// Starts a node on a data directory the test prepared itself (identity, members, …),
/// serving HTTP on `127.0.0.1` with an OS-chosen port (`node.http_addr`), with no peers.
pub async fn spawn_http(dir: &Path) -> anyhow::Result<Node> {
    spawn_http_with(dir, HttpOptions::default()).await
}

/// Like [`spawn_http`], with HTTP settings of the test's choosing (e.g. a short export stall
/// timeout).
pub async fn spawn_http_with(dir: &Path, http: HttpOptions) -> anyhow::Result<Node> {
    Ok(Node::spawn_with(
        NodeConfig {
            data_dir: dir.to_owned(),
            identity_file: None,
            net: test_net(&[]),
            http: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            trust_anchors: vec![],
            quarantine: Default::default(),
            demo: false,
        },
        http,
    )
    .await?)
}

impl TestNode {
    /// Starts a node in `dir`; with `org` it first creates an organisation identity and profile.
    pub async fn start(
        dir: &Path,
        org: Option<&str>,
        bootstrap: &[Multiaddr],
    ) -> anyhow::Result<Self> {
        Self::start_with(dir, org, test_net(bootstrap)).await
    }

    /// Like [`TestNode::start`], and the node also serves HTTP (the API and the web UI) on
    /// `127.0.0.1` with an OS-chosen port: see [`TestNode::http_url`]. A restart picks a new
    /// port.
    pub async fn start_http(
        dir: &Path,
        org: Option<&str>,
        bootstrap: &[Multiaddr],
    ) -> anyhow::Result<Self> {
        let http = SocketAddr::from(([127, 0, 0, 1], 0));
        Self::start_full(dir, org, test_net(bootstrap), Some(http)).await
    }

    /// Like [`TestNode::start`], with explicit network settings.
    pub async fn start_with(dir: &Path, org: Option<&str>, net: NetConfig) -> anyhow::Result<Self> {
        Self::start_full(dir, org, net, None).await
    }

    /// Like [`TestNode::start`], following trust `anchors` (not in open mode: it keeps only
    /// what its trust scope signed).
    pub async fn start_scoped(
        dir: &Path,
        org: Option<&str>,
        bootstrap: &[Multiaddr],
        anchors: Vec<OrgId>,
    ) -> anyhow::Result<Self> {
        Self::start_full_with(dir, org, test_net(bootstrap), None, anchors).await
    }

    async fn start_full(
        dir: &Path,
        org: Option<&str>,
        net: NetConfig,
        http: Option<SocketAddr>,
    ) -> anyhow::Result<Self> {
        Self::start_full_with(dir, org, net, http, Vec::new()).await
    }

    async fn start_full_with(
        dir: &Path,
        org: Option<&str>,
        net: NetConfig,
        http: Option<SocketAddr>,
        anchors: Vec<OrgId>,
    ) -> anyhow::Result<Self> {
        let dd = DataDir::new(dir.to_owned());
        let secret = match org {
            Some(_) if dd.is_initialised() => Some(dd.identity()?.keypair.secret_bytes()),
            Some(_) => Some(dd.create_identity()?.keypair.secret_bytes()),
            None => None,
        };
        let mut n = TestNode {
            node: None,
            dir: dir.to_owned(),
            secret,
            net,
            http,
            anchors,
        };
        n.restart().await?;
        if let Some(name) = org {
            let profile = OrgProfile {
                population: Some(10_000),
                ..OrgProfile::new(name, OrgKind::Kommune)
            };
            let header = DocHeader::singleton(DocKind::Profile, n.org()?);
            n.edit(header, move |ed| ed.put_root(&profile)).await?;
        }
        Ok(n)
    }

    /// Starts the node again from its data directory.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        if self.node.is_some() {
            bail!("node is running");
        }
        let node = Node::spawn(NodeConfig {
            data_dir: self.dir.clone(),
            identity_file: None,
            net: self.net.clone(),
            http: self.http,
            trust_anchors: self.anchors.clone(),
            quarantine: Default::default(),
            demo: false,
        })
        .await?;
        self.node = Some(node);
        Ok(())
    }

    /// Stops the node (its data directory stays).
    pub async fn stop(&mut self) {
        if let Some(n) = self.node.take() {
            n.shutdown().await;
        }
    }

    /// The running node.
    pub fn node(&self) -> anyhow::Result<&Node> {
        self.node.as_ref().context("node is stopped")
    }

    /// The node's organisation key.
    pub fn keypair(&self) -> anyhow::Result<Keypair> {
        Ok(Keypair::from_secret_bytes(
            &self.secret.context("node has no identity")?,
        )?)
    }

    /// The node's organisation.
    pub fn org(&self) -> anyhow::Result<OrgId> {
        Ok(OrgId::from_root_key(self.keypair()?.public()))
    }

    /// A dialable address of the node (with `/p2p/`).
    pub async fn addr(&self) -> anyhow::Result<Multiaddr> {
        let addrs = allmende_node::node::dial_addresses(self.node()?).await;
        let first = addrs
            .into_iter()
            .next()
            .context("node has no listen address")?;
        Ok(first.parse()?)
    }

    /// Where the node serves HTTP (started with [`TestNode::start_http`]).
    pub fn http_addr(&self) -> anyhow::Result<SocketAddr> {
        self.node()?.http_addr.context("node serves no HTTP")
    }

    /// The base URL of the node's HTTP server, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn http_url(&self) -> anyhow::Result<String> {
        Ok(format!("http://{}", self.http_addr()?))
    }

    /// The HTTP write token of the node's own organisation (`admin.token`, created when a node
    /// with an organisation starts with HTTP).
    pub fn admin_token(&self) -> anyhow::Result<String> {
        if self.secret.is_none() {
            bail!("node has no organisation");
        }
        Ok(DataDir::new(self.dir.clone()).admin_token()?)
    }

    /// Edits a document as this node's organisation; the change is announced to peers.
    pub async fn edit(
        &self,
        header: DocHeader,
        f: impl FnOnce(&mut Editor<'_>) -> Result<(), DocError> + Send + 'static,
    ) -> anyhow::Result<()> {
        let key = self.keypair()?;
        let now = allmende_node::now();
        self.node()?
            .repo
            .call(move |s| s.edit(&key, header, now, f))
            .await??;
        Ok(())
    }

    /// Creates a product and returns its header.
    pub async fn add_product(&self, name: &str) -> anyhow::Result<DocHeader> {
        let nonce: [u8; 16] = allmende_node::datadir::random_bytes()?;
        let header = DocHeader::product(self.org()?, nonce);
        let p = product(name);
        self.edit(header, move |ed| ed.put_root(&p)).await?;
        Ok(header)
    }

    /// The digest of the node's catalog and its document count.
    pub async fn digest(&self) -> anyhow::Result<([u8; 32], u64)> {
        self.node()?
            .repo
            .call(|s| {
                let c = s.repo().catalog().map(|c| c.digest());
                let n = allmende_node::store::Store::counts(s.repo().store()).map(|c| c.documents);
                (c, n)
            })
            .await
            .map_err(|e| anyhow::anyhow!(e))
            .and_then(|(c, n)| Ok((c?, n?)))
    }
}

/// A plausible product record.
pub fn product(name: &str) -> Product {
    Product {
        description: Some(format!("Beschreibung von {name}")),
        standards: vec!["XÖV".into()],
        ..Product::new(name, "Testhersteller GmbH", ProductKind::Software)
    }
}

/// A deployment of `product` in production, run by the organisation itself, at `version`,
/// with no tasks, integrations or costs: what tests and the fault harness publish when the
/// content does not matter (set other fields with struct update syntax).
pub fn deployment(product: DocId, version: &str) -> Deployment {
    Deployment {
        version: Some(version.into()),
        ..Deployment::new(product, DeploymentStatus::Production, OperatedBy::Itself)
    }
}

/// Polls `check` every 100 ms until it returns true or `timeout` passes.
pub async fn wait_until<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until all `nodes` show the same catalog with `docs` documents.
pub async fn converged(nodes: &[&TestNode], docs: u64, timeout: Duration) -> bool {
    wait_until(timeout, || async {
        let mut first = None;
        for n in nodes {
            let Ok((digest, count)) = n.digest().await else {
                return false;
            };
            if count != docs {
                return false;
            }
            match first {
                None => first = Some(digest),
                Some(d) if d != digest => return false,
                Some(_) => {}
            }
        }
        true
    })
    .await
}

/// The path of a binary of this workspace (`allmende`, `allmende-bootstrap`), built next to
/// the running test. Test runners build only the test targets, so the binaries are built here
/// on first use (a no-op when they are current; cargo's lock serialises concurrent calls).
pub fn workspace_bin(name: &str) -> anyhow::Result<PathBuf> {
    static BUILD: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let exe = std::env::current_exe()?;
    // target/<profile>/deps/<test binary>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("unexpected test binary location")?;
    let target_dir = profile_dir
        .parent()
        .context("unexpected test binary location")?;
    let built = BUILD.get_or_init(|| {
        let mut cmd = std::process::Command::new(env!("CARGO"));
        cmd.args([
            "build",
            "--bins",
            "-p",
            "allmende-node",
            "-p",
            "allmende-bootstrap",
            "--target-dir",
        ])
        .arg(target_dir);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        match cmd.status() {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => Err(format!("cargo build of the binaries failed: {s}")),
            Err(e) => Err(format!("cannot run cargo: {e}")),
        }
    });
    if let Err(e) = built {
        bail!("{e}");
    }
    let bin = profile_dir.join(name);
    if !bin.exists() {
        bail!("{} was not built", bin.display());
    }
    Ok(bin)
}

/// Runs the workspace's `allmende --data-dir DIR ARGS…` ([`workspace_bin`]) without any
/// `ALLMENDE_CONFIG` of the environment; its standard output, or an error with its standard
/// error when it fails.
pub fn allmende_cli(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = std::process::Command::new(workspace_bin("allmende")?)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("ALLMENDE_CONFIG")
        .output()?;
    if !out.status.success() {
        bail!(
            "allmende {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// `allmende init --name NAME --kind KIND` on `dir`; returns the new organisation's id.
pub fn allmende_init(dir: &Path, name: &str, kind: &str) -> anyhow::Result<String> {
    let out = allmende_cli(dir, &["init", "--name", name, "--kind", kind])?;
    out.lines()
        .find_map(|l| l.strip_prefix("Organisation id: "))
        .map(|id| id.trim().to_owned())
        .ok_or_else(|| anyhow::anyhow!("allmende init printed no organisation id: {out}"))
}

/// A minimal HTTP/1.1 client for tests: sends one request to `addr` (`host:port`), waits at
/// most `timeout` for the answer, and returns the status code and the body.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
    timeout: Duration,
) -> anyhow::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(timeout))?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    let code: u16 = text
        .split_whitespace()
        .nth(1)
        .context("no status line")?
        .parse()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or("")
        .to_owned();
    Ok((code, body))
}
