//! Replication by trust scope (issue 22) on the repository thread: a node that follows an
//! anchor stores what its scope signed and quarantines the rest, within a quota per key and a
//! cap in bytes; it does not ask peers again for a version it refused; a peer pushing the same
//! refused changes again is told apart; an organisation attested later is taken in.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use allmende_node::quarantine::QuarantineLimits;
use allmende_node::repo::{Ingested, Repo};
use allmende_node::repo_actor::{self, Outcome, RepoHandle, TrustPolicy};
use allmende_node::store::{SqliteStore, Store};
use allmende_protocol::change::{ReplicaId, SignedChange};
use allmende_protocol::doc::{DocHeader, DocKind, Document};
use allmende_protocol::identity::Keypair;
use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::schema::{
    Attestation, Deployment, DeploymentStatus, OperatedBy, OrgKind, Product, ProductKind, UnixTime,
};
use allmende_protocol::sync::{self, Mode, Range};

const T0: i64 = 1_700_000_000;
const NOW: UnixTime = UnixTime(T0 + 100_000);

fn kp(seed: u8) -> Keypair {
    Keypair::from_secret_bytes(&[seed; 32]).unwrap()
}

fn org(seed: u8) -> OrgId {
    OrgId::from_root_key(kp(seed).public())
}

/// `n` changes to `owner`'s deployments document, signed by `owner`.
fn deployments(owner: u8, n: u32) -> (DocHeader, Vec<SignedChange>) {
    let header = DocHeader::singleton(DocKind::Deployments, org(owner));
    let mut doc = Document::new(header);
    let out = (0..n)
        .map(|i| {
            let d = Deployment {
                version: Some(format!("{i}.0")),
                ..Deployment::new(
                    DocId::from_bytes([9; 32]),
                    DeploymentStatus::Production,
                    OperatedBy::Itself,
                )
            };
            doc.edit(
                &kp(owner),
                ReplicaId([1; 16]),
                UnixTime(T0 + i64::from(i)),
                |ed| ed.put(&format!("d{i}"), &d),
            )
            .unwrap()
            .unwrap()
        })
        .collect();
    (header, out)
}

/// The anchor `anchor`'s trust document attesting `orgs`, one change each.
fn attestations(anchor: u8, orgs: &[u8]) -> (DocHeader, Vec<SignedChange>) {
    let header = DocHeader::singleton(DocKind::Trust, org(anchor));
    let mut doc = Document::new(header);
    let out = orgs
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let a = Attestation {
                org: org(*o),
                name: format!("Stadt {o}"),
                kind: OrgKind::Kommune,
                ags: None,
                attested_at: UnixTime(T0),
            };
            doc.edit(
                &kp(anchor),
                ReplicaId([1; 16]),
                UnixTime(T0 + i as i64),
                |ed| ed.put(&format!("{:#}", org(*o)), &a),
            )
            .unwrap()
            .unwrap()
        })
        .collect();
    (header, out)
}

fn spawn(policy: TrustPolicy) -> RepoHandle {
    let repo = Repo::open(SqliteStore::open_in_memory().unwrap(), ReplicaId([7; 16])).unwrap();
    let (tx, _rx) = tokio::sync::mpsc::channel(1024);
    repo_actor::spawn(repo, tx, policy).unwrap()
}

async fn ingest(node: &RepoHandle, (header, changes): (DocHeader, Vec<SignedChange>)) -> Ingested {
    match node
        .call(move |s| s.ingest(header, changes, vec![], NOW))
        .await
        .unwrap()
    {
        Outcome::Stored(i) => i,
        Outcome::Refused(e) => panic!("refused: {e}"),
    }
}

async fn holds(node: &RepoHandle, id: DocId) -> bool {
    node.call(move |s| s.repo().store().heads(&id).unwrap().is_some())
        .await
        .unwrap()
}

/// What a peer holding `items` makes this node ask for (one id-list exchange).
async fn need(node: &RepoHandle, mut items: Vec<(sync::Key, sync::Value)>) -> Vec<sync::Key> {
    items.sort();
    node.call(move |s| {
        s.reconcile(&[Range {
            lower: [0; 32],
            upper: None,
            mode: Mode::IdList(items),
        }])
        .unwrap()
        .need
        .into_iter()
        .map(|(k, _)| k)
        .collect()
    })
    .await
    .unwrap()
}

