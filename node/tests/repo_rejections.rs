//! Every kind of bad change is refused by the repository with its own error, and the SQLite
//! store is byte-for-byte unchanged afterwards (same counts, same catalog, same changes).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use allmende_node::export::{Export, ImportError, import_export};
use allmende_node::repo::{Repo, RepoError};
use allmende_node::store::{SqliteStore, Store};
use allmende_protocol::auth::AuthError;
use allmende_protocol::automerge::transaction::{CommitOptions, Transactable};
use allmende_protocol::automerge::{ActorId, AutoCommit, ROOT};
use allmende_protocol::change::{ReplicaId, SignedChange, VerifyError};
use allmende_protocol::doc::{DocHeader, DocKind, Document};
use allmende_protocol::identity::{Delegation, Keypair, Revocation, Scope, SignedDelegation};
use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::schema::{Deployment, DeploymentStatus, OperatedBy, UnixTime};

const T0: i64 = 1_700_000_000;
const NOW: UnixTime = UnixTime(T0 + 10_000);

fn kp(seed: u8) -> Keypair {
    Keypair::from_secret_bytes(&[seed; 32]).unwrap()
}

fn deployment(product_seed: u8, version: &str) -> Deployment {
    let product = DocId::from_bytes([product_seed; 32]);
    Deployment {
        version: Some(version.into()),
        cost_yearly_eur: Some(1200),
        ..Deployment::new(product, DeploymentStatus::Production, OperatedBy::Itself)
    }
}

/// A delegation of every document kind from `owner`'s organisation to `delegate`, valid from
/// `T0` to `until`.
fn all_kinds(owner: &Keypair, delegate: &Keypair, until: i64) -> SignedDelegation {
    Delegation {
        issuer: OrgId::from_root_key(owner.public()),
        delegate: delegate.public(),
        scope: Scope::all(),
        not_before: UnixTime(T0),
        not_after: UnixTime(until),
    }
    .sign(owner)
    .unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    repo: Repo<SqliteStore>,
    owner: Keypair,
    header: DocHeader,
}

/// A store on disk holding one organisation's deployments document with one change.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("a.db")).unwrap();
    let mut repo = Repo::open(store, ReplicaId([1; 16])).unwrap();
    let owner = kp(1);
    let header = DocHeader::singleton(DocKind::Deployments, OrgId::from_root_key(owner.public()));
    repo.edit(&owner, header, UnixTime(T0), |ed| {
        ed.put("d1", &deployment(9, "1.0"))
    })
    .unwrap()
    .unwrap();
    Fixture {
        _dir: dir,
        repo,
        owner,
        header,
    }
}

/// Everything observable about a store.
#[derive(Debug, PartialEq)]
struct State {
    counts: allmende_node::store::Counts,
    catalog: [u8; 32],
    changes: Vec<Vec<u8>>,
    heads: Vec<String>,
}

fn state(repo: &Repo<SqliteStore>) -> State {
    let mut changes = Vec::new();
    let mut heads = Vec::new();
    for h in repo.store().headers().unwrap() {
        changes.extend(
            repo.store()
                .changes(&h.id())
                .unwrap()
                .into_iter()
                .map(|c| c.encoded),
        );
        heads.extend(
            repo.store()
                .document(&h.id())
                .unwrap()
                .unwrap()
                .heads
                .iter()
                .map(|h| h.to_string()),
        );
    }
    State {
        counts: repo.store().counts().unwrap(),
        catalog: repo.catalog().unwrap().digest(),
        changes,
        heads,
    }
}

/// A new change by `author` on top of what the store holds for `header`.
fn next_change(
    f: &Fixture,
    author: &Keypair,
    header: DocHeader,
    time: i64,
    version: &str,
) -> SignedChange {
    let mut doc = f
        .repo
        .document(&header.id())
        .unwrap()
        .unwrap_or_else(|| Document::new(header));
    doc.edit(author, ReplicaId([7; 16]), UnixTime(time), |ed| {
        ed.put("d2", &deployment(8, version))
    })
    .unwrap()
    .unwrap()
}

