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
use integration_tests::{TestNode, attacks, converged, product, wait_until};

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

/// Publishes raw bytes from the attacker on the announcement topic; fails the test if they
/// cannot be sent (no peer subscribed, a gossip duplicate).
async fn publish(net: &allmende_node::net::NetHandle, bytes: Vec<u8>) {
    net.raw_publish(bytes).await.unwrap().unwrap();
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
        contact_role: None,
        exchange_ok: None,
        until: None,
        replaced_by: None,
        end_reason: None,
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
    publish(&xnet, unauthorised_announcement(&net)).await;
    publish(&xnet, forged_announcement(&net, 3)).await;
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
    publish(&xnet, b"\x00garbage that is no message".to_vec()).await;
    publish(&xnet, b"AMG\x01\x07 more garbage".to_vec()).await;
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

// ---------------------------------------------------------------------------------------
// Round 2 (issue 21): what a peer can do within the protocol's rules.
// ---------------------------------------------------------------------------------------

/// A change signed by the attacker for its own product, declaring 2^50 ops in a few hundred
/// bytes: refused before Automerge parses it, and the sender blocked. The node keeps
/// answering (it does not spin on the bomb).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_decode_bomb_is_refused_before_parsing_and_the_sender_blocked() {
    let net = setup().await;
    let xnet = net.x.node().unwrap().net.clone();
    let key = net.x.keypair().unwrap();
    for (n, ops) in [(1u8, 1u64 << 50), (2, 100_000_000)] {
        let bomb = attacks::decode_bomb(&key, [n; 16], ops).unwrap();
        let header = DocHeader::product(net.x.org().unwrap(), [n; 16]);
        publish(&xnet, attacks::raw_announcement(header, &[bomb])).await;
    }
    assert_refused_and_blocked(&net, "forged or malformed change").await;
}

/// Any key can sign a revocation of any key. One whose issuer has no authority over the
/// subject is refused before any work, stored nowhere and not forwarded. Its sender is not
/// blocked: an honest peer may forward a revocation before the delegation it revokes
/// arrives here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_without_authority_is_refused_stored_nowhere_and_not_forwarded() {
    let net = setup().await;
    let xnet = net.x.node().unwrap().net.clone();
    let key = net.x.keypair().unwrap();
    let certs = |n: &TestNode| {
        let repo = n.node().unwrap().repo.clone();
        async move {
            repo.call(|s| {
                allmende_node::store::Store::certs(s.repo().store())
                    .unwrap()
                    .len()
            })
            .await
            .unwrap()
        }
    };
    let before = certs(&net.h1).await;
    for i in 0..2 {
        let victim = net.h1.keypair().unwrap().public();
        publish(&xnet, attacks::foreign_revocation(&key, victim, i).unwrap()).await;
    }
    let counted = wait_until(WAIT, || async {
        let s = net.h1.node().unwrap().net.status().await.unwrap();
        s.rejected
            .get("gossip held back: revocation without authority")
            .is_some_and(|n| *n >= 1)
    })
    .await;
    let s = net.h1.node().unwrap().net.status().await.unwrap();
    assert!(counted, "{:?}", s.rejected);
    assert!(!s.blocked.contains(&xnet.peer_id().to_string()));
    assert_eq!(certs(&net.h1).await, before);
    assert_eq!(certs(&net.h2).await, before);
    // The honest nodes keep syncing.
    net.h2.add_product("Nach dem Angriff").await.unwrap();
    assert!(converged(&[&net.h1, &net.h2, &net.x], 4, WAIT).await);
}

