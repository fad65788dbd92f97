//! A hostile peer sends forged and unauthorised changes, garbage, oversized messages and a
//! request flood. Honest nodes store none of it, keep serving each other and block it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use allmende_protocol::change::{ReplicaId, SignedChange};
use allmende_protocol::doc::{DocHeader, DocKind, Document};
use allmende_protocol::schema::{Deployment, DeploymentStatus, OperatedBy, UnixTime};
use allmende_protocol::sync::{Announce, Gossip, Request};
use integration_tests::{TestNode, converged, product, wait_until};

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_peer_is_refused_and_blocked() {
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
    let x = TestNode::start(&tmp.path().join("x"), Some("Angreifer"), &[h1_addr.clone()])
        .await
        .unwrap();
    assert!(
        converged(&[&h1, &h2, &x], 3, WAIT).await,
        "initial sync failed"
    );
    // Give gossipsub time to learn the subscriptions.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let honest_before = h1.digest().await.unwrap();
    let xkey = x.keypair().unwrap();
    let now = UnixTime(allmende_node::now().0);

    // (a) A change to H1's deployments, signed by the attacker's key: unauthorised.
    let victim = DocHeader::singleton(DocKind::Deployments, h1.org().unwrap());
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
    let unauthorised = doc
        .edit(&xkey, ReplicaId([9; 16]), now, |ed| ed.put("evil", &bad))
        .unwrap()
        .unwrap();
    let gossip = Gossip::Announce(Announce {
        header: victim,
        changes: vec![unauthorised],
        certs: vec![],
    });
    x.node()
        .unwrap()
        .net
        .raw_publish(gossip.encode())
        .await
        .unwrap()
        .unwrap();

    // (b) A product change with a forged signature.
    let fake = DocHeader::product(x.org().unwrap(), [3; 16]);
    let mut pdoc = Document::new(fake);
    let p = product("Gefälschtes Produkt");
    let good = pdoc
        .edit(&xkey, ReplicaId([8; 16]), now, |ed| ed.put_root(&p))
        .unwrap()
        .unwrap();
    let mut sig = *good.signature();
    sig[0] ^= 1;
    let forged = SignedChange::from_parts(good.doc(), good.signer(), sig, good.change().clone());
    let gossip = Gossip::Announce(Announce {
        header: fake,
        changes: vec![forged],
        certs: vec![],
    });
    x.node()
        .unwrap()
        .net
        .raw_publish(gossip.encode())
        .await
        .unwrap()
        .unwrap();

    // (c) Garbage gossip.
    x.node()
        .unwrap()
        .net
        .raw_publish(b"\x00garbage that is no message".to_vec())
        .await
        .unwrap()
        .unwrap();

    let h1_peer = h1.node().unwrap().net.peer_id();
    let xnet = x.node().unwrap().net.clone();
    // (d) Garbage and (e) oversized requests.
    // (Depending on timing the attacker may already be blocked; then these fail to send.)
    let _ = xnet
        .raw_request(h1_peer, b"AMQ\x01\xff\xff junk".to_vec())
        .await
        .unwrap();
    let _ = xnet
        .raw_request(h1_peer, vec![0u8; 2 * 1024 * 1024])
        .await
        .unwrap();

    // (f) A request flood.
    let valid = Request::Reconcile(vec![]).encode();
    let mut flood = Vec::new();
    for _ in 0..400 {
        let net = xnet.clone();
        let bytes = valid.clone();
        flood.push(tokio::spawn(async move {
            net.raw_request(h1_peer, bytes).await
        }));
    }
    for f in flood {
        let _ = f.await;
    }

    // The attacker ends up blocked and disconnected.
    let x_peer = xnet.peer_id().to_string();
    let blocked = wait_until(WAIT, || async {
        let s = h1.node().unwrap().net.status().await.unwrap();
        s.blocked.contains(&x_peer) && !s.peers.contains(&x_peer)
    })
    .await;
    assert!(blocked, "hostile peer was not blocked");
    let status = h1.node().unwrap().net.status().await.unwrap();
    assert!(
        status.rejected.values().sum::<u64>() >= 3,
        "{:?}",
        status.rejected
    );

    // Nothing of it was stored on either honest node.
    for h in [&h1, &h2] {
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
    }
    assert_eq!(h1.digest().await.unwrap(), honest_before);

    // The honest nodes keep serving each other.
    h2.add_product("Nach dem Angriff").await.unwrap();
    assert!(
        converged(&[&h1, &h2], 4, WAIT).await,
        "honest nodes stopped syncing"
    );
}
