//! How the repository thread answers a peer's fetch (`RepoState::fetch`): a document the peer
//! has nothing of goes out as the stored bytes when all of it fits one answer, in whatever
//! order the changes were stored; anything else goes out as the changes the peer lacks, in
//! causal order, cut to the answer's budget. Either way a fresh node that ingests the answers
//! ends with the responder's document.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use allmende_node::repo::Repo;
use allmende_node::repo_actor::{self, Outcome, RepoHandle};
use allmende_node::store::{SqliteStore, Store};
use allmende_protocol::automerge::ChangeHash;
use allmende_protocol::change::{ReplicaId, SignedChange};
use allmende_protocol::doc::{DocHeader, DocKind, Document};
use allmende_protocol::identity::{Delegation, Keypair, Scope};
use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::schema::{Deployment, DeploymentStatus, OperatedBy, Product, UnixTime};
use allmende_protocol::sync::{Cert, MAX_RESPONSE_BYTES, Object, Response, Want};

const T0: i64 = 1_700_000_000;
const NOW: UnixTime = UnixTime(T0 + 100_000);

fn kp(seed: u8) -> Keypair {
    Keypair::from_secret_bytes(&[seed; 32]).unwrap()
}

fn deployment(seed: u32) -> Deployment {
    let product = DocId::from_bytes([(seed % 251) as u8; 32]);
    Deployment {
        version: Some(format!("{seed}.0")),
        cost_once_eur: Some(u64::from(seed) * 100),
        cost_yearly_eur: Some(1200),
        ..Deployment::new(product, DeploymentStatus::Production, OperatedBy::Itself)
    }
}

/// `n` changes of organisation `org`'s deployments document, signed by `signer`, each
/// putting one deployment (in causal order).
fn changes(org: u8, signer: &Keypair, n: u32) -> (DocHeader, Vec<SignedChange>) {
    let header = DocHeader::singleton(DocKind::Deployments, OrgId::from_root_key(kp(org).public()));
    let mut doc = Document::new(header);
    let mut out = Vec::new();
    for i in 0..n {
        let c = doc
            .edit(
                signer,
                ReplicaId([1; 16]),
                UnixTime(T0 + i64::from(i)),
                |ed| ed.put(&format!("d{i}"), &deployment(i)),
            )
            .unwrap()
            .unwrap();
        out.push(c);
    }
    (header, out)
}

/// `n` changes of a product description, each rewriting its four long text fields (about
/// 29 KB of text per change, different in every change).
fn large_product(n: u32) -> (DocHeader, Vec<SignedChange>) {
    let creator = kp(2);
    let header = DocHeader::product(OrgId::from_root_key(creator.public()), [2; 16]);
    let mut doc = Document::new(header);
    let text = |i: u32, len: usize| -> String {
        (0..len)
            .map(|j| char::from(b'a' + ((i as usize * 7 + j * 13 + j / 26) % 26) as u8))
            .collect()
    };
    let mut out = Vec::new();
    for i in 0..n {
        let product: Product = serde_json::from_value(serde_json::json!({
            "name": "Großes Fachverfahren",
            "vendor": "Beispiel GmbH",
            "kind": "fachverfahren",
            "description": text(i, 20_000),
            "prerequisites": text(i + 1, 5_000),
            "cost_model": text(i + 2, 2_000),
            "sla": text(i + 3, 2_000),
        }))
        .unwrap();
        let c = doc
            .edit(
                &creator,
                ReplicaId([1; 16]),
                UnixTime(T0 + i64::from(i)),
                |ed| ed.put_root(&product),
            )
            .unwrap()
            .unwrap();
        out.push(c);
    }
    (header, out)
}

fn repo() -> Repo<SqliteStore> {
    Repo::open(SqliteStore::open_in_memory().unwrap(), ReplicaId([7; 16])).unwrap()
}