fn digest_of(changes: &[SignedChange]) -> sync::Value {
    let all: Vec<&SignedChange> = changes.iter().collect();
    sync::heads_digest(&allmende_node::quarantine::heads_with(&[], &all))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_stores_its_scope_and_quarantines_what_a_stranger_signs() {
    let node = spawn(TrustPolicy::new(vec![org(1)], vec![]));
    // The anchor attests organisation 2; organisation 3 is a stranger.
    let trust = ingest(&node, attestations(1, &[2])).await;
    assert_eq!(trust.new_changes, 1);
    let attested = deployments(2, 3);
    let id2 = attested.0.id();
    let done = ingest(&node, attested).await;
    assert_eq!((done.new_changes, done.out_of_scope), (3, 0));
    assert!(holds(&node, id2).await);

    let stranger = deployments(3, 3);
    let id3 = stranger.0.id();
    let stranger_changes = stranger.1.clone();
    let done = ingest(&node, stranger.clone()).await;
    assert_eq!((done.new_changes, done.out_of_scope), (0, 3), "{done:?}");
    assert!(!done.refused_again, "the first time is news");
    assert!(
        !holds(&node, id3).await,
        "not stored, so not indexed or offered"
    );
    let q = node.call(|s| s.quarantine_stats()).await.unwrap();
    assert_eq!((q.documents, q.keys), (1, 1), "{q:?}");
    assert!(q.bytes > 0);

    // The same changes again: a push of refused content.
    let again = ingest(&node, stranger).await;
    assert!(again.refused_again && again.out_of_scope == 3, "{again:?}");

    // A peer holding the refused version is not asked for it again; one holding an unknown
    // document is.
    let unknown = [5u8; 32];
    let asked = need(
        &node,
        vec![
            (*id3.as_bytes(), digest_of(&stranger_changes)),
            (unknown, [1; 32]),
        ],
    )
    .await;
    assert_eq!(asked, vec![unknown]);
    // A newer version of the refused document (another value) is asked for once.
    let asked = need(&node, vec![(*id3.as_bytes(), [2; 32])]).await;
    assert_eq!(asked, vec![*id3.as_bytes()]);

    // The anchor attests the stranger: the quarantined document is taken in, and the refused
    // version is wanted again.
    let both = attestations(1, &[2, 3]);
    let done = ingest(&node, both).await;
    assert_eq!(done.new_changes, 1, "the second attestation");
    assert!(holds(&node, id3).await, "taken from the quarantine");
    let q = node.call(|s| s.quarantine_stats()).await.unwrap();
    assert_eq!(q.documents, 0, "{q:?}");
    let scope = node.call(|s| s.trust_scope().clone()).await.unwrap();
    assert!(scope.organisations.contains(&org(3)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strangers_edit_of_a_product_in_scope_is_refused_with_what_builds_on_it() {
    let node = spawn(TrustPolicy::new(vec![org(1)], vec![]));
    ingest(&node, attestations(1, &[2])).await;
    // Organisation 2 creates a product; the stranger 3 defaces it; 2 edits again on top.
    let header = DocHeader::product(org(2), [4; 16]);
    let mut doc = Document::new(header);
    let mut edit = |who: u8, name: &str, t: i64| {
        let p = Product::new(name, "Beispiel GmbH", ProductKind::Fachverfahren);
        doc.edit(&kp(who), ReplicaId([who; 16]), UnixTime(T0 + t), |ed| {
            ed.put_root(&p)
        })
        .unwrap()
        .unwrap()
    };
    let created = edit(2, "Meldewesen Plus", 1);
    let defaced = edit(3, "GEKAPERT", 2);
    let on_top = edit(2, "Meldewesen Plus 2", 3);
    let done = ingest(&node, (header, vec![created.clone(), defaced, on_top])).await;
    assert_eq!((done.new_changes, done.out_of_scope), (1, 2), "{done:?}");
    let heads = node
        .call(move |s| s.repo().store().heads(&header.id()).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(heads, vec![created.hash()], "only the creation is stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quarantine_holds_a_few_documents_per_key_and_stays_under_its_cap() {
    let limits = QuarantineLimits {
        key_documents: 2,
        key_bytes: 64 * 1024,
        total_bytes: 6 * 1024,
    };
    let node = spawn(TrustPolicy {
        quarantine: limits,
        ..TrustPolicy::new(vec![org(1)], vec![])
    });
    // One key, five documents (products it creates): two kept.
    let creator = 50u8;
    for n in 0..5u8 {
        let header = DocHeader::product(org(creator), [n; 16]);
        let mut doc = Document::new(header);
        let c = doc
            .edit(&kp(creator), ReplicaId([1; 16]), UnixTime(T0), |ed| {
                ed.put_root(&Product::new(
                    format!("Spam {n}"),
                    "Spam AG",
                    ProductKind::Software,
                ))
            })
            .unwrap()
            .unwrap();
        let done = ingest(&node, (header, vec![c])).await;
        assert_eq!(done.out_of_scope, 1);
    }
    let q = node.call(|s| s.quarantine_stats()).await.unwrap();
    assert_eq!((q.documents, q.over_quota), (2, 3), "{q:?}");
    // Many keys (they are free), one document each: the total stays under the cap.
    for k in 60..120u8 {
        ingest(&node, deployments(k, 2)).await;
        let q = node.call(|s| s.quarantine_stats()).await.unwrap();
        assert!(q.bytes <= limits.total_bytes, "{q:?}");
    }
    let q = node.call(|s| s.quarantine_stats()).await.unwrap();
    assert!(q.evicted > 0, "{q:?}");
    assert!(q.documents > 1, "{q:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_mode_stores_what_every_key_signs() {
    let node = spawn(TrustPolicy::open());
    let stranger = deployments(3, 2);
    let id = stranger.0.id();
    let done = ingest(&node, stranger).await;
    assert_eq!((done.new_changes, done.out_of_scope), (2, 0));
    assert!(holds(&node, id).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_signing_unusually_much_is_marked_not_throttled() {
    let node = spawn(TrustPolicy::new(vec![org(1)], vec![]));
    ingest(&node, attestations(1, &[2, 3, 4])).await;
    // Organisation 2 goes rogue: 1,200 changes in a day; 3 and 4 write a little.
    let done = ingest(&node, deployments(2, 1_200)).await;
    assert_eq!(
        done.new_changes, 1_200,
        "stored in full: attested, not throttled"
    );
    ingest(&node, deployments(3, 3)).await;
    ingest(&node, deployments(4, 2)).await;
    let volume = node.call(|s| s.org_volume()).await.unwrap();
    let of = |o: u8| volume.iter().find(|v| v.org == org(o)).cloned().unwrap();
    assert_eq!(of(2).changes, 1_200);
    assert!(of(2).unusual, "{volume:?}");
    assert!(!of(3).unusual && !of(4).unusual, "{volume:?}");
    assert_eq!(volume[0].org, org(2), "most first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_whose_attestation_is_withdrawn_adds_nothing_later() {
    let node = spawn(TrustPolicy::new(vec![org(1)], vec![]));
    let (header, mut trust) = attestations(1, &[2]);
    ingest(&node, (header, trust.clone())).await;
    let first = deployments(2, 2);
    assert_eq!(ingest(&node, first).await.new_changes, 2);
    // The anchor withdraws it (the same trust document, one more change).
    let mut doc = Document::new(header);
    for c in &trust {
        let a = allmende_protocol::auth::Certificates::new()
            .authorise(&header, c.clone().verify(header.id()).unwrap(), NOW)
            .unwrap();
        doc.apply(vec![a]).unwrap();
    }
    let withdraw = doc
        .edit(&kp(1), ReplicaId([1; 16]), UnixTime(T0 + 50), |ed| {
            ed.delete::<Attestation>(&format!("{:#}", org(2)))
        })
        .unwrap()
        .unwrap();
    trust.push(withdraw);
    ingest(&node, (header, trust)).await;
    let scope = node.call(|s| s.trust_scope().clone()).await.unwrap();
    assert!(!scope.organisations.contains(&org(2)), "{scope:?}");
    // What it signed while attested stays; what it signs now is refused.
    let later = deployments(2, 4);
    let done = ingest(&node, later).await;
    assert_eq!((done.new_changes, done.out_of_scope), (0, 2), "{done:?}");
}