/// A peer names 60,000 documents nobody has, so the node queues fetches from it, then leaves.
/// Its queue must go with it: peer ids are free, and every queue kept would be memory, and a
/// reason to defer the product indexes, for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_leaves_takes_its_fetch_queue_with_it() {
    let mut net = setup().await;
    let xnet = net.x.node().unwrap().net.clone();
    let h1 = net.h1.node().unwrap().net.peer_id();
    for seed in 1..=4u8 {
        let answer = xnet
            .raw_request(h1, attacks::phantom_inventory(15_000, seed))
            .await
            .unwrap()
            .unwrap();
        assert!(
            matches!(Response::decode(&answer), Ok(Response::Reconcile(_))),
            "a well-formed reconciliation is answered"
        );
    }
    let queued = net
        .h1
        .node()
        .unwrap()
        .net
        .status()
        .await
        .unwrap()
        .pending_fetches;
    net.x.stop().await;
    let x_peer = xnet.peer_id().to_string();
    let freed = wait_until(WAIT, || async {
        let s = net.h1.node().unwrap().net.status().await.unwrap();
        !s.peers.contains(&x_peer) && s.pending_fetches == 0
    })
    .await;
    let s = net.h1.node().unwrap().net.status().await.unwrap();
    assert!(
        freed,
        "{} fetches still wait for a peer that left ({queued} right after the attack)",
        s.pending_fetches
    );
    let status = net.h1.node().unwrap().status().await.unwrap();
    assert!(!status.indexes_deferred, "the indexes stay deferred");
    net.h2.add_product("Danach").await.unwrap();
    assert!(converged(&[&net.h1, &net.h2], 4, WAIT).await);
}

/// A fetch of a few hundred bytes naming one document 64 times gets it once, not 64 copies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_that_repeats_a_want_is_answered_once() {
    let net = setup().await;
    let xnet = net.x.node().unwrap().net.clone();
    let h1 = net.h1.node().unwrap().net.peer_id();
    let profile = DocHeader::singleton(DocKind::Profile, net.h1.org().unwrap());
    let answer = xnet
        .raw_request(h1, attacks::repeated_want(*profile.id().as_bytes(), 64))
        .await
        .unwrap()
        .unwrap();
    match Response::decode(&answer) {
        Ok(Response::Fetched(objects)) => assert_eq!(objects.len(), 1, "{objects:?}"),
        other => panic!("{other:?}"),
    }
}

/// Replays of a stored change in new wrappers (each with its own message id) and heads-only
/// announcements of documents that do not exist are not forwarded; neither is provably
/// malicious, so the sender is not blocked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_and_unverifiable_announcements_are_not_forwarded() {
    let net = setup().await;
    let xnet = net.x.node().unwrap().net.clone();
    let header = net.h1.add_product("Echt").await.unwrap();
    assert!(converged(&[&net.h1, &net.h2, &net.x], 4, WAIT).await);
    let change = net
        .x
        .node()
        .unwrap()
        .repo
        .call(move |s| s.repo().signed_changes(&header.id()).unwrap())
        .await
        .unwrap()
        .remove(0);
    for bytes in attacks::replays(header, &change, 5) {
        publish(&xnet, bytes).await;
    }
    for n in 0..3u8 {
        let phantom = DocHeader::product(net.x.org().unwrap(), [n; 16]);
        publish(&xnet, attacks::phantom_announcement(phantom)).await;
    }
    let held = wait_until(WAIT, || async {
        let s = net.h1.node().unwrap().net.status().await.unwrap();
        s.rejected
            .get("gossip held back: nothing new")
            .is_some_and(|n| *n >= 1)
            && s.rejected
                .get("gossip held back: unverifiable announcement")
                .is_some_and(|n| *n >= 1)
    })
    .await;
    let s = net.h1.node().unwrap().net.status().await.unwrap();
    assert!(held, "{:?}", s.rejected);
    let x_peer = xnet.peer_id().to_string();
    assert!(!s.blocked.contains(&x_peer));
}

/// A victim with `net` settings and `n` attackers (no organisation) connected to it. Neither
/// side reconciles on a timer, so only the requests a test sends count.
async fn victim_and_attackers(
    dir: &std::path::Path,
    net: allmende_node::net::NetConfig,
    n: usize,
) -> (TestNode, Vec<TestNode>) {
    let quiet = Duration::from_secs(3600);
    let net = allmende_node::net::NetConfig {
        reconcile_interval: quiet,
        ..net
    };
    let h1 = TestNode::start_with(&dir.join("h1"), Some("Stadt Ehrlich"), net)
        .await
        .unwrap();
    let h1_addr = h1.addr().await.unwrap();
    let mut xs = Vec::new();
    for i in 0..n {
        let x_net = allmende_node::net::NetConfig {
            reconcile_interval: quiet,
            ..integration_tests::test_net(&[h1_addr.clone()])
        };
        let x = TestNode::start_with(&dir.join(format!("x{i}")), None, x_net)
            .await
            .unwrap();
        xs.push(x);
    }
    assert!(
        wait_until(WAIT, || async {
            h1.node().unwrap().net.status().await.unwrap().peers.len() >= n
        })
        .await
    );
    (h1, xs)
}