fn spawn(repo: Repo<SqliteStore>) -> RepoHandle {
    let (tx, _rx) = tokio::sync::mpsc::channel(1024);
    // The receiver is dropped: announcements are not what these tests look at.
    repo_actor::spawn(repo, tx, repo_actor::TrustPolicy::open()).unwrap()
}

async fn fetch(node: &RepoHandle, wants: Vec<Want>) -> Vec<Object> {
    node.call(move |s| s.fetch(&wants)).await.unwrap()
}

/// What a peer receives: the answer through the wire encoding.
fn over_the_wire(objects: Vec<Object>) -> Vec<Object> {
    let bytes = Response::Fetched(objects).encode();
    assert!(bytes.len() <= MAX_RESPONSE_BYTES);
    let Response::Fetched(objects) = Response::decode(&bytes).unwrap() else {
        panic!("a fetch answer decodes as one");
    };
    objects
}

/// Ingests decoded objects into `node` (certificates first, as the network actor does);
/// returns the new changes stored.
async fn ingest(node: &RepoHandle, objects: Vec<Object>) -> usize {
    node.call(move |s| {
        let mut new = 0;
        for o in objects {
            match o {
                Object::Doc {
                    header,
                    changes,
                    certs,
                } => match s.ingest(header, changes, certs, NOW) {
                    Outcome::Stored(i) => new += i.new_changes,
                    Outcome::Refused(e) => panic!("refused: {e}"),
                },
                Object::Cert(c) => {
                    s.add_cert(c).unwrap();
                }
                Object::Missing(_) => {}
                Object::Stored { .. } => panic!("decoding yielded {o:?}"),
            }
        }
        new
    })
    .await
    .unwrap()
}

async fn heads(node: &RepoHandle, id: DocId) -> Vec<ChangeHash> {
    node.call(move |s| s.heads_of(id.as_bytes())).await.unwrap()
}

fn want(id: DocId, have: Vec<ChangeHash>) -> Want {
    Want {
        key: *id.as_bytes(),
        have,
    }
}

