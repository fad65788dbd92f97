//! One conformance suite for every [`Store`] backend.
//!
//! Each backend's tests call [`run_all`] with a constructor for a fresh, empty store. The
//! suite uses real signed changes so the bytes stored are realistic.

use allmende_protocol::automerge::ChangeHash;
use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::identity::Keypair;
use allmende_protocol::ids::{OrgId, PublicKey};

use super::{Batch, CertKind, KeyRecord, Store, StoreError, StoredCert, StoredChange, StoredDoc};

/// Runs every check against stores made by `fresh`. Panics with a message on the first
/// failure (this is test support).
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub fn run_all<S: Store>(fresh: impl Fn() -> S) {
    empty_store_is_empty(&mut fresh());
    commit_then_read_back(&mut fresh());
    duplicates_are_ignored(&mut fresh());
    refused_batch_leaves_nothing(&mut fresh());
    snapshot_is_replaced(&mut fresh());
    certs_and_keys(&mut fresh());
    removal_and_signer_lookup(&mut fresh());
    counts_follow_every_commit(&mut fresh());
}

/// Counts read before, between and after commits (a backend may keep them current instead
/// of counting rows every time) match what the commits did.
#[allow(clippy::unwrap_used)]
fn counts_follow_every_commit<S: Store>(s: &mut S) {
    let counts = |s: &S| {
        let c = s.counts().unwrap();
        (c.documents, c.changes, c.certificates)
    };
    assert_eq!(counts(s), (0, 0, 0));
    let (a, b) = (
        header(7, DocKind::Deployments),
        header(8, DocKind::Experience),
    );
    let (a1, a2, b1) = (change(&a, 10), change(&a, 11), change(&b, 12));
    let cert = StoredCert {
        kind: CertKind::Delegation,
        encoded: vec![7],
    };
    s.commit(&Batch {
        docs: vec![doc(a, b"a", vec![a2.hash]), doc(b, b"b", vec![b1.hash])],
        changes: vec![a1.clone(), a2.clone(), b1.clone(), a1.clone()],
        certs: vec![cert.clone()],
        ..Batch::default()
    })
    .unwrap();
    assert_eq!(counts(s), (2, 3, 1));
    // The same again, and a new snapshot of a known document: nothing new to count.
    s.commit(&Batch {
        docs: vec![doc(a, b"a2", vec![a2.hash])],
        changes: vec![a1, a2.clone()],
        certs: vec![cert],
        ..Batch::default()
    })
    .unwrap();
    assert_eq!(counts(s), (2, 3, 1));
    // A refused batch counts nothing.
    let orphan = change(&header(9, DocKind::Profile), 13);
    assert!(
        s.commit(&Batch {
            changes: vec![orphan],
            ..Batch::default()
        })
        .is_err()
    );
    assert_eq!(counts(s), (2, 3, 1));
    s.commit(&Batch {
        docs: vec![doc(a, b"a3", vec![])],
        removed: vec![(a.id(), a2.hash), (a.id(), ChangeHash([0xee; 32]))],
        ..Batch::default()
    })
    .unwrap();
    assert_eq!(counts(s), (2, 2, 1));
}

#[allow(clippy::unwrap_used)]
fn removal_and_signer_lookup<S: Store>(s: &mut S) {
    let h = header(6, DocKind::Deployments);
    let (c1, c2) = (change(&h, 8), change(&h, 9));
    s.commit(&Batch {
        docs: vec![doc(h, b"v1", vec![c2.hash])],
        changes: vec![c1.clone(), c2.clone()],
        ..Batch::default()
    })
    .unwrap();
    assert_eq!(s.docs_signed_by(&key(1)).unwrap(), vec![h.id()]);
    assert!(s.docs_signed_by(&key(2)).unwrap().is_empty());
    // Removing a change and replacing the snapshot happen together.
    s.commit(&Batch {
        docs: vec![doc(h, b"v0", vec![c1.hash])],
        removed: vec![(h.id(), c2.hash)],
        ..Batch::default()
    })
    .unwrap();
    assert_eq!(s.changes(&h.id()).unwrap(), vec![c1.clone()]);
    assert!(!s.has_change(&h.id(), &c2.hash).unwrap());
    assert_eq!(s.document(&h.id()).unwrap().unwrap().snapshot, b"v0");
    assert_eq!(s.counts().unwrap().changes, 1);
}

