//! A hostile peer sends forged and unauthorised changes, garbage, oversized messages and a
//! request flood. Honest nodes store none of it, keep serving each other and block it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cloned_ref_to_slice_refs
)]

use std::time::Duration;

use allmende_protocol::change::{ReplicaId, SignedChange};
use allmende_protocol::doc::{DocHeader, DocKind, Document};
use allmende_protocol::schema::{Deployment, DeploymentStatus, OperatedBy, UnixTime};
use allmende_protocol::sync::{Announce, Gossip, RefusalCode, Request, Response};
use integration_tests::{TestNode, converged, product, wait_until};

const WAIT: Duration = Duration::from_secs(60);

struct Net {
    _tmp: tempfile::TempDir,
    h1: TestNode,
    h2: TestNode,
    x: TestNode,
}

async fn setup() -> Net {
    let tmp = tempfile::tempdir().unwrap();
    let h1 = TestNode::start(&tmp.path().join("h1"), Some("Stadt Ehrlich"), &[])
        .await
        .unwrap();
    let h1_addr = h1.addr().await.unwrap();
    let h2 = TestNode::start(
        &tmp.path().join("h2"),
        Some("Gemeinde Redlich"),
        &[h1_addr.clone()],
    )
    .await
    .unwrap();
    let x = TestNode::start(&tmp.path().join("x"), Some("Angreifer"), &[h1_addr])
        .await
        .unwrap();
    assert!(
        converged(&[&h1, &h2, &x], 3, WAIT).await,
        "initial sync failed"
    );
    // Gossipsub needs a moment to learn who subscribes to the topic.
    tokio::time::sleep(Duration::from_secs(2)).await;
    Net {
        _tmp: tmp,
        h1,
        h2,
        x,
    }
}

/// After an attack: the attacker is blocked and disconnected on H1, `reason` was counted,
/// nothing of the attack was stored, and the honest nodes keep syncing.
async fn assert_refused_and_blocked(net: &Net, reason: &str) {
    let x_peer = net.x.node().unwrap().net.peer_id().to_string();
    let blocked = wait_until(WAIT, || async {
        let s = net.h1.node().unwrap().net.status().await.unwrap();
        s.blocked.contains(&x_peer) && !s.peers.contains(&x_peer)
    })
    .await;
    let status = net.h1.node().unwrap().net.status().await.unwrap();
    assert!(
        blocked,
        "hostile peer was not blocked; rejected: {:?}",
        status.rejected
    );
    assert!(
        status.rejected.get(reason).copied().unwrap_or(0) >= 1,
        "{reason} not counted: {:?}",
        status.rejected
    );
    for h in [&net.h1, &net.h2] {
        let catalog = h
            .node()
            .unwrap()
            .repo
            .call(|s| s.repo().catalog().unwrap())
            .await
            .unwrap();
        assert!(
            catalog.deployments.is_empty(),
            "unauthorised deployment stored"
        );
        assert!(
            catalog
                .products
                .iter()
                .all(|p| p.product.name != "Gefälschtes Produkt"),
            "forged product stored"
        );
        assert_eq!(catalog.organisations.len(), 3);
    }
    net.h2.add_product("Nach dem Angriff").await.unwrap();
    assert!(
        converged(&[&net.h1, &net.h2], 4, WAIT).await,
        "honest nodes stopped syncing"
    );
}

fn unauthorised_announcement(net: &Net) -> Vec<u8> {
    let victim = DocHeader::singleton(DocKind::Deployments, net.h1.org().unwrap());
    let mut doc = Document::new(victim);
    let bad = Deployment {
        product: victim.id(),
        version: None,
        tasks: vec![],
        since: None,
        status: DeploymentStatus::Retired,
        operated_by: OperatedBy::Saas,
        integrations: vec![],
        end_to_end: None,
        cost_once_eur: Some(1),
        cost_yearly_eur: None,
    };
    let key = net.x.keypair().unwrap();
    let change = doc
        .edit(
            &key,
            ReplicaId([9; 16]),
            UnixTime(allmende_node::now().0),
            |ed| ed.put("evil", &bad),
        )
        .unwrap()
        .unwrap();
    Gossip::Announce(Announce {
        header: victim,
        changes: vec![change],
        certs: vec![],
    })
    .encode()
}