/// Whole documents go out as stored (here in the reverse of causal order, as a peer may
/// have sent them), with the delegation their signer needs; a fresh node ingests them. A
/// peer that has part of a document gets the rest decoded, in causal order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_documents_go_out_as_stored_in_any_order() {
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
    let (own, own_changes) = changes(1, &kp(1), 5);
    let (delegated, delegated_changes) = changes(4, &delegate, 3);

    let mut src = repo();
    src.add_delegation(delegation.clone()).unwrap();
    let reversed: Vec<SignedChange> = own_changes.iter().rev().cloned().collect();
    assert_eq!(
        src.ingest(own, reversed.clone(), NOW).unwrap().new_changes,
        5
    );
    assert_eq!(
        src.ingest(delegated, delegated_changes.clone(), NOW)
            .unwrap()
            .new_changes,
        3
    );
    let stored_order: Vec<Vec<u8>> = src
        .store()
        .changes(&own.id())
        .unwrap()
        .into_iter()
        .map(|c| c.encoded)
        .collect();
    assert_eq!(
        stored_order,
        reversed
            .iter()
            .map(SignedChange::encode)
            .collect::<Vec<_>>(),
        "the store keeps the order of arrival"
    );
    let src = spawn(src);

    let unknown = DocId::from_bytes([99; 32]);
    let answer = fetch(
        &src,
        vec![
            want(own.id(), vec![]),
            want(delegated.id(), vec![]),
            want(unknown, vec![]),
        ],
    )
    .await;
    assert_eq!(answer.len(), 3);
    match &answer[0] {
        Object::Stored {
            header,
            changes,
            certs,
        } => {
            assert_eq!(*header, own);
            assert_eq!(*changes, stored_order, "the stored bytes, in stored order");
            assert!(certs.is_empty(), "the owner's own key needs no certificate");
        }
        o => panic!("expected the stored bytes, got {o:?}"),
    }
    match &answer[1] {
        Object::Stored { changes, certs, .. } => {
            assert_eq!(changes.len(), 3);
            assert_eq!(*certs, vec![Cert::Delegation(delegation.clone())]);
        }
        o => panic!("expected the stored bytes, got {o:?}"),
    }
    assert_eq!(answer[2], Object::Missing(*unknown.as_bytes()));

    // The wire carries it as an ordinary document, equal to what was sent.
    let received = over_the_wire(answer.clone());
    assert!(matches!(received[0], Object::Doc { .. }));
    assert_eq!(received, answer);

    let dst = spawn(repo());
    assert_eq!(ingest(&dst, received).await, 8);
    for id in [own.id(), delegated.id()] {
        assert_eq!(heads(&dst, id).await, heads(&src, id).await);
        assert!(!heads(&dst, id).await.is_empty());
    }

    // A peer holding the first two changes gets the other three, decoded, in causal order.
    let first_two: Vec<ChangeHash> = vec![own_changes[1].hash()];
    let answer = fetch(&src, vec![want(own.id(), first_two)]).await;
    match &answer[..] {
        [Object::Doc { changes, .. }] => {
            let hashes: Vec<ChangeHash> = changes.iter().map(SignedChange::hash).collect();
            let expected: Vec<ChangeHash> =
                own_changes[2..].iter().map(SignedChange::hash).collect();
            assert_eq!(hashes, expected);
        }
        o => panic!("expected the missing changes, got {o:?}"),
    }

    // A peer holding every head (and more) gets the document with nothing in it.
    let mut up_to_date = heads(&src, own.id()).await;
    up_to_date.push(ChangeHash([5; 32]));
    let answer = fetch(&src, vec![want(own.id(), up_to_date)]).await;
    match &answer[..] {
        [
            Object::Doc {
                header,
                changes,
                certs,
            },
        ] => {
            assert_eq!(*header, own);
            assert!(changes.is_empty() && certs.is_empty());
        }
        o => panic!("expected an empty answer, got {o:?}"),
    }
}

/// A document larger than one answer goes out as a causal prefix, even when the store holds
/// its changes in another order; the peer ingests the prefix and fetches the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_too_large_for_one_answer_goes_out_in_causal_prefixes() {
    const N: u32 = 300;
    // Changes of about 29 KB each, more than one answer's 8 MiB together.
    let (header, all) = large_product(N);
    let total: usize = all.iter().map(|c| c.encode().len()).sum();
    assert!(total > MAX_RESPONSE_BYTES, "{total} bytes fit one answer");

    let mut src = repo();
    let reversed: Vec<SignedChange> = all.iter().rev().cloned().collect();
    assert_eq!(
        src.ingest(header, reversed, NOW).unwrap().new_changes,
        N as usize
    );
    let src = spawn(src);
    let dst = spawn(repo());

    let mut rounds = 0;
    let mut received = 0;
    loop {
        let have = heads(&dst, header.id()).await;
        if have == heads(&src, header.id()).await {
            break;
        }
        rounds += 1;
        assert!(rounds <= 3, "no progress after {rounds} rounds");
        let answer = over_the_wire(fetch(&src, vec![want(header.id(), have)]).await);
        let Object::Doc { changes, .. } = &answer[0] else {
            panic!("expected changes, got {:?}", answer[0]);
        };
        // Causal order: each change follows the one it was made after.
        let hashes: Vec<ChangeHash> = changes.iter().map(SignedChange::hash).collect();
        let expected: Vec<ChangeHash> = all[received..received + changes.len()]
            .iter()
            .map(SignedChange::hash)
            .collect();
        assert_eq!(hashes, expected);
        received += ingest(&dst, answer).await;
    }
    assert_eq!(received, N as usize);
    assert_eq!(rounds, 2, "8 MiB per answer: two rounds for {total} bytes");
}