fn key(seed: u8) -> PublicKey {
    Keypair::from_secret_bytes(&[seed; 32])
        .map(|k| k.public())
        .unwrap_or_else(|_| unreachable!())
}

fn header(seed: u8, kind: DocKind) -> DocHeader {
    DocHeader::singleton(kind, OrgId::from_root_key(key(seed)))
}

fn change(header: &DocHeader, n: u8) -> StoredChange {
    let mut h = [0u8; 32];
    h[0] = n;
    h[31] = header.kind.tag();
    StoredChange {
        doc: header.id(),
        hash: ChangeHash(h),
        signer: key(1),
        encoded: vec![n; 40 + n as usize],
    }
}

fn doc(header: DocHeader, snapshot: &[u8], heads: Vec<ChangeHash>) -> StoredDoc {
    StoredDoc {
        header,
        snapshot: snapshot.to_vec(),
        heads,
    }
}

#[allow(clippy::unwrap_used)]
fn empty_store_is_empty<S: Store>(s: &mut S) {
    assert!(s.headers().unwrap().is_empty());
    assert_eq!(s.counts().unwrap().documents, 0);
    let h = header(1, DocKind::Profile);
    assert!(s.document(&h.id()).unwrap().is_none());
    assert!(s.changes(&h.id()).unwrap().is_empty());
    s.integrity_check().unwrap();
}

#[allow(clippy::unwrap_used)]
fn commit_then_read_back<S: Store>(s: &mut S) {
    let h = header(1, DocKind::Deployments);
    let (c1, c2) = (change(&h, 1), change(&h, 2));
    let d = doc(h, b"snapshot-1", vec![c2.hash]);
    let out = s
        .commit(&Batch {
            docs: vec![d.clone()],
            changes: vec![c1.clone(), c2.clone()],
            ..Batch::default()
        })
        .unwrap();
    assert_eq!(out.new_changes, 2);
    assert_eq!(s.document(&h.id()).unwrap(), Some(d));
    assert_eq!(s.changes(&h.id()).unwrap(), vec![c1.clone(), c2.clone()]);
    assert!(s.has_change(&h.id(), &c1.hash).unwrap());
    assert!(!s.has_change(&h.id(), &ChangeHash([9; 32])).unwrap());
    assert_eq!(s.headers().unwrap(), vec![h]);
    assert_eq!(s.all_heads().unwrap(), vec![(h, vec![c2.hash])]);
    assert_eq!(s.heads(&h.id()).unwrap(), Some(vec![c2.hash]));
    assert_eq!(s.heads(&header(2, DocKind::Profile).id()).unwrap(), None);
    assert_eq!(s.counts().unwrap().changes, 2);
    s.integrity_check().unwrap();
}

#[allow(clippy::unwrap_used)]
fn duplicates_are_ignored<S: Store>(s: &mut S) {
    let h = header(2, DocKind::Experience);
    let c = change(&h, 3);
    let batch = Batch {
        docs: vec![doc(h, b"s", vec![c.hash])],
        changes: vec![c.clone(), c.clone()],
        ..Batch::default()
    };
    assert_eq!(s.commit(&batch).unwrap().new_changes, 1);
    assert_eq!(s.commit(&batch).unwrap().new_changes, 0);
    assert_eq!(s.changes(&h.id()).unwrap().len(), 1);
}

#[allow(clippy::unwrap_used, clippy::panic)]
fn refused_batch_leaves_nothing<S: Store>(s: &mut S) {
    let known = header(3, DocKind::Profile);
    let unknown = header(4, DocKind::Profile);
    let good = change(&known, 4);
    let orphan = change(&unknown, 5);
    let batch = Batch {
        docs: vec![doc(known, b"new", vec![good.hash])],
        changes: vec![good.clone(), orphan],
        certs: vec![StoredCert {
            kind: CertKind::Revocation,
            encoded: vec![1, 2, 3],
        }],
        keys: vec![],
        removed: vec![],
        index: vec![],
        reindex_all: false,
        meta: vec![("anchors".into(), "refused".into())],
    };
    match s.commit(&batch) {
        Err(StoreError::UnknownDocument(id)) => assert_eq!(id, unknown.id()),
        other => panic!("expected UnknownDocument, got {other:?}"),
    }
    assert!(
        s.document(&known.id()).unwrap().is_none(),
        "document of a refused batch was stored"
    );
    assert_eq!(
        s.meta("anchors").unwrap(),
        None,
        "setting of a refused batch was stored"
    );
    assert!(
        !s.has_change(&known.id(), &good.hash).unwrap(),
        "change of a refused batch was stored"
    );
    assert!(
        s.certs().unwrap().is_empty(),
        "certificate of a refused batch was stored"
    );
}