fn refused(f: &mut Fixture, changes: Vec<SignedChange>) -> RepoError {
    let before = state(&f.repo);
    let err = f.repo.ingest(f.header, changes, NOW).unwrap_err();
    assert_eq!(
        state(&f.repo),
        before,
        "a refused batch changed the store ({err})"
    );
    // And what is stored still verifies.
    f.repo.check_integrity().unwrap();
    err
}

#[test]
fn accepted_change_is_stored_positive_control() {
    let mut f = fixture();
    let c = next_change(&f, &kp(1), f.header, T0 + 5, "2.0");
    let before = state(&f.repo);
    let done = f.repo.ingest(f.header, vec![c], NOW).unwrap();
    assert_eq!(done.new_changes, 1);
    assert_ne!(state(&f.repo), before);
}

#[test]
fn forged_signature_is_refused() {
    let mut f = fixture();
    let c = next_change(&f, &f.owner, f.header, T0 + 5, "2.0");
    let mut sig = *c.signature();
    sig[10] ^= 0x40;
    let forged = SignedChange::from_parts(c.doc(), c.signer(), sig, c.change().clone());
    let err = refused(&mut f, vec![forged]);
    assert!(
        matches!(
            err,
            RepoError::Verify {
                index: 0,
                error: VerifyError::BadSignature { .. }
            }
        ),
        "{err}"
    );
}

