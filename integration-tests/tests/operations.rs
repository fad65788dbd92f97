//! Operating a network of nodes: what an operator watches and does, shown on real nodes
//! (libp2p on 127.0.0.1, SQLite stores).
//!
//! - `/metrics` moves when a change from a peer is applied and when gossip is refused;
//!   `/healthz` and `/readyz` answer.
//! - A key rotation (succession) and the revocations that follow reach every node: the next
//!   key writes, the retired key and a revoked delegate do not, and history stays.
//! - In IT-Dienstleister mode a member's token writes for its own organisation only, and a
//!   removed member's token stops working while the node runs.
//! - A backup taken while the node writes verifies, restores into a new data directory, and
//!   the restored node catches up from its peer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cloned_ref_to_slice_refs
)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use allmende_node::backup::{self, BackupError};
use allmende_node::datadir::DataDir;
use allmende_node::repo::{Ingested, RepoError};
use allmende_node::repo_actor::Outcome;
use allmende_node::store::{Counts, SqliteStore, Store};
use allmende_protocol::auth::AuthError;
use allmende_protocol::change::{ReplicaId, SignedChange};
use allmende_protocol::doc::{DocHeader, DocKind, Document};
use allmende_protocol::identity::{Delegation, Keypair, Revocation, Scope, Succession};
use allmende_protocol::ids::OrgId;
use allmende_protocol::schema::{Deployment, UnixTime};
use allmende_protocol::sync::{Announce, Cert, Gossip};
use integration_tests::{TestNode, converged, http, product, wait_until};

/// Every wait gives up after this long.
const WAIT: Duration = Duration::from_secs(30);

/// Waits (polling every 100 ms, at most [`WAIT`]) until `check` holds; panics naming `what`.
async fn wait_for<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    assert!(
        wait_until(WAIT, check).await,
        "gave up after {WAIT:?} waiting until {what}"
    );
}

/// One HTTP request from a blocking thread; returns (status code, body).
async fn request(
    addr: SocketAddr,
    method: &'static str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    let (path, token, body) = (path.to_owned(), token.map(str::to_owned), body.to_owned());
    tokio::task::spawn_blocking(move || {
        http(
            &addr.to_string(),
            method,
            &path,
            token.as_deref(),
            &body,
            Duration::from_secs(10),
        )
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    })
    .await
    .unwrap()
}

fn kp(secret: &[u8; 32]) -> Keypair {
    Keypair::from_secret_bytes(secret).unwrap()
}

fn deployment(product: DocHeader, version: &str) -> Deployment {
    Deployment {
        cost_yearly_eur: Some(1200),
        ..integration_tests::deployment(product.id(), version)
    }
}

async fn counts(n: &TestNode) -> Counts {
    n.node()
        .unwrap()
        .repo
        .call(|s| Store::counts(s.repo().store()).unwrap())
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// 1. Metrics and health endpoints
// ---------------------------------------------------------------------------------------

/// A parsed `/metrics` page.
struct Scrape {
    text: String,
    values: BTreeMap<String, f64>,
}

impl Scrape {
    fn parse(text: String) -> Self {
        let mut values = BTreeMap::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("malformed metrics line {line:?}"));
            let value: f64 = value
                .parse()
                .unwrap_or_else(|e| panic!("metrics line {line:?}: value is no number ({e})"));
            assert!(
                values.insert(series.to_owned(), value).is_none(),
                "series {series} appears twice:\n{text}"
            );
        }
        Self { text, values }
    }

    /// The value of one series (name with labels exactly as rendered); panics if absent.
    fn get(&self, series: &str) -> f64 {
        *self
            .values
            .get(series)
            .unwrap_or_else(|| panic!("no series {series} on the page:\n{}", self.text))
    }

    /// The value of one series, 0 when absent.
    fn get_or_zero(&self, series: &str) -> f64 {
        self.values.get(series).copied().unwrap_or(0.0)
    }

    /// Sum of `allmende_rejected_total` over all reasons.
    fn rejected(&self) -> f64 {
        self.values
            .iter()
            .filter(|(k, _)| k.starts_with("allmende_rejected_total{"))
            .map(|(_, v)| v)
            .sum()
    }

    fn rejected_for(&self, reason: &str) -> f64 {
        self.get_or_zero(&format!("allmende_rejected_total{{reason=\"{reason}\"}}"))
    }
}

async fn scrape(addr: SocketAddr) -> Scrape {
    let (code, body) = request(addr, "GET", "/metrics", None, "").await;
    assert_eq!(code, 200, "/metrics: {body}");
    Scrape::parse(body)
}