/// New peer ids are free: three attackers from 127.0.0.1, each within its own request limit,
/// together exceed their address's share. The excess is refused without blocking anyone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_ids_from_one_address_share_one_request_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let net = allmende_node::net::NetConfig {
        requests_per_second: 0.5,
        request_burst: 6.0,
        address_share: 2.0,
        ..integration_tests::test_net(&[])
    };
    let (h1, xs) = victim_and_attackers(tmp.path(), net, 3).await;
    let h1_peer = h1.node().unwrap().net.peer_id();
    let valid = Request::Reconcile(vec![]).encode();
    let (mut answered, mut limited) = (0, 0);
    for x in &xs {
        // Five each, fifteen in all: more than the address's burst of twelve whatever the
        // sessions at connect used, each peer within (or just at) its own burst of six.
        for _ in 0..5 {
            let answer = x
                .node()
                .unwrap()
                .net
                .raw_request(h1_peer, valid.clone())
                .await
                .unwrap()
                .unwrap();
            match Response::decode(&answer) {
                Ok(Response::Refused {
                    code: RefusalCode::RateLimited,
                    ..
                }) => limited += 1,
                _ => answered += 1,
            }
        }
    }
    let s = h1.node().unwrap().net.status().await.unwrap();
    eprintln!("answered {answered}, limited {limited}; {:?}", s.rejected);
    assert!(answered <= 12, "the address's burst is twelve");
    assert!(limited >= 1, "nothing was limited");
    assert!(
        s.blocked.is_empty(),
        "a peer within its own limit was blocked"
    );
    assert!(
        s.rejected.contains_key("address over its request limit"),
        "{:?}",
        s.rejected
    );
}

/// An empty item list of twenty bytes is answered with every key the node holds, by design
/// (a new node learns a whole inventory at once). A stream of them draws the node's upload
/// only up to the peer's byte budget for reconciliation replies; beyond it they are refused,
/// without blocking (a new node may need the burst).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_replies_are_bounded_in_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let net = allmende_node::net::NetConfig {
        reconcile_reply_rate: 10.0,
        reconcile_reply_burst: 12_000.0,
        ..integration_tests::test_net(&[])
    };
    let (h1, xs) = victim_and_attackers(tmp.path(), net, 1).await;
    for i in 0..60 {
        h1.add_product(&format!("Produkt {i}")).await.unwrap();
    }
    let (x, h1_peer) = (&xs[0], h1.node().unwrap().net.peer_id());
    // The whole key space, "I hold nothing": 20 bytes.
    let empty = Request::Reconcile(allmende_protocol::sync::initiate(
        &allmende_protocol::sync::Inventory::new(),
    ))
    .encode();
    let (mut answered, mut limited, mut biggest) = (0, 0, 0);
    for _ in 0..8 {
        let answer = x
            .node()
            .unwrap()
            .net
            .raw_request(h1_peer, empty.clone())
            .await
            .unwrap()
            .unwrap();
        match Response::decode(&answer) {
            Ok(Response::Refused {
                code: RefusalCode::RateLimited,
                ..
            }) => limited += 1,
            Ok(Response::Reconcile(_)) => {
                answered += 1;
                biggest = biggest.max(answer.len());
            }
            other => panic!("{other:?}"),
        }
    }
    let s = h1.node().unwrap().net.status().await.unwrap();
    eprintln!("answered {answered} (up to {biggest} bytes each), limited {limited}");
    assert!(
        biggest > 50 * 64,
        "the reply lists every key ({biggest} bytes)"
    );
    assert!((1..=3).contains(&answered), "{answered} answered");
    assert!(limited >= 5, "{limited} limited");
    assert!(s.blocked.is_empty());
    assert!(
        s.rejected
            .contains_key("reconciliation over its byte budget"),
        "{:?}",
        s.rejected
    );
}

