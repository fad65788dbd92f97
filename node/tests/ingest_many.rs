//! Storing several documents in one transaction, from drafts built off the repository thread
//! (`repo::prepare` + `Repo::ingest_many`), must leave exactly the store that ingesting them
//! one by one leaves; a draft never decides what is accepted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use allmende_node::repo::{self, Prepared, Repo, RepoError};
use allmende_node::store::{SqliteStore, Store};
use allmende_protocol::auth::{AuthError, Certificates};
use allmende_protocol::change::{ReplicaId, SignedChange};
use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::identity::{Delegation, Keypair, Scope, SignedDelegation};
use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::schema::{Deployment, DeploymentStatus, OperatedBy, UnixTime};

const T0: i64 = 1_700_000_000;
const NOW: UnixTime = UnixTime(T0 + 100_000);

fn kp(seed: u8) -> Keypair {
    Keypair::from_secret_bytes(&[seed; 32]).unwrap()
}

fn deployment(product_seed: u8, version: &str) -> Deployment {
    let product = DocId::from_bytes([product_seed; 32]);
    Deployment {
        version: Some(version.into()),
        cost_once_eur: Some(u64::from(product_seed) * 100),
        cost_yearly_eur: Some(1200),
        ..Deployment::new(product, DeploymentStatus::Production, OperatedBy::Itself)
    }
}

fn open(dir: &tempfile::TempDir, name: &str) -> Repo<SqliteStore> {
    let store = SqliteStore::open(&dir.path().join(name)).unwrap();
    Repo::open(store, ReplicaId([7; 16])).unwrap()
}

/// A source network: organisations 1..=4 each with a deployments document of several
/// changes (organisation 4's signed by a delegate), and the delegation.
struct Source {
    docs: Vec<(DocHeader, Vec<SignedChange>)>,
    delegation: SignedDelegation,
}

fn source(dir: &tempfile::TempDir) -> Source {
    let mut src = open(dir, "src.db");
    let delegate = kp(40);
    let delegation = Delegation {
        issuer: OrgId::from_root_key(kp(4).public()),
        delegate: delegate.public(),
        scope: Scope::all(),
        not_before: UnixTime(T0),
        not_after: UnixTime(T0 + 1_000_000),
    }
    .sign(&kp(4))
    .unwrap();
    src.add_delegation(delegation.clone()).unwrap();
    let mut docs = Vec::new();
    for org in 1..=4u8 {
        let owner = kp(org);
        let signer = if org == 4 { &delegate } else { &owner };
        let header =
            DocHeader::singleton(DocKind::Deployments, OrgId::from_root_key(owner.public()));
        for i in 0..5u8 {
            src.edit(signer, header, UnixTime(T0 + i64::from(i)), |ed| {
                ed.put(&format!("d{i}"), &deployment(org * 10 + i, "1.0"))
            })
            .unwrap()
            .unwrap();
        }
        docs.push((header, src.signed_changes(&header.id()).unwrap()));
    }
    Source { docs, delegation }
}

/// One stored document: id, its encoded changes (sorted), snapshot and heads.
type StoredState = (DocId, Vec<Vec<u8>>, Vec<u8>, String);

/// Everything observable about a store: changes, heads, snapshots and the whole index.
#[derive(Debug, PartialEq)]
struct State {
    counts: allmende_node::store::Counts,
    docs: Vec<StoredState>,
    index: Vec<String>,
}

fn state(repo: &Repo<SqliteStore>) -> State {
    let mut docs = Vec::new();
    for h in repo.store().headers().unwrap() {
        let id = h.id();
        let mut changes: Vec<Vec<u8>> = repo
            .store()
            .changes(&id)
            .unwrap()
            .into_iter()
            .map(|c| c.encoded)
            .collect();
        changes.sort();
        let stored = repo.store().document(&id).unwrap().unwrap();
        docs.push((id, changes, stored.snapshot, format!("{:?}", stored.heads)));
    }
    docs.sort();
    State {
        counts: repo.store().counts().unwrap(),
        docs,
        index: allmende_node::query::dump_index(repo.store().connection()).unwrap(),
    }
}

fn prepared(docs: &[(DocHeader, Vec<SignedChange>)], certs: &Certificates) -> Vec<Prepared> {
    docs.iter()
        .map(|(h, c)| repo::prepare(*h, c.clone(), certs, NOW).unwrap())
        .collect()
}

