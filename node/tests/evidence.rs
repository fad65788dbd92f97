//! Evidence ranks: on a node that follows anchors, search leaves out entries that neither a
//! verified organisation looks after nor any verified organisation uses, rates or reports on,
//! and counts them; among the rest, entries in use rank higher at equal text relevance.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use allmende_node::query::{SearchQuery, search};
use allmende_node::repo::Repo;
use allmende_node::store::SqliteStore;
use allmende_protocol::change::ReplicaId;
use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::identity::Keypair;
use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::schema::{
    Attestation, Deployment, DeploymentStatus, OperatedBy, OrgKind, Product, ProductKind, UnixTime,
};

const NOW: UnixTime = UnixTime(1_800_000_000);
const ANCHOR: u8 = 50;
const VERIFIED: u8 = 1;
const UNATTESTED: u8 = 2;
const OTHER_UNATTESTED: u8 = 3;

fn kp(seed: u8) -> Keypair {
    Keypair::from_secret_bytes(&[seed; 32]).unwrap()
}

fn org(seed: u8) -> OrgId {
    OrgId::from_root_key(kp(seed).public())
}

fn add_product(repo: &mut Repo<SqliteStore>, creator: u8, name: &str) -> DocId {
    let mut nonce = [creator; 16];
    for (i, b) in name.bytes().enumerate() {
        nonce[i % 16] ^= b;
    }
    let header = DocHeader::product(org(creator), nonce);
    let p = Product::new(name, "Hersteller GmbH", ProductKind::Fachverfahren);
    repo.edit(&kp(creator), header, NOW, |ed| ed.put_root(&p))
        .unwrap();
    header.id()
}

fn deploy(repo: &mut Repo<SqliteStore>, owner: u8, product: DocId, key: &str) {
    let header = DocHeader::singleton(DocKind::Deployments, org(owner));
    let d = Deployment::new(product, DeploymentStatus::Production, OperatedBy::Itself);
    repo.edit(&kp(owner), header, NOW, |ed| ed.put(key, &d))
        .unwrap();
}

fn names(repo: &Repo<SqliteStore>, q: &SearchQuery) -> (Vec<String>, u64, u64) {
    let r = search(repo.store().connection(), q).unwrap();
    (
        r.hits.into_iter().map(|h| h.name).collect(),
        r.total,
        r.hidden_unverified,
    )
}

#[test]
fn unverified_entries_are_left_out_and_counted_and_evidence_lifts_the_rank() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("a.db")).unwrap();
    let mut repo = Repo::open(store, ReplicaId([9; 16])).unwrap();
    repo.edit(
        &kp(ANCHOR),
        DocHeader::singleton(DocKind::Trust, org(ANCHOR)),
        NOW,
        |ed| {
            ed.put(
                &format!("{:#}", org(VERIFIED)),
                &Attestation {
                    org: org(VERIFIED),
                    name: "Stadt Geprüft".into(),
                    kind: OrgKind::Kommune,
                    ags: None,
                    attested_at: NOW,
                },
            )
        },
    )
    .unwrap();
    // Looked after by a verified organisation; used by nobody.
    add_product(&mut repo, VERIFIED, "Meldewesen Geprüft");
    // Created by an unattested key, but a verified organisation runs it.
    let used = add_product(&mut repo, UNATTESTED, "Meldewesen Zentral");
    deploy(
        &mut repo,
        VERIFIED,
        used,
        "00000000000000000000000000000001",
    );
    // Created by an unattested key and used only by another unattested key.
    let lonely = add_product(&mut repo, UNATTESTED, "Meldewesen Niemand");
    deploy(
        &mut repo,
        OTHER_UNATTESTED,
        lonely,
        "00000000000000000000000000000002",
    );

    let q = SearchQuery {
        q: Some("Meldewesen".into()),
        limit: 20,
        anchors: vec![org(ANCHOR)],
        ..SearchQuery::default()
    };
    let (hits, total, hidden) = names(&repo, &q);
    assert_eq!((total, hidden), (2, 1), "{hits:?}");
    assert!(!hits.contains(&"Meldewesen Niemand".to_owned()), "{hits:?}");
    // Same text relevance: the entry in use comes first (by name it would come last).
    assert_eq!(hits[0], "Meldewesen Zentral", "{hits:?}");

    // On request, and on a node in open mode, every entry.
    let (hits, total, hidden) = names(
        &repo,
        &SearchQuery {
            unverified: true,
            ..q.clone()
        },
    );
    assert_eq!((total, hidden, hits.len()), (3, 0, 3), "{hits:?}");
    let (_, total, hidden) = names(
        &repo,
        &SearchQuery {
            anchors: vec![],
            ..q.clone()
        },
    );
    assert_eq!((total, hidden), (3, 0));

    // A node lists what its own (or a hosted) organisation publishes, attested yet or not.
    let (hits, total, hidden) = names(
        &repo,
        &SearchQuery {
            own: vec![org(UNATTESTED)],
            ..q.clone()
        },
    );
    assert_eq!((total, hidden), (3, 0), "{hits:?}");

    // The anchor attests the creator: its entry is listed again.
    repo.edit(
        &kp(ANCHOR),
        DocHeader::singleton(DocKind::Trust, org(ANCHOR)),
        UnixTime(NOW.0 + 1),
        |ed| {
            ed.put(
                &format!("{:#}", org(UNATTESTED)),
                &Attestation {
                    org: org(UNATTESTED),
                    name: "Stadt Später".into(),
                    kind: OrgKind::Kommune,
                    ags: None,
                    attested_at: NOW,
                },
            )
        },
    )
    .unwrap();
    let (hits, total, hidden) = names(&repo, &q);
    assert_eq!((total, hidden), (3, 0), "{hits:?}");
}