/// Gossip about documents outside a scoped node's trust scope is turned away on its header
/// and charged per document: a node in open mode relaying many changes to one such document
/// (an unattested organisation's import) stays connected, one pushing many such documents is
/// blocked as a flood.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_outside_the_scope_is_charged_per_document_and_a_flood_of_documents_blocked() {
    let tmp = tempfile::tempdir().unwrap();
    // The victim follows an anchor nobody here is attested by: its scope is the anchor and
    // itself.
    let anchor = allmende_protocol::ids::OrgId::from_root_key(
        allmende_protocol::identity::Keypair::from_secret_bytes(&[9; 32])
            .unwrap()
            .public(),
    );
    let victim = TestNode::start_scoped(
        &tmp.path().join("v"),
        Some("Stadt Vorsichtig"),
        &[],
        vec![anchor],
    )
    .await
    .unwrap();
    let v_addr = victim.addr().await.unwrap();
    let relay = TestNode::start(
        &tmp.path().join("r"),
        Some("Offener Knoten"),
        &[v_addr.clone()],
    )
    .await
    .unwrap();
    let flood = TestNode::start(&tmp.path().join("f"), Some("Flut"), &[v_addr])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let status = || async { victim.node().unwrap().net.status().await.unwrap() };

    // 700 changes to one document of the (unattested) relay.
    let key = relay.keypair().unwrap();
    let header = DocHeader::singleton(DocKind::Deployments, relay.org().unwrap());
    let mut doc = Document::new(header);
    for i in 0..700u32 {
        let c = doc
            .edit(
                &key,
                ReplicaId([3; 16]),
                UnixTime(1_700_000_000 + i64::from(i)),
                |ed| {
                    ed.put(
                        &format!("d{i}"),
                        &integration_tests::deployment(header.id(), "1"),
                    )
                },
            )
            .unwrap()
            .unwrap();
        let g = Gossip::Announce(Announce {
            header,
            changes: vec![c],
            certs: vec![],
        });
        publish(&relay.node().unwrap().net, g.encode()).await;
    }
    // 700 documents of the flooding key.
    let key = flood.keypair().unwrap();
    for i in 0..700u32 {
        let mut nonce = [0u8; 16];
        nonce[..4].copy_from_slice(&i.to_be_bytes());
        let header = DocHeader::product(flood.org().unwrap(), nonce);
        let c = Document::new(header)
            .edit(&key, ReplicaId([4; 16]), UnixTime(1_700_000_000), |ed| {
                ed.put_root(&product(&format!("Flut {i}")))
            })
            .unwrap()
            .unwrap();
        let g = Gossip::Announce(Announce {
            header,
            changes: vec![c],
            certs: vec![],
        });
        if flood
            .node()
            .unwrap()
            .net
            .raw_publish(g.encode())
            .await
            .unwrap()
            .is_err()
        {
            break;
        }
    }
    let flood_peer = flood.node().unwrap().net.peer_id().to_string();
    let relay_peer = relay.node().unwrap().net.peer_id().to_string();
    assert!(
        wait_until(WAIT, || async {
            status().await.blocked.contains(&flood_peer)
        })
        .await,
        "the flood was not blocked: {:?}",
        status().await.rejected
    );
    let s = status().await;
    assert!(
        !s.blocked.contains(&relay_peer),
        "the relay was blocked: {:?}",
        s.rejected
    );
    assert!(s.peers.contains(&relay_peer), "{s:?}");
    assert!(
        s.rejected
            .get("gossip held back: outside the trust scope")
            .copied()
            .unwrap_or(0)
            >= 700,
        "{:?}",
        s.rejected
    );
    // Nothing of either is stored.
    let docs = victim
        .node()
        .unwrap()
        .repo
        .call(|s| {
            allmende_node::store::Store::counts(s.repo().store())
                .unwrap()
                .documents
        })
        .await
        .unwrap();
    assert_eq!(docs, 1, "only the victim's own profile");
}
