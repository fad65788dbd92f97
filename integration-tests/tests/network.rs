//! Multi-node tests with real libp2p swarms on 127.0.0.1.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cloned_ref_to_slice_refs
)]

use std::time::Duration;

use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::schema::{Deployment, Integration, IntegrationStatus, OrgKind, OrgProfile};
use integration_tests::{TestNode, converged, product, test_net, wait_until};

const WAIT: Duration = Duration::from_secs(60);

fn deployment(product: &DocHeader) -> Deployment {
    Deployment {
        cost_yearly_eur: Some(1000),
        ..integration_tests::deployment(product.id(), "1.0")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_behind_a_bootstrap_node_converge() {
    let tmp = tempfile::tempdir().unwrap();
    let boot = TestNode::start(&tmp.path().join("boot"), None, &[])
        .await
        .unwrap();
    let boot_addr = boot.addr().await.unwrap();
    let mut nodes = Vec::new();
    for i in 0..5 {
        let n = TestNode::start(
            &tmp.path().join(format!("n{i}")),
            Some(&format!("Gemeinde {i}")),
            &[boot_addr.clone()],
        )
        .await
        .unwrap();
        nodes.push(n);
    }
    // Each publishes a product and a deployment of it.
    for (i, n) in nodes.iter().enumerate() {
        let p = n.add_product(&format!("Produkt {i}")).await.unwrap();
        let d = deployment(&p);
        let header = DocHeader::singleton(DocKind::Deployments, n.org().unwrap());
        n.edit(header, move |ed| ed.put("d", &d)).await.unwrap();
    }
    // 5 profiles + 5 products + 5 deployment documents, on all six nodes.
    let mut all: Vec<&TestNode> = nodes.iter().collect();
    all.push(&boot);
    assert!(converged(&all, 15, WAIT).await, "nodes did not converge");
    let catalog = all[0]
        .node()
        .unwrap()
        .repo
        .call(|s| s.repo().catalog().unwrap())
        .await
        .unwrap();
    assert_eq!(catalog.deployments.len(), 5);
    assert_eq!(catalog.organisations.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_joiner_and_returning_node_catch_up() {
    let tmp = tempfile::tempdir().unwrap();
    let a = TestNode::start(&tmp.path().join("a"), Some("Stadt A"), &[])
        .await
        .unwrap();
    for i in 0..1000 {
        let h = DocHeader::product(a.org().unwrap(), (i as u128).to_be_bytes());
        let p = product(&format!("Produkt {i}"));
        a.edit(h, move |ed| ed.put_root(&p)).await.unwrap();
    }
    let a_addr = a.addr().await.unwrap();
    let mut b = TestNode::start(&tmp.path().join("b"), Some("Stadt B"), &[a_addr.clone()])
        .await
        .unwrap();
    // 1000 products and two profiles.
    assert!(
        converged(&[&a, &b], 1002, WAIT).await,
        "late joiner did not catch up"
    );

    // B goes offline; A changes things; B comes back.
    b.stop().await;
    for i in 0..20 {
        let h = DocHeader::product(a.org().unwrap(), (i as u128).to_be_bytes());
        let mut p = product(&format!("Produkt {i}"));
        p.description = Some(format!("überarbeitet {i}"));
        a.edit(h, move |ed| ed.put_root(&p)).await.unwrap();
    }
    a.add_product("Neu während B offline war").await.unwrap();
    b.restart().await.unwrap();
    assert!(
        converged(&[&a, &b], 1003, WAIT).await,
        "returning node did not catch up"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioned_groups_editing_one_product_converge_after_healing() {
    let tmp = tempfile::tempdir().unwrap();
    let a1 = TestNode::start(&tmp.path().join("a1"), Some("Stadt A1"), &[])
        .await
        .unwrap();
    let a1_addr = a1.addr().await.unwrap();
    let a2 = TestNode::start(&tmp.path().join("a2"), Some("Stadt A2"), &[a1_addr.clone()])
        .await
        .unwrap();
    let mut b1 = TestNode::start(&tmp.path().join("b1"), Some("Stadt B1"), &[a1_addr.clone()])
        .await
        .unwrap();
    let mut b2 = TestNode::start(&tmp.path().join("b2"), Some("Stadt B2"), &[a1_addr.clone()])
        .await
        .unwrap();
    let shared = a1.add_product("Gemeinsames Produkt").await.unwrap();
    // A2 and B2 look after the entry with its creator, so their edits are values, not
    // proposals (`stewardship`).
    let stewards = vec![a2.org().unwrap(), b2.org().unwrap()];
    let mut named = product("Gemeinsames Produkt");
    named.co_stewards = stewards.clone();
    a1.edit(shared, move |ed| ed.put_root(&named))
        .await
        .unwrap();
    assert!(
        converged(&[&a1, &a2, &b1, &b2], 5, WAIT).await,
        "initial sync failed"
    );

    // Partition: B1 and B2 restart knowing only each other.
    b1.stop().await;
    b2.stop().await;
    let mut b1 = {
        let dir = b1.dir.clone();
        drop(b1);
        TestNode::start(&dir, Some("Stadt B1"), &[]).await.unwrap()
    };
    let b1_addr = b1.addr().await.unwrap();
    let b2 = {
        let dir = b2.dir.clone();
        drop(b2);
        TestNode::start(&dir, Some("Stadt B2"), &[b1_addr])
            .await
            .unwrap()
    };
    // Concurrent edits of the same product on both sides, same and different fields.
    let mut pa = product("Gemeinsames Produkt");
    pa.co_stewards = stewards.clone();
    pa.description = Some("Sicht der Gruppe A".into());
    pa.cost_model = Some("Lizenz pro Einwohner".into());
    a2.edit(shared, move |ed| ed.put_root(&pa)).await.unwrap();
    let mut pb = product("Gemeinsames Produkt");
    pb.co_stewards = stewards;
    pb.description = Some("Sicht der Gruppe B".into());
    pb.sla = Some("99,5 %".into());
    b2.edit(shared, move |ed| ed.put_root(&pb)).await.unwrap();
    // Each side converges internally but differs from the other.
    assert!(converged(&[&a1, &a2], 5, WAIT).await);
    assert!(converged(&[&b1, &b2], 5, WAIT).await);
    assert_ne!(a1.digest().await.unwrap().0, b1.digest().await.unwrap().0);

    // Heal.
    b1.node().unwrap().net.dial(a1_addr).await.unwrap();
    assert!(
        converged(&[&a1, &a2, &b1, &b2], 5, WAIT).await,
        "partition did not heal"
    );
    let product = a1
        .node()
        .unwrap()
        .repo
        .call(move |s| s.repo().catalog().unwrap())
        .await
        .unwrap();
    let p = product
        .products
        .iter()
        .find(|p| p.id == shared.id())
        .unwrap();
    // Different fields both survive; the same field has one deterministic winner.
    assert_eq!(
        p.product.cost_model.as_deref(),
        Some("Lizenz pro Einwohner")
    );
    assert_eq!(p.product.sla.as_deref(), Some("99,5 %"));
    assert!(matches!(
        p.product.description.as_deref(),
        Some("Sicht der Gruppe A") | Some("Sicht der Gruppe B")
    ));
    b1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catch_up_of_one_changed_document_costs_a_small_fraction_of_a_full_transfer() {
    let tmp = tempfile::tempdir().unwrap();
    let a = TestNode::start(&tmp.path().join("a"), Some("Stadt A"), &[])
        .await
        .unwrap();
    for i in 0..999 {
        let h = DocHeader::product(a.org().unwrap(), (i as u128).to_be_bytes());
        let p = product(&format!("Produkt {i}"));
        a.edit(h, move |ed| ed.put_root(&p)).await.unwrap();
    }
    let a_addr = a.addr().await.unwrap();
    // B takes everything (a full transfer), then goes offline.
    let mut b = TestNode::start(&tmp.path().join("b"), None, &[a_addr.clone()])
        .await
        .unwrap();
    assert!(converged(&[&a, &b], 1000, WAIT).await);
    let full = b.node().unwrap().net.status().await.unwrap();
    let full_bytes = full.bytes_sent + full.bytes_received;
    b.stop().await;
    // One document changes while B is away.
    let h = DocHeader::product(a.org().unwrap(), 7u128.to_be_bytes());
    let mut p = product("Produkt 7");
    p.description = Some("geändert".into());
    a.edit(h, move |ed| ed.put_root(&p)).await.unwrap();
    b.restart().await.unwrap();
    assert!(converged(&[&a, &b], 1000, WAIT).await);
    // Let one more reconciliation round confirm the state, then measure.
    b.node().unwrap().net.sync_now().await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let delta = b.node().unwrap().net.status().await.unwrap();
    let delta_bytes = delta.bytes_sent + delta.bytes_received;
    eprintln!(
        "full transfer: {full_bytes} bytes; catch-up of one changed document: {delta_bytes} bytes"
    );
    assert!(
        delta_bytes * 20 < full_bytes,
        "catch-up of 1 of 1000 documents took {delta_bytes} bytes, a full transfer {full_bytes}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_clean_and_restart_keeps_data() {
    let tmp = tempfile::tempdir().unwrap();
    let mut a = TestNode::start(&tmp.path().join("a"), Some("Stadt A"), &[])
        .await
        .unwrap();
    a.add_product("Bleibt").await.unwrap();
    let before = a.digest().await.unwrap();
    a.stop().await;
    a.restart().await.unwrap();
    assert_eq!(a.digest().await.unwrap(), before);
    let ok = wait_until(Duration::from_secs(5), || async {
        a.node().unwrap().status().await.is_ok()
    })
    .await;
    assert!(ok);
}

/// Nodes sync over each transport a municipal network may allow.
async fn sync_over(listen: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg_a = integration_tests::test_net(&[]);
    cfg_a.listen = vec![listen.parse().unwrap()];
    let a = TestNode::start_with(&tmp.path().join("a"), Some("Stadt A"), cfg_a)
        .await
        .unwrap();
    a.add_product("Über alle Transporte").await.unwrap();
    let a_addr = a.addr().await.unwrap();
    assert!(a_addr.to_string().starts_with(&listen[..12]), "{a_addr}");
    let mut cfg_b = integration_tests::test_net(&[a_addr]);
    cfg_b.listen = vec![listen.parse().unwrap()];
    let b = TestNode::start_with(&tmp.path().join("b"), Some("Stadt B"), cfg_b)
        .await
        .unwrap();
    assert!(converged(&[&a, &b], 3, WAIT).await, "no sync over {listen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_sync_over_quic() {
    sync_over("/ip4/127.0.0.1/udp/0/quic-v1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_sync_over_websocket() {
    sync_over("/ip4/127.0.0.1/tcp/0/ws").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_delegate_is_refused_on_every_node() {
    use allmende_protocol::change::ReplicaId;
    use allmende_protocol::doc::Document;
    use allmende_protocol::identity::{Delegation, Revocation, Scope};
    use allmende_protocol::schema::UnixTime;
    use allmende_protocol::sync::{Announce, Cert, Gossip};

    let tmp = tempfile::tempdir().unwrap();
    let m = TestNode::start(&tmp.path().join("m"), Some("Gemeinde Mitglied"), &[])
        .await
        .unwrap();
    let m_addr = m.addr().await.unwrap();
    let d = TestNode::start(
        &tmp.path().join("d"),
        Some("IT-Dienstleister"),
        &[m_addr.clone()],
    )
    .await
    .unwrap();
    let n = TestNode::start(
        &tmp.path().join("n"),
        Some("Nachbarstadt"),
        &[m_addr.clone()],
    )
    .await
    .unwrap();
    assert!(converged(&[&m, &d, &n], 3, WAIT).await);
    let now = allmende_node::now();

    // The member delegates to the Dienstleister's key; the delegation spreads.
    let delegation = Delegation {
        issuer: m.org().unwrap(),
        delegate: d.keypair().unwrap().public(),
        scope: Scope::all(),
        not_before: UnixTime(now.0 - 60),
        not_after: UnixTime(now.0 + 86_400),
    }
    .sign(&m.keypair().unwrap())
    .unwrap();
    m.node()
        .unwrap()
        .repo
        .call(move |s| s.publish_cert(Cert::Delegation(delegation)))
        .await
        .unwrap()
        .unwrap();
    let certs = |n: &TestNode| {
        let repo = n.node().unwrap().repo.clone();
        async move {
            repo.call(|s| {
                allmende_node::store::Store::counts(s.repo().store())
                    .unwrap()
                    .certificates
            })
            .await
            .unwrap()
        }
    };
    assert!(
        wait_until(WAIT, || async {
            certs(&d).await == 1 && certs(&n).await == 1
        })
        .await
    );

    // The Dienstleister publishes a deployment for the member; everyone gets it.
    let member_deployments = DocHeader::singleton(DocKind::Deployments, m.org().unwrap());
    let p = m.add_product("Fachverfahren").await.unwrap();
    let dep = deployment(&p);
    let dkey = d.keypair().unwrap();
    d.node()
        .unwrap()
        .repo
        .call(move |s| {
            s.edit(&dkey, member_deployments, allmende_node::now(), |ed| {
                ed.put("by-provider", &dep)
            })
        })
        .await
        .unwrap()
        .unwrap();
    assert!(converged(&[&m, &d, &n], 5, WAIT).await);

    // The member revokes; the revocation spreads.
    let revocation = Revocation {
        issuer: m.keypair().unwrap().public(),
        subject: d.keypair().unwrap().public(),
        effective: UnixTime(allmende_node::now().0 + 1),
        reason: "Vertrag beendet".into(),
    }
    .sign(&m.keypair().unwrap())
    .unwrap();
    m.node()
        .unwrap()
        .repo
        .call(move |s| s.publish_cert(Cert::Revocation(revocation)))
        .await
        .unwrap()
        .unwrap();
    assert!(
        wait_until(WAIT, || async {
            certs(&d).await == 2 && certs(&n).await == 2
        })
        .await
    );
    tokio::time::sleep(Duration::from_secs(2)).await;

    // The Dienstleister's own node now refuses to make such a change…
    let dep2 = deployment(&p);
    let dkey = d.keypair().unwrap();
    let local = d
        .node()
        .unwrap()
        .repo
        .call(move |s| {
            s.edit(&dkey, member_deployments, allmende_node::now(), |ed| {
                ed.put("after-revocation", &dep2)
            })
        })
        .await
        .unwrap();
    assert!(
        local.is_err(),
        "the provider's node accepted its own revoked change"
    );
    // …and a change made anyway (by a node that ignores the revocation) is refused everywhere.
    let mut doc: Document = d
        .node()
        .unwrap()
        .repo
        .call(move |s| {
            s.repo()
                .document(&member_deployments.id())
                .unwrap()
                .unwrap()
        })
        .await
        .unwrap();
    let dep3 = deployment(&p);
    let sneaky = doc
        .edit(
            &d.keypair().unwrap(),
            ReplicaId([7; 16]),
            allmende_node::now(),
            |ed| ed.put("sneaky", &dep3),
        )
        .unwrap()
        .unwrap();
    let gossip = Gossip::Announce(Announce {
        header: member_deployments,
        changes: vec![sneaky],
        certs: vec![],
    });
    d.node()
        .unwrap()
        .net
        .raw_publish(gossip.encode())
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    for node in [&m, &n, &d] {
        let catalog = node
            .node()
            .unwrap()
            .repo
            .call(|s| s.repo().catalog().unwrap())
            .await
            .unwrap();
        let keys: Vec<&str> = catalog.deployments.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(
            keys,
            vec!["by-provider"],
            "a revoked delegate's change was stored"
        );
    }
}

/// Every row of `sql` on `node`'s store, each value in its debug form.
async fn rows(node: &TestNode, sql: &'static str) -> Vec<Vec<String>> {
    node.node()
        .unwrap()
        .repo
        .call(move |s| {
            let conn = s.repo().store().connection();
            let mut stmt = conn.prepare(sql).unwrap();
            let n = stmt.column_count();
            stmt.query_map([], |r| {
                (0..n)
                    .map(|i| Ok(format!("{:?}", r.get::<_, rusqlite::types::Value>(i)?)))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap()
        })
        .await
        .unwrap()
}

/// What a deferral drops and builds again, and what it recounts.
const DEFERRED_STATE: [&str; 3] = [
    "SELECT type, name, sql FROM sqlite_schema WHERE type IN ('index', 'trigger') ORDER BY name",
    "SELECT hex(product), deployments, in_use FROM idx_usage ORDER BY 1",
    "SELECT level, region, hex(product), deployments FROM idx_usage_region ORDER BY 1, 2, 3",
];

async fn same_index(a: &TestNode, b: &TestNode) {
    for sql in DEFERRED_STATE {
        let (x, y) = (rows(a, sql).await, rows(b, sql).await);
        assert!(!x.is_empty(), "{sql}: nothing to compare");
        assert_eq!(x, y, "{sql}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_catch_up_defers_the_product_indexes_and_ends_with_the_same_index() {
    let tmp = tempfile::tempdir().unwrap();
    let a = TestNode::start(&tmp.path().join("a"), Some("Stadt A"), &[])
        .await
        .unwrap();
    let org = a.org().unwrap();
    // A profile with an AGS, so deployments count per Land and Kreis too.
    let profile = OrgProfile {
        ags: Some("05315000".parse().unwrap()),
        population: Some(10_000),
        ..OrgProfile::new("Stadt A", OrgKind::Kommune)
    };
    a.edit(DocHeader::singleton(DocKind::Profile, org), move |ed| {
        ed.put_root(&profile)
    })
    .await
    .unwrap();
    let mut products = Vec::new();
    for i in 0..30 {
        products.push(a.add_product(&format!("Produkt {i}")).await.unwrap());
    }
    // Each product deployed, each deployment talking to the next product.
    let ps = products.clone();
    a.edit(DocHeader::singleton(DocKind::Deployments, org), move |ed| {
        for (i, p) in ps.iter().enumerate() {
            let d = Deployment {
                integrations: vec![Integration {
                    product: ps[(i + 1) % ps.len()].id(),
                    standard: "xmeld".into(),
                    status: IntegrationStatus::Works,
                }],
                ..deployment(p)
            };
            ed.put(&format!("d{i}"), &d)?;
        }
        Ok(())
    })
    .await
    .unwrap();

    // B counts 32 documents to fetch as a large catch-up, and defers once 5 are stored.
    let net = allmende_node::net::NetConfig {
        defer_indexes_at: 10,
        defer_after_stored: 5,
        ..test_net(&[a.addr().await.unwrap()])
    };
    let b = TestNode::start_with(&tmp.path().join("b"), None, net)
        .await
        .unwrap();
    assert!(converged(&[&a, &b], 32, WAIT).await, "B did not catch up");
    let deferred = |n: &TestNode| {
        let repo = n.node().unwrap().repo.clone();
        async move {
            repo.call(|s| (s.indexes_deferred(), s.metrics().index_deferrals))
                .await
                .unwrap()
        }
    };
    assert!(
        wait_until(WAIT, || async { !deferred(&b).await.0 }).await,
        "B's indexes stayed deferred"
    );
    assert_eq!(deferred(&b).await.1, 1, "B's catch-up did not defer");
    assert_eq!(deferred(&a).await.1, 0);
    same_index(&a, &b).await;

    // The triggers are back: a new deployment is counted on both.
    let p = products[3];
    a.edit(DocHeader::singleton(DocKind::Deployments, org), move |ed| {
        ed.put("neu", &deployment(&p))
    })
    .await
    .unwrap();
    assert!(
        wait_until(WAIT, || async {
            rows(&b, DEFERRED_STATE[1]).await == rows(&a, DEFERRED_STATE[1]).await
        })
        .await,
        "B's deployment counts did not follow"
    );
    same_index(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexes_left_deferred_by_an_interrupted_catch_up_are_built_at_the_next_start() {
    let tmp = tempfile::tempdir().unwrap();
    let mut a = TestNode::start(&tmp.path().join("a"), Some("Stadt A"), &[])
        .await
        .unwrap();
    let p = a.add_product("Produkt").await.unwrap();
    let org = a.org().unwrap();
    a.edit(DocHeader::singleton(DocKind::Deployments, org), move |ed| {
        ed.put("d", &deployment(&p))
    })
    .await
    .unwrap();
    let before: Vec<_> = deferred_state(&a).await;
    a.node()
        .unwrap()
        .repo
        .call(|s| s.defer_indexes())
        .await
        .unwrap();
    assert_ne!(
        deferred_state(&a).await[0],
        before[0],
        "nothing was dropped"
    );
    // What a kill leaves on disk: the drop is committed, the node is gone.
    a.stop().await;
    a.restart().await.unwrap();
    assert_eq!(deferred_state(&a).await, before);
}

async fn deferred_state(n: &TestNode) -> Vec<Vec<Vec<String>>> {
    let mut out = Vec::new();
    for sql in DEFERRED_STATE {
        out.push(rows(n, sql).await);
    }
    out
}

/// One key signs two different changes with one actor and sequence number (a fork, which
/// Automerge refuses in whichever order it meets them). Two nodes apart each get one branch,
/// then connect: both must find the proof, keep the same changes (neither branch, the shared
/// change) and show the same catalog and heads; the key is marked as equivocating.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_equivocating_key_cannot_fork_a_document_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let a = TestNode::start_http(&tmp.path().join("a"), Some("Stadt A"), &[])
        .await
        .unwrap();
    let b = TestNode::start(&tmp.path().join("b"), Some("Stadt B"), &[])
        .await
        .unwrap();
    let x = allmende_protocol::identity::Keypair::from_secret_bytes(&[0x66; 32]).unwrap();
    let x_org = allmende_protocol::ids::OrgId::from_root_key(x.public());
    let fork = integration_tests::attacks::equivocation(&x, [7; 16]).unwrap();
    let header = fork.header;
    // The equivocating key's organisation has a profile both nodes hold.
    let x_profile = DocHeader::singleton(DocKind::Profile, x_org);
    let profile = allmende_protocol::doc::Document::new(x_profile)
        .edit(
            &x,
            allmende_protocol::change::ReplicaId([0x61; 16]),
            allmende_node::now(),
            |ed| ed.put_root(&OrgProfile::new("Gemeinde Gabel", OrgKind::Kommune)),
        )
        .unwrap()
        .unwrap();
    for n in [&a, &b] {
        let (repo, p) = (n.node().unwrap().repo.clone(), profile.clone());
        let now = allmende_node::now();
        let stored = repo
            .call(move |s| s.ingest(x_profile, vec![p], vec![], now))
            .await
            .unwrap();
        assert!(matches!(
            stored,
            allmende_node::repo_actor::Outcome::Stored(_)
        ));
    }
    let give = |n: &TestNode, changes: Vec<allmende_protocol::change::SignedChange>| {
        let repo = n.node().unwrap().repo.clone();
        async move {
            let now = allmende_node::now();
            repo.call(move |s| s.ingest(header, changes, vec![], now))
                .await
                .unwrap()
        }
    };
    let mut left = vec![fork.shared.clone()];
    left.extend(fork.left.clone());
    let mut right = vec![fork.shared.clone()];
    right.extend(fork.right.clone());
    assert!(matches!(
        give(&a, left).await,
        allmende_node::repo_actor::Outcome::Stored(_)
    ));
    assert!(matches!(
        give(&b, right).await,
        allmende_node::repo_actor::Outcome::Stored(_)
    ));
    let heads = |n: &TestNode| {
        let repo = n.node().unwrap().repo.clone();
        async move {
            repo.call(move |s| s.heads_of(header.id().as_bytes()))
                .await
                .unwrap()
        }
    };
    assert_ne!(
        heads(&a).await,
        heads(&b).await,
        "apart, the branches differ"
    );

    let b_addr = b.addr().await.unwrap();
    a.node().unwrap().net.dial(b_addr).await.unwrap();
    let proofs = |n: &TestNode| {
        let repo = n.node().unwrap().repo.clone();
        async move {
            repo.call(|s| {
                s.repo()
                    .certificates()
                    .equivocations()
                    .map(|p| (p.doc(), p.signer(), p.seq()))
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap()
        }
    };
    let settled = wait_until(Duration::from_secs(30), || async {
        let (pa, pb) = (proofs(&a).await, proofs(&b).await);
        !pa.is_empty()
            && pa == pb
            && heads(&a).await == heads(&b).await
            && a.digest().await.unwrap() == b.digest().await.unwrap()
    })
    .await;
    assert!(
        settled,
        "heads {:?} / {:?}, proofs {:?} / {:?}",
        heads(&a).await,
        heads(&b).await,
        proofs(&a).await,
        proofs(&b).await
    );
    assert_eq!(proofs(&a).await, vec![(header.id(), x.public(), 1)]);
    // What stays is the change both branches built on.
    assert_eq!(heads(&a).await, vec![fork.shared.hash()]);
    // The fork's later changes stay refused, and honest writing goes on.
    assert!(matches!(
        give(&a, fork.left.clone()).await,
        allmende_node::repo_actor::Outcome::Refused(_)
    ));
    a.add_product("Nach der Gabelung").await.unwrap();
    assert!(converged(&[&a, &b], 5, WAIT).await);
    // The organisation page says so.
    let addr = a.http_addr().unwrap().to_string();
    let (code, page) = integration_tests::http(
        &addr,
        "GET",
        &format!("/organisationen/{x_org:#}"),
        None,
        "",
        WAIT,
    )
    .unwrap();
    assert_eq!(code, 200, "{page}");
    assert!(
        page.contains("Widersprüchliche Änderungen signiert"),
        "{page}"
    );
    assert!(page.contains(&format!("{:#}", x.public())), "{page}");
    // One of the two found the fork itself, and counts it where operators look.
    let found = |n: &TestNode| {
        let repo = n.node().unwrap().repo.clone();
        async move {
            repo.call(|s| s.metrics().refused.get("equivocation found").copied())
                .await
                .unwrap()
                .unwrap_or(0)
        }
    };
    assert!(found(&a).await + found(&b).await >= 1);
    let (_, metrics) = integration_tests::http(&addr, "GET", "/metrics", None, "", WAIT).unwrap();
    assert!(
        metrics.contains("# TYPE allmende_refused_changes_total counter"),
        "{metrics}"
    );
}