#[allow(clippy::unwrap_used)]
fn snapshot_is_replaced<S: Store>(s: &mut S) {
    let h = header(5, DocKind::Product);
    let c1 = change(&h, 6);
    s.commit(&Batch {
        docs: vec![doc(h, b"v1", vec![c1.hash])],
        changes: vec![c1.clone()],
        ..Batch::default()
    })
    .unwrap();
    let c2 = change(&h, 7);
    s.commit(&Batch {
        docs: vec![doc(h, b"v2", vec![c2.hash])],
        changes: vec![c2.clone()],
        ..Batch::default()
    })
    .unwrap();
    let d = s.document(&h.id()).unwrap().unwrap();
    assert_eq!(d.snapshot, b"v2");
    assert_eq!(d.heads, vec![c2.hash]);
    assert_eq!(
        s.changes(&h.id()).unwrap(),
        vec![c1, c2],
        "changes keep their storage order"
    );
}

#[allow(clippy::unwrap_used)]
fn certs_and_keys<S: Store>(s: &mut S) {
    let a = StoredCert {
        kind: CertKind::Delegation,
        encoded: vec![3, 3],
    };
    let b = StoredCert {
        kind: CertKind::Revocation,
        encoded: vec![1],
    };
    let k = KeyRecord {
        key: key(9),
        role: "local".into(),
        label: "Stadt Beispiel".into(),
    };
    let out = s
        .commit(&Batch {
            certs: vec![b.clone(), a.clone(), a.clone()],
            keys: vec![k.clone()],
            ..Batch::default()
        })
        .unwrap();
    assert_eq!(out.new_certs, 2);
    assert_eq!(s.certs().unwrap(), vec![a, b]);
    assert_eq!(s.keys().unwrap(), vec![k.clone()]);
    let relabelled = KeyRecord {
        label: "Stadt Anders".into(),
        ..k
    };
    s.commit(&Batch {
        keys: vec![relabelled.clone()],
        ..Batch::default()
    })
    .unwrap();
    assert_eq!(s.keys().unwrap(), vec![relabelled]);
    assert_eq!(s.counts().unwrap().certificates, 2);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MemStore, SqliteStore};

    #[test]
    fn memory_store_conforms() {
        run_all(MemStore::new);
    }

    #[test]
    fn sqlite_store_conforms() {
        run_all(|| SqliteStore::open_in_memory().unwrap());
    }

    #[test]
    fn sqlite_file_store_conforms() {
        let dir = tempfile::tempdir().unwrap();
        let n = std::cell::Cell::new(0);
        run_all(|| {
            n.set(n.get() + 1);
            SqliteStore::open(&dir.path().join(format!("s{}.db", n.get()))).unwrap()
        });
    }

    /// Counts kept by one connection notice what another connection (another process)
    /// committed.
    #[test]
    fn sqlite_counts_see_other_connections() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shared.db");
        let mut first = SqliteStore::open(&path).unwrap();
        assert_eq!(first.counts().unwrap().certificates, 0);
        let mut second = SqliteStore::open(&path).unwrap();
        second
            .commit(&Batch {
                certs: vec![StoredCert {
                    kind: CertKind::Revocation,
                    encoded: vec![1],
                }],
                ..Batch::default()
            })
            .unwrap();
        assert_eq!(first.counts().unwrap().certificates, 1);
        first
            .commit(&Batch {
                certs: vec![StoredCert {
                    kind: CertKind::Revocation,
                    encoded: vec![2],
                }],
                ..Batch::default()
            })
            .unwrap();
        assert_eq!(first.counts().unwrap().certificates, 2);
        assert_eq!(second.counts().unwrap().certificates, 2);
    }
}