/// Scrapes every 100 ms until `pred` holds (at most [`WAIT`]); returns that scrape.
async fn scrape_until(addr: SocketAddr, what: &str, pred: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let m = scrape(addr).await;
        if pred(&m) {
            return m;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!(
                "gave up after {WAIT:?} waiting until {what}; last scrape:\n{}",
                m.text
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Publishes raw gossip, retrying while gossipsub has no peer for the topic yet.
async fn publish(n: &TestNode, bytes: Vec<u8>) {
    let net = n.node().unwrap().net.clone();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match net.raw_publish(bytes.clone()).await.unwrap() {
            Ok(()) => return,
            Err(e) if tokio::time::Instant::now() >= deadline => {
                panic!("gave up after {WAIT:?} publishing raw gossip: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

const APPLIED: &str = "allmende_changes_applied_total";
const DOCUMENTS: &str = "allmende_documents";
const LAG_COUNT: &str = "allmende_sync_lag_seconds_count";
const METRICS_LATENCY: &str = "allmende_http_request_duration_seconds_count{method=\"GET\",route=\"/metrics\",status=\"200\"}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_when_a_change_is_applied_or_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let a = TestNode::start_http(&tmp.path().join("a"), Some("Stadt A"), &[])
        .await
        .unwrap();
    let a_addr = a.addr().await.unwrap();
    let b = TestNode::start(&tmp.path().join("b"), Some("Stadt B"), &[a_addr])
        .await
        .unwrap();
    assert!(
        converged(&[&a, &b], 2, WAIT).await,
        "A and B did not exchange their profiles"
    );
    let web = a.http_addr().unwrap();

    // Liveness and readiness.
    let (code, body) = request(web, "GET", "/healthz", None, "").await;
    assert_eq!((code, body.as_str()), (200, "ok\n"));
    let (code, body) = request(web, "GET", "/readyz", None, "").await;
    assert_eq!(code, 200, "/readyz: {body}");
    let ready: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["ready"], true, "{ready}");
    assert_eq!(ready["store"], "ok", "{ready}");

    // The first page: the families are declared; the store holds both profiles.
    let m0 = scrape(web).await;
    for family in [
        "# TYPE allmende_sync_lag_seconds histogram",
        "# TYPE allmende_changes_applied_total counter",
        "# TYPE allmende_rejected_total counter",
        "# TYPE allmende_documents gauge",
        "# TYPE allmende_http_request_duration_seconds histogram",
    ] {
        assert!(m0.text.contains(family), "{family} missing:\n{}", m0.text);
    }
    assert_eq!(m0.get(DOCUMENTS), 2.0);
    assert_eq!(m0.get("allmende_peers_connected"), 1.0);
    assert_eq!(m0.get("allmende_peers_blocked"), 0.0);
    // A stored its own profile and B's (from the network, so with a lag observation).
    assert!(m0.get(APPLIED) >= 2.0, "{}", m0.text);
    assert!(m0.get(LAG_COUNT) >= 1.0, "{}", m0.text);
    assert!(
        m0.get("allmende_sync_lag_seconds_bucket{le=\"+Inf\"}") == m0.get(LAG_COUNT),
        "the +Inf bucket must equal the count:\n{}",
        m0.text
    );
    // Requests are recorded when they finish: the earlier health checks are on this page,
    // this scrape itself is not yet.
    assert_eq!(
        m0.get("allmende_http_request_duration_seconds_count{method=\"GET\",route=\"/healthz\",status=\"200\"}"),
        1.0
    );
    assert_eq!(
        m0.get("allmende_http_request_duration_seconds_count{method=\"GET\",route=\"/readyz\",status=\"200\"}"),
        1.0
    );
    assert!(
        !m0.values.contains_key(METRICS_LATENCY),
        "the first scrape cannot contain itself:\n{}",
        m0.text
    );

    // B adds a product: A applies it and records its sync lag.
    b.add_product("Produkt von B").await.unwrap();
    let m1 = scrape_until(web, "A applied B's product", |m| {
        m.get(DOCUMENTS) == 3.0
            && m.get(APPLIED) > m0.get(APPLIED)
            && m.get(LAG_COUNT) > m0.get(LAG_COUNT)
    })
    .await;
    assert_eq!(m1.get(APPLIED), m0.get(APPLIED) + 1.0, "one new change");
    assert!(m1.get(METRICS_LATENCY) >= 1.0, "{}", m1.text);
    // Positive control for the rejection counter: honest sync refuses nothing.
    assert_eq!(m1.rejected(), m0.rejected(), "{}", m1.text);

    // B sends garbage gossip: A refuses it and counts it.
    publish(&b, b"\x00this is no gossip message".to_vec()).await;
    let m2 = scrape_until(web, "A counted the garbage gossip", |m| {
        m.rejected() > m1.rejected()
    })
    .await;
    assert!(m2.rejected_for("malformed gossip") >= 1.0, "{}", m2.text);
    assert_eq!(m2.get(DOCUMENTS), 3.0);

    // B sends a properly framed change that claims to be signed by A's key (B's signature):
    // refused as forged, counted, and with the garbage before it B reaches the ban threshold.
    let fake = DocHeader::product(a.org().unwrap(), [0x42; 16]);
    let mut doc = Document::new(fake);
    let p = product("Gefälschtes Produkt");
    let real = doc
        .edit(
            &b.keypair().unwrap(),
            ReplicaId([0x42; 16]),
            allmende_node::now(),
            |ed| ed.put_root(&p),
        )
        .unwrap()
        .unwrap();
    let forged = SignedChange::from_parts(
        real.doc(),
        a.keypair().unwrap().public(),
        *real.signature(),
        real.change().clone(),
    );
    publish(
        &b,
        Gossip::Announce(Announce {
            header: fake,
            changes: vec![forged],
            certs: vec![],
        })
        .encode(),
    )
    .await;
    let m3 = scrape_until(web, "A counted the forged change and blocked B", |m| {
        m.rejected_for("forged or malformed change") >= 1.0
            && m.rejected_for("gossip rejected") >= 2.0
            && m.get("allmende_peers_blocked") == 1.0
    })
    .await;
    assert!(m3.rejected() > m2.rejected(), "{}", m3.text);
    assert_eq!(m3.get(DOCUMENTS), 3.0, "something of the attack was stored");
    assert_eq!(
        m3.get(APPLIED),
        m1.get(APPLIED),
        "a refused change was counted as applied"
    );
    assert!(m3.get(METRICS_LATENCY) > m1.get(METRICS_LATENCY));
    let catalog = a
        .node()
        .unwrap()
        .repo
        .call(|s| s.repo().catalog().unwrap())
        .await
        .unwrap();
    assert!(
        catalog
            .products
            .iter()
            .all(|p| p.product.name != "Gefälschtes Produkt")
    );
}

// ---------------------------------------------------------------------------------------
// 2. Key rotation and revocation
// ---------------------------------------------------------------------------------------

/// The record keys of `org`'s deployments on `n`: from the documents (catalog) and from the
/// SQL index, each sorted.
async fn deployment_keys(n: &TestNode, org: OrgId) -> (Vec<String>, Vec<String>) {
    n.node()
        .unwrap()
        .repo
        .call(move |s| {
            let mut catalog: Vec<String> = s
                .repo()
                .catalog()
                .unwrap()
                .deployments
                .into_iter()
                .filter(|d| d.org == org)
                .map(|d| d.key)
                .collect();
            catalog.sort();
            let conn = s.repo().store().connection();
            let mut stmt = conn
                .prepare("SELECT key FROM idx_deployment WHERE org = ?1 ORDER BY key")
                .unwrap();
            let index: Vec<String> = stmt
                .query_map([org.as_bytes().to_vec()], |r| r.get::<_, String>(0))
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            (catalog, index)
        })
        .await
        .unwrap()
}

/// Waits until every node holds exactly the deployment records `expected` of `org`, in its
/// documents and in its index.
async fn wait_for_keys(nodes: &[&TestNode], org: OrgId, expected: &[&str]) {
    let mut want: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    want.sort();
    let ok = wait_until(WAIT, || async {
        for n in nodes {
            let (catalog, index) = deployment_keys(n, org).await;
            if catalog != want || index != want {
                return false;
            }
        }
        true
    })
    .await;
    if !ok {
        let mut seen = Vec::new();
        for n in nodes {
            seen.push(deployment_keys(n, org).await);
        }
        panic!(
            "gave up after {WAIT:?} waiting for the deployment records {want:?} on every node; \
             (documents, index) per node: {seen:?}"
        );
    }
}

async fn wait_for_certs(nodes: &[&TestNode], n: u64) {
    let ok = wait_until(WAIT, || async {
        for node in nodes {
            if counts(node).await.certificates != n {
                return false;
            }
        }
        true
    })
    .await;
    assert!(
        ok,
        "gave up after {WAIT:?} waiting for {n} certificates on every node"
    );
}

/// A local edit on `n`'s repository thread signed by the key `secret`, setting the
/// deployment record `key`. Returns whether a change was made.
async fn edit_as(
    n: &TestNode,
    secret: [u8; 32],
    header: DocHeader,
    key: &'static str,
    record: Deployment,
) -> Result<bool, RepoError> {
    n.node()
        .unwrap()
        .repo
        .call(move |s| {
            s.edit(&kp(&secret), header, allmende_node::now(), move |ed| {
                ed.put(key, &record)
            })
            .map(|h| h.is_some())
        })
        .await
        .unwrap()
}

/// A change made outside any node (by someone holding `secret` who ignores what the nodes
/// know): `key` is set in `n`'s copy of the document, signed now.
async fn forge(
    n: &TestNode,
    header: DocHeader,
    secret: [u8; 32],
    replica: u8,
    key: &'static str,
    record: Deployment,
) -> SignedChange {
    let mut doc: Document = n
        .node()
        .unwrap()
        .repo
        .call(move |s| s.repo().document(&header.id()).unwrap().unwrap())
        .await
        .unwrap();
    doc.edit(
        &kp(&secret),
        ReplicaId([replica; 16]),
        allmende_node::now(),
        |ed| ed.put(key, &record),
    )
    .unwrap()
    .unwrap()
}

/// Hands `change` straight to `n`'s repository, as if a peer had sent it.
async fn inject(n: &TestNode, header: DocHeader, change: SignedChange) -> Outcome {
    n.node()
        .unwrap()
        .repo
        .call(move |s| s.ingest(header, vec![change], vec![], allmende_node::now()))
        .await
        .unwrap()
}

async fn sleep_until(t: UnixTime) {
    while allmende_node::now() < t {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_and_revocation_propagate_to_every_node() {
    let tmp = tempfile::tempdir().unwrap();
    let a = TestNode::start(&tmp.path().join("a"), Some("Stadt A"), &[])
        .await
        .unwrap();
    let a_addr = a.addr().await.unwrap();
    let b = TestNode::start(&tmp.path().join("b"), Some("Gemeinde B"), &[a_addr.clone()])
        .await
        .unwrap();
    let c = TestNode::start(&tmp.path().join("c"), Some("IT-Dienstleister C"), &[a_addr])
        .await
        .unwrap();
    assert!(
        converged(&[&a, &b, &c], 3, WAIT).await,
        "initial sync failed"
    );
    let all = [&a, &b, &c];
    let org = a.org().unwrap();
    let root = a.keypair().unwrap();
    let root_secret = root.secret_bytes();
    let deployments = DocHeader::singleton(DocKind::Deployments, org);
    let prod = a.add_product("Fachverfahren Meldewesen").await.unwrap();

    // The root key writes A's deployments.
    let dep = deployment(prod, "1.0");
    a.edit(deployments, move |ed| ed.put("before-rotation", &dep))
        .await
        .unwrap();

    // A delegates to the provider's key P (C's key); P writes for A on C's node.
    let p_secret = c.keypair().unwrap().secret_bytes();
    let p_public = kp(&p_secret).public();
    let now = allmende_node::now();
    let delegation = Delegation {
        issuer: org,
        delegate: p_public,
        scope: Scope::all(),
        not_before: UnixTime(now.0 - 60),
        not_after: UnixTime(now.0 + 86_400),
    }
    .sign(&root)
    .unwrap();
    a.node()
        .unwrap()
        .repo
        .call(move |s| s.publish_cert(Cert::Delegation(delegation)))
        .await
        .unwrap()
        .unwrap();
    wait_for_certs(&all, 1).await;
    assert!(
        edit_as(
            &c,
            p_secret,
            deployments,
            "by-provider",
            deployment(prod, "1.1")
        )
        .await
        .unwrap()
    );
    wait_for_keys(&all, org, &["before-rotation", "by-provider"]).await;

    // Rotation, as `allmende key rotate` does it: stage the next key, publish the succession
    // (old key signs, next key countersigns), commit the key file, wait for `effective`.
    let next_secret: [u8; 32] = allmende_node::datadir::random_bytes().unwrap();
    let next = kp(&next_secret);
    let effective = UnixTime(allmende_node::now().0 + 1);
    let succession = Succession {
        org,
        previous: root.public(),
        next: next.public(),
        effective,
    }
    .sign(&root, &next, "Jährlicher Schlüsselwechsel")
    .unwrap();
    assert_eq!(succession.succession().map(|s| s.next), Some(next.public()));
    let dd_a = DataDir::new(a.dir.clone());
    dd_a.stage_identity(&next, org).unwrap();
    let new = a
        .node()
        .unwrap()
        .repo
        .call(move |s| s.publish_cert(Cert::Revocation(succession)))
        .await
        .unwrap()
        .unwrap();
    assert!(new, "the succession was not new to A");
    let retired = dd_a.commit_identity(effective.0).unwrap();
    assert!(retired.exists());
    let on_disk = dd_a.identity().unwrap();
    assert_eq!(
        (on_disk.org, on_disk.keypair.public()),
        (org, next.public())
    );
    sleep_until(effective).await;

    // The next key writes; every node takes it and keeps the history.
    assert!(
        edit_as(
            &a,
            next_secret,
            deployments,
            "after-rotation",
            deployment(prod, "2.0")
        )
        .await
        .unwrap()
    );
    wait_for_certs(&all, 2).await;
    wait_for_keys(
        &all,
        org,
        &["before-rotation", "by-provider", "after-rotation"],
    )
    .await;
    let (root_pub, next_pub) = (root.public(), next.public());
    for n in all {
        let (current, chain, before, signers) = n
            .node()
            .unwrap()
            .repo
            .call(move |s| {
                let certs = s.repo().certificates();
                let mut signers: Vec<String> = s
                    .repo()
                    .store()
                    .changes(&deployments.id())
                    .unwrap()
                    .iter()
                    .map(|c| format!("{:#}", c.signer))
                    .collect();
                signers.sort();
                (
                    certs.current_org_key(org),
                    certs.org_keys(org),
                    certs.org_key_at(org, UnixTime(effective.0 - 1)),
                    signers,
                )
            })
            .await
            .unwrap();
        assert_eq!(current, next_pub, "current key of A");
        assert_eq!(chain, vec![(root_pub, None), (next_pub, Some(effective))]);
        assert_eq!(before, root_pub, "A's key before the rotation");
        let mut want = vec![
            format!("{root_pub:#}"),
            format!("{p_public:#}"),
            format!("{next_pub:#}"),
        ];
        want.sort();
        assert_eq!(signers, want, "signers of A's deployments");
    }

    // The retired root key signs after the rotation: refused when handed to B or C directly…
    let sneaky = forge(
        &b,
        deployments,
        root_secret,
        0x51,
        "old-key-after-rotation",
        deployment(prod, "6.6"),
    )
    .await;
    for n in [&b, &c] {
        match inject(n, deployments, sneaky.clone()).await {
            Outcome::Refused(RepoError::Auth {
                error: AuthError::RevokedKey { key, since, .. },
                ..
            }) => assert_eq!((key, since), (root_pub, effective.0)),
            other => panic!("a change by the retired key was not refused as revoked: {other:?}"),
        }
        // The refusal is counted for /metrics (allmende_rejected_total{reason="revoked key"}).
        let refused = n
            .node()
            .unwrap()
            .repo
            .call(|st| st.metrics().refused.get("revoked key").copied())
            .await
            .unwrap();
        assert!(
            refused >= Some(1),
            "revoked-key refusal not counted: {refused:?}"
        );
    }
    // …while the same construction signed by the next key is stored (positive control).
    let control = forge(
        &b,
        deployments,
        next_secret,
        0x52,
        "injected-with-new-key",
        deployment(prod, "2.1"),
    )
    .await;
    match inject(&b, deployments, control).await {
        Outcome::Stored(Ingested { new_changes: 1, .. }) => {}
        other => panic!("a change by the next key was not stored: {other:?}"),
    }
    // …and refused when A's node gossips it (A's node plays a holder of the old key).
    let gossiped = forge(
        &a,
        deployments,
        root_secret,
        0x53,
        "old-key-gossiped",
        deployment(prod, "6.7"),
    )
    .await;
    publish(
        &a,
        Gossip::Announce(Announce {
            header: deployments,
            changes: vec![gossiped],
            certs: vec![],
        })
        .encode(),
    )
    .await;
    assert!(
        edit_as(
            &a,
            next_secret,
            deployments,
            "after-forgery",
            deployment(prod, "2.2")
        )
        .await
        .unwrap()
    );
    let mut expected = vec![
        "before-rotation",
        "by-provider",
        "after-rotation",
        "injected-with-new-key",
        "after-forgery",
    ];
    wait_for_keys(&all, org, &expected).await;

    // The delegation issued by the root key survives the rotation: P still writes for A.
    assert!(
        edit_as(
            &c,
            p_secret,
            deployments,
            "by-provider-after-rotation",
            deployment(prod, "2.3")
        )
        .await
        .expect("a delegation from before the rotation stopped working after it")
    );
    expected.push("by-provider-after-rotation");
    wait_for_keys(&all, org, &expected).await;

    // A's current (next) key revokes P.
    let p_revoked_at = UnixTime(allmende_node::now().0 + 1);
    let revocation = Revocation {
        issuer: next.public(),
        subject: p_public,
        effective: p_revoked_at,
        reason: "Vertrag mit dem Dienstleister beendet".into(),
    }
    .sign(&next)
    .unwrap();
    a.node()
        .unwrap()
        .repo
        .call(move |s| s.publish_cert(Cert::Revocation(revocation)))
        .await
        .unwrap()
        .unwrap();
    wait_for_certs(&all, 3).await;
    sleep_until(p_revoked_at).await;
    // P's own node refuses to write for A…
    match edit_as(
        &c,
        p_secret,
        deployments,
        "by-provider-after-revocation",
        deployment(prod, "9.9"),
    )
    .await
    {
        Err(RepoError::Auth {
            error: AuthError::DelegationRevoked { since, .. },
            ..
        }) => assert_eq!(since, p_revoked_at.0),
        other => panic!("the revoked provider's node wrote for A: {other:?}"),
    }
    // …and a change P makes anyway is refused by B and C.
    let late = forge(
        &c,
        deployments,
        p_secret,
        0x54,
        "by-provider-after-revocation",
        deployment(prod, "9.9"),
    )
    .await;
    for n in [&b, &c] {
        match inject(n, deployments, late.clone()).await {
            Outcome::Refused(RepoError::Auth {
                error:
                    AuthError::DelegationRevoked {
                        delegate, since, ..
                    },
                ..
            }) => assert_eq!((delegate, since), (p_public, p_revoked_at.0)),
            other => panic!("a revoked delegate's change was not refused: {other:?}"),
        }
    }
    // The revocation ends P's rights for A only: C still publishes its own documents.
    c.add_product("Produkt des Dienstleisters nach dem Widerruf")
        .await
        .unwrap();
    assert!(
        converged(&all, 6, WAIT).await,
        "the nodes did not converge after the revocation"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    // P's earlier changes stay, nothing refused was stored anywhere.
    wait_for_keys(&all, org, &expected).await;
    for n in all {
        assert_eq!(counts(n).await.certificates, 3);
    }
}

// ---------------------------------------------------------------------------------------
// 3. Member tokens in IT-Dienstleister mode
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_members_token_cannot_publish_for_another_member() {
    let tmp = tempfile::tempdir().unwrap();
    let dd = DataDir::new(tmp.path().join("rz"));
    let host = dd.create_identity().unwrap();
    let admin = dd.admin_token().unwrap();
    let (a, token_a) = dd.add_member().unwrap();
    let (b, token_b) = dd.add_member().unwrap();
    let node = integration_tests::spawn_http(dd.path()).await.unwrap();
    let web = node.http_addr.unwrap();
    let (a_org, b_org, host_org) = (a.org, b.org, host.org);
    let b_key = b.keypair.public();
    let (a_id, b_id, host_id) = (
        format!("{a_org:#}"),
        format!("{b_org:#}"),
        format!("{host_org:#}"),
    );

    let deployments_of = |org: String| async move {
        let (code, body) = request(
            web,
            "GET",
            &format!("/api/v1/deployments?org={org}"),
            None,
            "",
        )
        .await;
        assert_eq!(code, 200, "{body}");
        serde_json::from_str::<serde_json::Value>(&body)
            .unwrap()
            .as_array()
            .unwrap()
            .len()
    };
    let documents = || async move {
        let (code, body) = request(web, "GET", "/api/v1/status", None, "").await;
        assert_eq!(code, 200, "{body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["documents"]
            .as_u64()
            .unwrap()
    };
    let post = |path: String, token: String, body: String| async move {
        let (code, body) = request(web, "POST", &path, Some(&token), &body).await;
        (
            code,
            serde_json::from_str::<serde_json::Value>(&body).unwrap_or_default(),
        )
    };

    let (code, created) = post(
        "/api/v1/products".into(),
        admin.clone(),
        serde_json::json!({"name": "Friedhofsverwaltung", "vendor": "X", "kind": "fachverfahren"})
            .to_string(),
    )
    .await;
    assert_eq!(code, 201, "{created}");
    let pid = created["id"].as_str().unwrap().to_owned();
    let deployment =
        serde_json::json!({"product": pid, "status": "pilot", "operated_by": {"by": "self"}})
            .to_string();
    let before = documents().await;

    // Member A's token asking to write for member B, or for the host: 403, nothing stored.
    for target in [&b_id, &host_id] {
        let (code, body) = post(
            format!("/api/v1/deployments?for={target}"),
            token_a.clone(),
            deployment.clone(),
        )
        .await;
        assert_eq!(code, 403, "A's token wrote for {target}: {body}");
        assert_eq!(body["error"], "forbidden", "{body}");
    }
    assert_eq!(
        (
            deployments_of(a_id.clone()).await,
            deployments_of(b_id.clone()).await,
            deployments_of(host_id.clone()).await
        ),
        (0, 0, 0),
        "a refused request stored a deployment"
    );
    assert_eq!(
        documents().await,
        before,
        "a refused request stored a document"
    );

    // The admin token may write for a member; the change is signed by the member's own key.
    let (code, body) = post(
        format!("/api/v1/deployments?for={b_id}"),
        admin.clone(),
        deployment.clone(),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(
        (
            deployments_of(a_id.clone()).await,
            deployments_of(b_id.clone()).await
        ),
        (0, 1)
    );
    let signers = node
        .repo
        .call(move |s| {
            let id = DocHeader::singleton(DocKind::Deployments, b_org).id();
            s.repo()
                .store()
                .changes(&id)
                .unwrap()
                .iter()
                .map(|c| c.signer)
                .collect::<Vec<_>>()
        })
        .await
        .unwrap();
    assert_eq!(
        signers,
        vec![b_key],
        "B's deployment is not signed by B's key"
    );

    // A member's token naming its own organisation is fine.
    let (code, body) = post(
        format!("/api/v1/deployments?for={a_id}"),
        token_a.clone(),
        deployment.clone(),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(
        (
            deployments_of(a_id.clone()).await,
            deployments_of(b_id.clone()).await
        ),
        (1, 1)
    );

    // The operator ends hosting A while the node runs: A's token stops working within 5 s.
    // (The probe's body is invalid, so an accepted token answers 400 and writes nothing.)
    dd.remove_member(a_org, allmende_node::now().0).unwrap();
    let revoked = wait_until(Duration::from_secs(5), || {
        let t = token_a.clone();
        async move { post("/api/v1/deployments".into(), t, "{}".into()).await.0 == 401 }
    })
    .await;
    assert!(revoked, "a removed member's token still works after 5 s");
    let (code, body) = post(
        "/api/v1/deployments".into(),
        token_a.clone(),
        deployment.clone(),
    )
    .await;
    assert_eq!(code, 401, "{body}");
    let (code, body) = post(
        format!("/api/v1/deployments?for={a_id}"),
        admin.clone(),
        deployment.clone(),
    )
    .await;
    assert_eq!(
        code, 403,
        "the admin token still writes for a removed member: {body}"
    );
    // B's token keeps working (positive control); A's published data stays.
    let (code, body) = post(
        "/api/v1/deployments".into(),
        token_b.clone(),
        deployment.clone(),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(
        (
            deployments_of(a_id.clone()).await,
            deployments_of(b_id.clone()).await,
            deployments_of(host_id.clone()).await
        ),
        (1, 2, 0)
    );
    node.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// 4. Backup while writing, restore, catch up
// ---------------------------------------------------------------------------------------

/// The store files of a data directory (database and write-ahead log), read once they stop
/// changing (a stopped node's repository thread may still be closing the store).
async fn settled_store_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let read = || {
        let mut out = Vec::new();
        for name in ["allmende.db", "allmende.db-wal"] {
            let p = dir.join(name);
            if let Ok(bytes) = std::fs::read(&p) {
                out.push((p, bytes));
            }
        }
        out
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut last = read();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = read();
        if now == last {
            return now;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up after {WAIT:?} waiting for the store files in {} to settle",
            dir.display()
        );
        last = now;
    }
}

fn store_counts(dir: &Path) -> Counts {
    let store = SqliteStore::open(&DataDir::new(dir.to_owned()).db_path()).unwrap();
    store.counts().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_during_writes_restores_and_catches_up() {
    let tmp = tempfile::tempdir().unwrap();
    let mut a = TestNode::start(&tmp.path().join("a"), Some("Stadt A"), &[])
        .await
        .unwrap();
    let a_addr = a.addr().await.unwrap();
    let b = TestNode::start(&tmp.path().join("b"), Some("Stadt B"), &[a_addr])
        .await
        .unwrap();
    assert!(converged(&[&a, &b], 2, WAIT).await, "initial sync failed");
    let org = a.org().unwrap();

    // A writer keeps adding products and deployment records on A every 20–50 ms.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let repo = a.node().unwrap().repo.clone();
        let secret = a.keypair().unwrap().secret_bytes();
        let (stop, written) = (stop.clone(), written.clone());
        tokio::spawn(async move {
            let first_product = DocHeader::product(org, 0u128.to_be_bytes());
            let deployments = DocHeader::singleton(DocKind::Deployments, org);
            let mut i: u64 = 0;
            while !stop.load(Ordering::SeqCst) {
                let key = kp(&secret);
                let made = if i.is_multiple_of(2) {
                    let header = DocHeader::product(org, u128::from(i).to_be_bytes());
                    let p = product(&format!("Laufend geschrieben {i}"));
                    repo.call(move |s| {
                        s.edit(&key, header, allmende_node::now(), move |ed| {
                            ed.put_root(&p)
                        })
                    })
                    .await
                } else {
                    let d = deployment(first_product, &format!("{i}"));
                    let k = format!("d{i}");
                    repo.call(move |s| {
                        s.edit(&key, deployments, allmende_node::now(), move |ed| {
                            ed.put(&k, &d)
                        })
                    })
                    .await
                };
                assert!(
                    made.unwrap().unwrap().is_some(),
                    "write {i} changed nothing"
                );
                i += 1;
                written.store(i, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20 + (i % 4) * 10)).await;
            }
            i
        })
    };
    wait_for("the writer made 10 writes", || async {
        written.load(Ordering::SeqCst) >= 10
    })
    .await;

    // The backup runs while the writer goes on.
    let pre = counts(&a).await;
    let dest = tmp.path().join("backup");
    let manifest = {
        let (dd, dest) = (DataDir::new(a.dir.clone()), dest.clone());
        tokio::task::spawn_blocking(move || backup::backup(&dd, &dest, true))
            .await
            .unwrap()
            .unwrap()
    };
    let after_backup = written.load(Ordering::SeqCst);
    wait_for("the writer made 5 more writes after the backup", || async {
        written.load(Ordering::SeqCst) >= after_backup + 5
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    let writes = writer.await.unwrap();
    assert!(writes >= 15);

    // B takes everything A has; these are the final counts.
    let live = counts(&a).await;
    assert_eq!(
        live.documents,
        2 + writes.div_ceil(2) + 1,
        "profiles, products, deployments"
    );
    assert!(
        converged(&[&a, &b], live.documents, WAIT).await,
        "B did not catch up with A"
    );
    wait_for("B holds every change A holds", || async {
        counts(&b).await == live
    })
    .await;

    // The manifest: a consistent snapshot from between the start and the end of the writes.
    assert_eq!(manifest.format, "allmende-backup");
    assert_eq!(manifest.version, 1);
    assert!(manifest.schema_version > 0, "{manifest:?}");
    assert_eq!(manifest.organisation, Some(format!("{org:#}")));
    for f in ["allmende.db", "identity.key", "node.key"] {
        assert!(manifest.files.contains_key(f), "{f} not in {manifest:?}");
    }
    assert!(
        manifest.files.values().all(|h| h.len() == 64),
        "{manifest:?}"
    );
    assert!(
        manifest.documents > 0 && manifest.changes > 0,
        "{manifest:?}"
    );
    assert!(
        pre.documents <= manifest.documents && manifest.documents <= live.documents,
        "backup {manifest:?}, before {pre:?}, final {live:?}"
    );
    assert!(
        pre.changes <= manifest.changes && manifest.changes < live.changes,
        "backup {manifest:?}, before {pre:?}, final {live:?}"
    );
    assert_eq!(manifest.certificates, live.certificates);
    let verified = {
        let dest = dest.clone();
        tokio::task::spawn_blocking(move || backup::verify(&dest))
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!(verified, manifest);

    // A goes away. Restoring over its store without force is refused and changes nothing.
    a.stop().await;
    let a_files = settled_store_files(&a.dir).await;
    assert!(!a_files.is_empty());
    let now = allmende_node::now().0;
    match backup::restore(&dest, &DataDir::new(a.dir.clone()), false, now) {
        Err(BackupError::Refused(_)) => {}
        other => panic!("restore over a store without force was not refused: {other:?}"),
    }
    assert_eq!(
        settled_store_files(&a.dir).await,
        a_files,
        "a refused restore changed the store"
    );
    assert!(
        std::fs::read_dir(&a.dir).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("before-restore")),
        "a refused restore moved files aside"
    );
    assert_eq!(store_counts(&a.dir), live);

    // Restore into a new data directory.
    let new_dir = tmp.path().join("a-restored");
    let restored = backup::restore(&dest, &DataDir::new(new_dir.clone()), false, now).unwrap();
    assert_eq!(restored, manifest);
    assert_eq!(DataDir::new(new_dir.clone()).identity().unwrap().org, org);
    assert_eq!(
        store_counts(&new_dir),
        Counts {
            documents: manifest.documents,
            changes: manifest.changes,
            certificates: manifest.certificates,
        }
    );
    // A second restore into it (it now holds a store) is refused as well.
    let restored_files = settled_store_files(&new_dir).await;
    assert!(matches!(
        backup::restore(&dest, &DataDir::new(new_dir.clone()), false, now),
        Err(BackupError::Refused(_))
    ));
    assert_eq!(settled_store_files(&new_dir).await, restored_files);

    // The restored node speaks for A and catches up from B with what the backup missed.
    let b_addr = b.addr().await.unwrap();
    let r = TestNode::start(&new_dir, None, &[b_addr]).await.unwrap();
    assert_eq!(r.node().unwrap().organisation(), Some(org));
    let ok = wait_until(WAIT, || async { counts(&r).await == live }).await;
    assert!(
        ok,
        "gave up after {WAIT:?}: the restored node holds {:?}, the live node held {live:?}",
        counts(&r).await
    );
    assert!(converged(&[&r, &b], live.documents, WAIT).await);
    let (report, sqlite_ok) = r
        .node()
        .unwrap()
        .repo
        .call(|s| {
            (
                s.repo().check_integrity().map_err(|e| e.to_string()),
                Store::integrity_check(s.repo().store()).map_err(|e| e.to_string()),
            )
        })
        .await
        .unwrap();
    sqlite_ok.unwrap();
    let report = report.unwrap();
    assert_eq!(
        (
            report.documents as u64,
            report.changes as u64,
            report.certificates as u64
        ),
        (live.documents, live.changes, live.certificates)
    );
}