/// One transaction from drafts gives byte for byte the store of one ingest per document.
#[test]
fn drafted_batch_equals_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let src = source(&dir);

    let mut one = open(&dir, "one.db");
    one.add_delegation(src.delegation.clone()).unwrap();
    for (h, c) in &src.docs {
        let done = one.ingest(*h, c.clone(), NOW).unwrap();
        assert_eq!(done.new_changes, 5);
    }

    let mut many = open(&dir, "many.db");
    many.add_delegation(src.delegation.clone()).unwrap();
    let items = prepared(&src.docs, many.certificates());
    let results = many.ingest_many(items, NOW);
    assert_eq!(results.len(), 4);
    for ((h, r), (want, _)) in results.iter().zip(&src.docs) {
        assert_eq!(h, want, "results come in the order of the items");
        assert_eq!(r.as_ref().unwrap().new_changes, 5);
    }
    assert_eq!(state(&many), state(&one));
    assert_eq!(many.store().counts().unwrap().changes, 20);
    many.check_integrity().unwrap();
}

/// A draft authorised against certificates the repository does not hold is refused; one the
/// snapshot could not authorise is built and stored by the repository when it can.
#[test]
fn the_repository_authorises_again() {
    let dir = tempfile::tempdir().unwrap();
    let src = source(&dir);
    let mut with_delegation = Certificates::new();
    with_delegation
        .add_delegation(src.delegation.clone())
        .unwrap();

    // The snapshot knows the delegation, the repository does not: organisation 4's document
    // is refused, the others are stored.
    let mut repo = open(&dir, "a.db");
    let results = repo.ingest_many(prepared(&src.docs, &with_delegation), NOW);
    for (h, r) in &results[..3] {
        assert_eq!(r.as_ref().unwrap().new_changes, 5, "{h:?}");
    }
    assert!(
        matches!(
            results[3].1,
            Err(RepoError::Auth {
                error: AuthError::UnauthorisedKey { .. },
                ..
            })
        ),
        "{:?}",
        results[3].1
    );
    assert_eq!(repo.store().counts().unwrap().changes, 15);
    assert!(repo.store().heads(&src.docs[3].0.id()).unwrap().is_none());

    // The reverse: no draft for organisation 4 (the snapshot lacks the delegation), but the
    // repository has it and stores the document.
    let mut repo = open(&dir, "b.db");
    repo.add_delegation(src.delegation.clone()).unwrap();
    let results = repo.ingest_many(prepared(&src.docs, &Certificates::new()), NOW);
    assert!(
        results
            .iter()
            .all(|(_, r)| r.as_ref().unwrap().new_changes == 5)
    );
    let mut one = open(&dir, "c.db");
    one.add_delegation(src.delegation.clone()).unwrap();
    for (h, c) in &src.docs {
        one.ingest(*h, c.clone(), NOW).unwrap();
    }
    assert_eq!(state(&repo), state(&one));
}

/// A draft of a document the repository already holds is dropped: only the new changes are
/// stored, the rest count as duplicates. The same document twice in one batch, and a
/// refused document between good ones, leave the others as one-by-one ingests would.
#[test]
fn existing_documents_repeats_and_refusals_in_one_batch() {
    let dir = tempfile::tempdir().unwrap();
    let src = source(&dir);
    let (h1, c1) = src.docs[0].clone();
    let (h2, c2) = src.docs[1].clone();
    let (h3, c3) = src.docs[2].clone();

    let mut repo = open(&dir, "a.db");
    repo.ingest(h1, c1[..2].to_vec(), NOW).unwrap();
    let certs = repo.certificates().clone();
    let items = vec![
        // Drafted as a new document, but two of its changes are stored already.
        repo::prepare(h1, c1.clone(), &certs, NOW).unwrap(),
        // Document 2 in two parts, the second depending on the first.
        repo::prepare(h2, c2[..3].to_vec(), &certs, NOW).unwrap(),
        repo::prepare(h2, c2[3..].to_vec(), &certs, NOW).unwrap(),
        // Document 3 without its first change: its dependencies are missing.
        repo::prepare(h3, c3[1..].to_vec(), &certs, NOW).unwrap(),
        // Document 3 whole, after the refusal.
        repo::prepare(h3, c3.clone(), &certs, NOW).unwrap(),
    ];
    let results = repo.ingest_many(items, NOW);
    let counts: Vec<_> = results
        .iter()
        .map(|(_, r)| r.as_ref().map(|d| (d.new_changes, d.duplicates)))
        .collect();
    assert_eq!(counts[0].as_ref().unwrap(), &(3, 2));
    assert_eq!(counts[1].as_ref().unwrap(), &(3, 0));
    assert_eq!(counts[2].as_ref().unwrap(), &(2, 0));
    assert!(
        matches!(results[3].1, Err(RepoError::MissingDependencies { .. })),
        "{:?}",
        results[3].1
    );
    assert_eq!(counts[4].as_ref().unwrap(), &(5, 0));

    let mut one = open(&dir, "b.db");
    for (h, c) in [(h1, c1), (h2, c2), (h3, c3)] {
        one.ingest(h, c, NOW).unwrap();
    }
    assert_eq!(state(&repo), state(&one));
    repo.check_integrity().unwrap();
}