fn forged_announcement(net: &Net, seed: u8) -> Vec<u8> {
    let fake = DocHeader::product(net.x.org().unwrap(), [seed; 16]);
    let mut pdoc = Document::new(fake);
    let p = product("Gefälschtes Produkt");
    let key = net.x.keypair().unwrap();
    let good = pdoc
        .edit(
            &key,
            ReplicaId([seed; 16]),
            UnixTime(allmende_node::now().0),
            |ed| ed.put_root(&p),
        )
        .unwrap()
        .unwrap();
    let mut sig = *good.signature();
    sig[0] ^= 1;
    let forged = SignedChange::from_parts(good.doc(), good.signer(), sig, good.change().clone());
    Gossip::Announce(Announce {
        header: fake,
        changes: vec![forged],
        certs: vec![],
    })
    .encode()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_unauthorised_changes_are_refused_and_the_sender_blocked() {
    let net = setup().await;
    let xnet = net.x.node().unwrap().net.clone();
    xnet.raw_publish(unauthorised_announcement(&net))
        .await
        .unwrap()
        .unwrap();
    xnet.raw_publish(forged_announcement(&net, 3))
        .await
        .unwrap()
        .unwrap();
    assert_refused_and_blocked(&net, "unauthorised change").await;
    let s = net.h1.node().unwrap().net.status().await.unwrap();
    assert!(
        s.rejected.contains_key("forged or malformed change"),
        "{:?}",
        s.rejected
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_gossip_is_refused_and_the_sender_blocked() {
    let net = setup().await;
    let xnet = net.x.node().unwrap().net.clone();
    xnet.raw_publish(b"\x00garbage that is no message".to_vec())
        .await
        .unwrap()
        .unwrap();
    xnet.raw_publish(b"AMG\x01\x07 more garbage".to_vec())
        .await
        .unwrap()
        .unwrap();
    assert_refused_and_blocked(&net, "malformed gossip").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_requests_are_refused_and_the_sender_blocked() {
    let net = setup().await;
    let xnet = net.x.node().unwrap().net.clone();
    let h1 = net.h1.node().unwrap().net.peer_id();
    let answer = xnet
        .raw_request(h1, b"AMQ\x01\xff\xff junk".to_vec())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        Response::decode(&answer),
        Ok(Response::Refused {
            code: RefusalCode::Malformed,
            ..
        })
    ));
    let _ = xnet
        .raw_request(h1, b"not even a magic".to_vec())
        .await
        .unwrap();
    assert_refused_and_blocked(&net, "malformed request").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_requests_are_refused_and_the_sender_blocked() {
    let net = setup().await;
    let xnet = net.x.node().unwrap().net.clone();
    let h1 = net.h1.node().unwrap().net.peer_id();
    // The answer does not matter (the sender may be cut off mid-write); the node must refuse
    // the frame without reading it and penalise the sender.
    for _ in 0..2 {
        let n = xnet.clone();
        tokio::spawn(async move { n.raw_request(h1, vec![0u8; 2 * 1024 * 1024]).await });
    }
    assert_refused_and_blocked(&net, "oversized request").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_flood_is_rate_limited_and_the_sender_blocked() {
    let net = setup().await;
    let xnet = net.x.node().unwrap().net.clone();
    let h1 = net.h1.node().unwrap().net.peer_id();
    let valid = Request::Reconcile(vec![]).encode();
    // Waves small enough for the multiplexer, fast enough to outrun the refill rate, until
    // the node cuts the attacker off (bounded).
    let mut sent = 0;
    let mut limited = 0;
    'flood: while sent < 4000 {
        let mut wave = Vec::new();
        for _ in 0..40 {
            let (n, bytes) = (xnet.clone(), valid.clone());
            wave.push(tokio::spawn(async move { n.raw_request(h1, bytes).await }));
        }
        sent += wave.len();
        let mut failed = 0;
        for f in wave {
            match f.await {
                Ok(Ok(Ok(answer))) => {
                    if matches!(
                        Response::decode(&answer),
                        Ok(Response::Refused {
                            code: RefusalCode::RateLimited,
                            ..
                        })
                    ) {
                        limited += 1;
                    }
                }
                _ => failed += 1,
            }
        }
        if failed == 40 {
            break 'flood;
        }
    }
    eprintln!("flood: {sent} requests sent, {limited} answered with a rate-limit refusal");
    assert_refused_and_blocked(&net, "request flood").await;
}