#[test]
fn signature_for_another_document_is_refused() {
    let mut f = fixture();
    let other = DocHeader::singleton(DocKind::Experience, OrgId::from_root_key(f.owner.public()));
    let mut doc = Document::new(other);
    let c = doc
        .edit(&f.owner, ReplicaId([3; 16]), UnixTime(T0), |ed| {
            ed.put(
                "x",
                &allmende_protocol::schema::Rating {
                    product: DocId::from_bytes([9; 32]),
                    scores: Default::default(),
                    recommend: Some(true),
                    text: None,
                    since: None,
                },
            )
        })
        .unwrap()
        .unwrap();
    let err = refused(&mut f, vec![c]);
    assert!(
        matches!(
            err,
            RepoError::Verify {
                error: VerifyError::WrongDocument { .. },
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn unauthorised_key_is_refused() {
    let mut f = fixture();
    let c = next_change(&f, &kp(66), f.header, T0 + 5, "evil");
    let err = refused(&mut f, vec![c]);
    assert!(
        matches!(
            err,
            RepoError::Auth {
                error: AuthError::UnauthorisedKey { .. },
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn revoked_key_is_refused() {
    let mut f = fixture();
    let rev = Revocation {
        issuer: f.owner.public(),
        subject: f.owner.public(),
        effective: UnixTime(T0 + 100),
        reason: "Schlüssel verloren".into(),
    }
    .sign(&f.owner)
    .unwrap();
    assert!(f.repo.add_revocation(rev).unwrap());
    let c = next_change(&f, &f.owner, f.header, T0 + 200, "2.0");
    let err = refused(&mut f, vec![c]);
    assert!(
        matches!(
            err,
            RepoError::Auth {
                error: AuthError::RevokedKey { .. },
                ..
            }
        ),
        "{err}"
    );
}

/// Any key can sign a revocation about any key. One by a key with no authority over its
/// subject (neither the key itself nor an organisation that delegated to it) is refused and
/// stores nothing; the same statement by the delegating organisation takes effect.
#[test]
fn a_revocation_without_authority_over_its_subject_is_refused_and_stores_nothing() {
    let mut f = fixture();
    let delegate = kp(2);
    let stranger = kp(3);
    let delegation = all_kinds(&f.owner, &delegate, T0 + 100_000);
    f.repo.add_delegation(delegation).unwrap();
    let by_delegate = next_change(&f, &delegate, f.header, T0 + 20, "2.0");
    f.repo.ingest(f.header, vec![by_delegate], NOW).unwrap();
    let before = state(&f.repo);
    let certs_before = f.repo.store().certs().unwrap().len();
    for (issuer, subject) in [
        (&stranger, delegate.public()),
        (&stranger, f.owner.public()),
        (&delegate, f.owner.public()),
    ] {
        let rev = Revocation {
            issuer: issuer.public(),
            subject,
            effective: UnixTime(T0),
            reason: "Übernahme".into(),
        }
        .sign(issuer)
        .unwrap();
        let err = f.repo.add_revocation(rev).unwrap_err();
        assert!(
            matches!(
                err,
                RepoError::Cert(allmende_protocol::identity::CertError::NoAuthority { .. })
            ),
            "{err}"
        );
    }
    assert_eq!(
        state(&f.repo),
        before,
        "a refused revocation changed the store"
    );
    assert_eq!(f.repo.store().certs().unwrap().len(), certs_before);
    // Positive control: the organisation that delegated may revoke, and the delegate's change
    // goes.
    let rev = Revocation {
        issuer: f.owner.public(),
        subject: delegate.public(),
        effective: UnixTime(T0),
        reason: "Vertrag beendet".into(),
    }
    .sign(&f.owner)
    .unwrap();
    assert!(f.repo.add_revocation(rev).unwrap());
    assert_eq!(f.repo.catalog().unwrap().deployments.len(), 1);
    // A later revocation of the same delegation ends nothing new: stored, nothing rebuilt.
    let later = Revocation {
        issuer: f.owner.public(),
        subject: delegate.public(),
        effective: UnixTime(T0 + 10),
        reason: "nochmals".into(),
    }
    .sign(&f.owner)
    .unwrap();
    let before = state(&f.repo);
    assert!(f.repo.add_revocation(later).unwrap());
    assert_eq!(state(&f.repo).changes, before.changes);
    assert_eq!(f.repo.store().certs().unwrap().len(), certs_before + 2);
}

#[test]
fn expired_delegation_is_refused_and_valid_one_accepted() {
    let mut f = fixture();
    let delegate = kp(2);
    let d = all_kinds(&f.owner, &delegate, T0 + 1_000);
    f.repo.add_delegation(d).unwrap();
    let late = next_change(&f, &delegate, f.header, T0 + 2_000, "late");
    let err = refused(&mut f, vec![late]);
    assert!(
        matches!(
            err,
            RepoError::Auth {
                error: AuthError::DelegationExpired { .. },
                ..
            }
        ),
        "{err}"
    );
    let in_time = next_change(&f, &delegate, f.header, T0 + 500, "in time");
    assert_eq!(
        f.repo
            .ingest(f.header, vec![in_time], NOW)
            .unwrap()
            .new_changes,
        1
    );
}

#[test]
fn actor_not_bound_to_signer_is_refused() {
    let mut f = fixture();
    let mut am = AutoCommit::new();
    // The actor claims to be someone else's key.
    let mut actor = kp(5).public().as_bytes().to_vec();
    actor.extend_from_slice(&[0; 16]);
    am.set_actor(ActorId::from(actor.as_slice()));
    am.put(ROOT, "x", "\"y\"").unwrap();
    am.commit_with(CommitOptions::default().with_time(T0 + 5));
    let change = am.get_last_local_change().unwrap();
    let c = SignedChange::sign(&f.owner, f.header.id(), change);
    let err = refused(&mut f, vec![c]);
    assert!(
        matches!(
            err,
            RepoError::Verify {
                error: VerifyError::ActorNotBound { .. },
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn batch_with_one_bad_change_is_refused_whole() {
    let mut f = fixture();
    let good = next_change(&f, &f.owner, f.header, T0 + 5, "2.0");
    let bad = next_change(&f, &kp(66), f.header, T0 + 6, "evil");
    let err = refused(&mut f, vec![good, bad]);
    assert!(matches!(err, RepoError::Auth { index: 1, .. }), "{err}");
}

#[test]
fn change_with_missing_dependencies_is_refused() {
    let mut f = fixture();
    let mut doc = f.repo.document(&f.header.id()).unwrap().unwrap();
    let _first = doc
        .edit(&f.owner, ReplicaId([4; 16]), UnixTime(T0 + 1), |ed| {
            ed.put("a", &deployment(1, "a"))
        })
        .unwrap();
    let second = doc
        .edit(&f.owner, ReplicaId([4; 16]), UnixTime(T0 + 2), |ed| {
            ed.put("b", &deployment(2, "b"))
        })
        .unwrap()
        .unwrap();
    let err = refused(&mut f, vec![second]);
    assert!(
        matches!(err, RepoError::MissingDependencies { .. }),
        "{err}"
    );
}

fn tampered_export(f: &Fixture, mutate: impl Fn(&mut Vec<u8>)) -> Export {
    let mut export = Export::build(&f.repo, None, NOW).unwrap();
    let c = next_change(f, &f.owner, f.header, T0 + 5, "2.0");
    let mut bytes = c.encode();
    mutate(&mut bytes);
    let doc = export
        .documents
        .iter_mut()
        .find(|d| d.id == format!("{:#}", f.header.id()))
        .unwrap();
    doc.changes.push(hex::encode(bytes));
    export
}

#[test]
fn tampered_change_bytes_are_refused() {
    let mut f = fixture();
    // Flip a byte in the last part of the Automerge change (its operations).
    let export = tampered_export(&f, |b| {
        let i = b.len() - 3;
        b[i] ^= 0x01;
    });
    let before = state(&f.repo);
    let err = import_export(&mut f.repo, &export, NOW).unwrap_err();
    assert_eq!(state(&f.repo), before);
    assert!(matches!(err, ImportError::Decode { .. }), "{err}");
    // The signature is checked over the raw bytes before Automerge parses them.
    assert!(err.to_string().contains("does not verify"), "{err}");
}

#[test]
fn unknown_encoding_version_is_refused() {
    let mut f = fixture();
    let export = tampered_export(&f, |b| b[3] = 2);
    let before = state(&f.repo);
    let err = import_export(&mut f.repo, &export, NOW).unwrap_err();
    assert_eq!(state(&f.repo), before);
    assert!(
        err.to_string().contains("unknown encoding version 2"),
        "{err}"
    );
}

#[test]
fn duplicates_are_idempotent() {
    let mut f = fixture();
    let c = next_change(&f, &f.owner, f.header, T0 + 5, "2.0");
    let first = f
        .repo
        .ingest(f.header, vec![c.clone(), c.clone()], NOW)
        .unwrap();
    assert_eq!((first.new_changes, first.duplicates), (1, 1));
    let before = state(&f.repo);
    let again = f.repo.ingest(f.header, vec![c], NOW).unwrap();
    assert_eq!((again.new_changes, again.duplicates), (0, 1));
    assert_eq!(state(&f.repo), before);
}

#[test]
fn edit_producing_an_oversized_change_is_refused_and_not_stored() {
    use allmende_protocol::doc::DocError;
    use allmende_protocol::schema::{Product, ProductKind};
    let mut f = fixture();
    let long = |n: usize| "€".repeat(n);
    let p = Product {
        name: "Riesig".into(),
        vendor: "V".into(),
        kind: ProductKind::Software,
        description: Some(long(20_000)),
        categories: (0..50).map(|i| format!("{i}{}", long(90))).collect(),
        tasks: (0..500)
            .map(|i| format!("{i}{}", long(110)).parse().unwrap())
            .collect(),
        licence: None,
        repository: None,
        website: None,
        standards: (0..100).map(|i| format!("{i}{}", long(90))).collect(),
        hosting: vec![],
        prerequisites: Some(long(5_000)),
        cost_model: None,
        sla: None,
        efa: None,
        accessibility_statement: None,
        dpia_available: None,
        test_instance: None,
        vendor_org: None,
        same_as: None,
        co_stewards: vec![],
        current_version: None,
        support_ends: None,
    };
    let header = DocHeader::product(OrgId::from_root_key(f.owner.public()), [5; 16]);
    let before = state(&f.repo);
    let err = f
        .repo
        .edit(&f.owner, header, UnixTime(T0 + 5), |ed| ed.put_root(&p))
        .unwrap_err();
    assert!(
        matches!(err, RepoError::Document(DocError::TooLarge { .. })),
        "{err}"
    );
    assert_eq!(state(&f.repo), before);
}

#[test]
fn header_breaking_the_nonce_rule_is_refused() {
    let mut f = fixture();
    let mut header = f.header;
    header.nonce = [1; 16];
    let before = state(&f.repo);
    let owner = kp(1);
    let err = f
        .repo
        .edit(&owner, header, UnixTime(T0 + 5), |ed| {
            ed.put("x", &deployment(3, "x"))
        })
        .unwrap_err();
    assert!(matches!(err, RepoError::InvalidHeader(_)), "{err}");
    let err = f.repo.ingest(header, vec![], NOW).unwrap_err();
    assert!(matches!(err, RepoError::InvalidHeader(_)), "{err}");
    assert_eq!(state(&f.repo), before);
}

/// An organisation's deployments document written by its owner (`c1`, `c3`) and by a
/// delegate (`c2`, after the revocation's time), `c3` built on `c2`; the delegation and the
/// owner's revocation of it.
struct History {
    owner: Keypair,
    header: DocHeader,
    delegation: SignedDelegation,
    revocation: allmende_protocol::identity::SignedRevocation,
    c1: SignedChange,
    c2: SignedChange,
    c3: SignedChange,
}

fn delegated_history() -> History {
    let owner = kp(1);
    let delegate = kp(2);
    let org = OrgId::from_root_key(owner.public());
    let header = DocHeader::singleton(DocKind::Deployments, org);
    let delegation = all_kinds(&owner, &delegate, T0 + 100_000);
    let revocation = Revocation {
        issuer: owner.public(),
        subject: delegate.public(),
        effective: UnixTime(T0 + 50),
        reason: "Vertrag beendet".into(),
    }
    .sign(&owner)
    .unwrap();
    let mut source = Document::new(header);
    let c1 = source
        .edit(&owner, ReplicaId([1; 16]), UnixTime(T0 + 10), |ed| {
            ed.put("a", &deployment(1, "a"))
        })
        .unwrap()
        .unwrap();
    let c2 = source
        .edit(&delegate, ReplicaId([2; 16]), UnixTime(T0 + 60), |ed| {
            ed.put("b", &deployment(2, "b"))
        })
        .unwrap()
        .unwrap();
    let c3 = source
        .edit(&owner, ReplicaId([1; 16]), UnixTime(T0 + 70), |ed| {
            ed.put("c", &deployment(3, "c"))
        })
        .unwrap()
        .unwrap();
    History {
        owner,
        header,
        delegation,
        revocation,
        c1,
        c2,
        c3,
    }
}

#[test]
fn a_late_revocation_removes_what_it_invalidates_so_both_orders_converge() {
    // Node 1 stores a delegate's change, then learns that the delegation was revoked before
    // the change was made. Node 2 learns the revocation first and refuses the change. Both
    // must end with the same document.
    let History {
        owner: _,
        header,
        delegation,
        revocation,
        c1,
        c2,
        c3,
    } = delegated_history();

    let dir = tempfile::tempdir().unwrap();
    let open = |name: &str| {
        Repo::open(
            SqliteStore::open(&dir.path().join(name)).unwrap(),
            ReplicaId([0; 16]),
        )
        .unwrap()
    };
    let mut first = open("first.db");
    first.add_delegation(delegation.clone()).unwrap();
    first
        .ingest(header, vec![c1.clone(), c2.clone(), c3.clone()], NOW)
        .unwrap();
    assert_eq!(first.catalog().unwrap().deployments.len(), 3);
    first.add_revocation(revocation.clone()).unwrap();

    let mut second = open("second.db");
    second.add_delegation(delegation).unwrap();
    second.add_revocation(revocation).unwrap();
    second.ingest(header, vec![c1.clone()], NOW).unwrap();
    let err = second.ingest(header, vec![c2.clone()], NOW).unwrap_err();
    assert!(
        matches!(
            err,
            RepoError::Auth {
                error: AuthError::DelegationRevoked { .. },
                ..
            }
        ),
        "{err}"
    );

    let keys = |r: &Repo<SqliteStore>| {
        r.catalog()
            .unwrap()
            .deployments
            .iter()
            .map(|d| d.key.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(&first),
        vec!["a".to_owned()],
        "the revoked change and the change built on it are gone"
    );
    assert_eq!(keys(&second), keys(&first));
    assert_eq!(
        first.catalog().unwrap().digest(),
        second.catalog().unwrap().digest()
    );
    assert_eq!(
        first.store().counts().unwrap().changes,
        second.store().counts().unwrap().changes
    );
    first.check_integrity().unwrap();
    second.check_integrity().unwrap();
}

/// The store keeps changes in arrival order, which need not be causal: a child that arrived
/// before its parent, in one batch, must still go when a revocation removes its parent, and
/// nothing may be left behind that the document cannot hold (an orphan), or every later
/// change to the document fails its dependency check and fresh nodes refuse it whole.
#[test]
fn a_revocation_after_child_first_arrival_leaves_no_orphan_and_the_document_lives_on() {
    let History {
        owner,
        header,
        delegation,
        revocation,
        c1,
        c2,
        c3,
    } = delegated_history();

    let dir = tempfile::tempdir().unwrap();
    let mut repo = Repo::open(
        SqliteStore::open(&dir.path().join("a.db")).unwrap(),
        ReplicaId([0; 16]),
    )
    .unwrap();
    repo.add_delegation(delegation.clone()).unwrap();
    // Child first: c3 (built on c2) is stored before c2.
    repo.ingest(header, vec![c1.clone(), c3.clone(), c2.clone()], NOW)
        .unwrap();
    let stored: Vec<_> = repo.store().changes(&header.id()).unwrap();
    assert_eq!(
        stored.iter().map(|c| c.hash).collect::<Vec<_>>(),
        vec![c1.hash(), c3.hash(), c2.hash()],
        "the store keeps arrival order (the premise of this test)"
    );
    repo.add_revocation(revocation.clone()).unwrap();

    // Every stored change is in the document, and nothing the revocation removes is left.
    let mut doc = repo.document(&header.id()).unwrap().unwrap();
    let stored: Vec<_> = repo.store().changes(&header.id()).unwrap();
    assert_eq!(
        stored.iter().map(|c| c.hash).collect::<Vec<_>>(),
        vec![c1.hash()],
        "the revoked change and the one built on it are gone"
    );
    for c in &stored {
        assert!(
            doc.has_change(&c.hash),
            "stored change {} is an orphan",
            c.hash
        );
    }
    assert!(doc.missing_deps().is_empty());
    repo.check_integrity().unwrap();

    // The owner writes on: the new change is accepted.
    let next = doc
        .edit(&owner, ReplicaId([3; 16]), UnixTime(T0 + 80), |ed| {
            ed.put("d", &deployment(4, "d"))
        })
        .unwrap()
        .unwrap();
    repo.ingest(header, vec![next.clone()], NOW).unwrap();

    // A fresh node takes the whole document from what this one stores.
    let mut fresh = Repo::open(
        SqliteStore::open(&dir.path().join("fresh.db")).unwrap(),
        ReplicaId([0; 16]),
    )
    .unwrap();
    fresh.add_delegation(delegation).unwrap();
    fresh.add_revocation(revocation).unwrap();
    let all = repo.signed_changes(&header.id()).unwrap();
    fresh.ingest(header, all, NOW).unwrap();
    assert_eq!(
        fresh.catalog().unwrap().digest(),
        repo.catalog().unwrap().digest()
    );
    let keys: Vec<_> = repo
        .catalog()
        .unwrap()
        .deployments
        .iter()
        .map(|d| d.key.clone())
        .collect();
    assert_eq!(keys, vec!["a".to_owned(), "d".to_owned()]);
}

/// A change by the owner with no dependencies, concurrent with the stored one: building it does
/// not put its time into one Automerge document with the stored change's time.
fn root_change(f: &Fixture, time: i64, key: &str) -> SignedChange {
    Document::new(f.header)
        .edit(&f.owner, ReplicaId([7; 16]), UnixTime(time), |ed| {
            ed.put(key, &deployment(8, "0.1"))
        })
        .unwrap()
        .unwrap()
}

/// A change timestamped before 1970 is refused before Automerge sees it. Beside the stored
/// change from today, one at `i64::MIN` would overflow Automerge's delta-encoded change times.
#[test]
fn change_from_before_1970_is_refused() {
    let mut f = fixture();
    let c = root_change(&f, i64::MIN, "d2");
    let err = refused(&mut f, vec![c]);
    assert!(
        matches!(
            err,
            RepoError::Auth {
                error: AuthError::BeforeEpoch { at: i64::MIN },
                ..
            }
        ),
        "{err}"
    );
    // The epoch itself is a valid time.
    let c = root_change(&f, 0, "d3");
    f.repo.ingest(f.header, vec![c], NOW).unwrap();
}

/// A proof of equivocation costs a key two signatures, for any document id: stored only
/// about a document this node holds. About one it holds, it removes the actor's changes from
/// the fork on, and later ones are refused.
#[test]
fn a_proof_of_equivocation_counts_only_for_a_document_held() {
    use allmende_protocol::equivocation::EquivocationProof;
    let mut f = fixture();
    let fork = |name: &str| {
        let mut doc = f.repo.document(&f.header.id()).unwrap().unwrap();
        doc.edit(&f.owner, ReplicaId([0x0f; 16]), UnixTime(T0 + 5), |ed| {
            ed.put(name, &deployment(4, name))
        })
        .unwrap()
        .unwrap()
    };
    let (a, b) = (fork("links"), fork("rechts"));
    // About a document this node does not hold: refused, nothing stored.
    let stranger = kp(9);
    let elsewhere = DocHeader::singleton(
        DocKind::Deployments,
        OrgId::from_root_key(stranger.public()),
    );
    let branch = |v: &str| {
        Document::new(elsewhere)
            .edit(&stranger, ReplicaId([0x0d; 16]), UnixTime(T0), |ed| {
                ed.put("d", &deployment(5, v))
            })
            .unwrap()
            .unwrap()
    };
    let unheld = EquivocationProof::new(elsewhere.id(), branch("1"), branch("2")).unwrap();
    let before = state(&f.repo);
    assert!(matches!(
        f.repo.add_equivocation(unheld),
        Err(RepoError::NotHeld(_))
    ));
    assert_eq!(state(&f.repo), before);
    // Branch "links" stored, then the proof: the branch goes.
    f.repo.ingest(f.header, vec![a.clone()], NOW).unwrap();
    assert_eq!(f.repo.catalog().unwrap().deployments.len(), 2);
    let proof = EquivocationProof::new(f.header.id(), a, b.clone()).unwrap();
    assert!(f.repo.add_equivocation(proof).unwrap());
    assert_eq!(f.repo.catalog().unwrap().deployments.len(), 1);
    f.repo.check_integrity().unwrap();
    let err = refused(&mut f, vec![b]);
    assert!(
        matches!(
            err,
            RepoError::Auth {
                error: AuthError::Equivocated { .. },
                ..
            }
        ),
        "{err}"
    );
}
