#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Upgrades: this version reads the store that Allmende 0.1.0 wrote (schema 2) and migrates
//! it, decodes the 0.1.0 wire messages and writes them byte for byte as 0.1.0 did, and
//! imports a 0.1.0 export. The fixtures in `tests/fixtures/v0.1.0/` were made once by the
//! 0.1.0 binary (see their README) and are never regenerated.

use std::path::{Path, PathBuf};

use allmende_node::datadir::DataDir;
use allmende_node::export::{Export, import_export};
use allmende_node::query::{SearchQuery, search};
use allmende_node::repo::Repo;
use allmende_node::store::{SCHEMA_VERSION, SqliteStore, Store};
use allmende_protocol::change::ReplicaId;
use allmende_protocol::doc::DocKind;
use allmende_protocol::sync::{Cert, Gossip, Object, Request, Response};

const ORG: &str = "4996a113c90dde24639fd09bdb7d36f570e2c97c5aa2b4d6d9da5860a2520d7f";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/v0.1.0")
        .join(name)
}

/// A data directory holding copies of the 0.1.0 store and key (the fixtures stay untouched).
fn old_data_dir(tmp: &Path) -> DataDir {
    let dir = tmp.join("d");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixture("store-schema2.db"), dir.join("allmende.db")).unwrap();
    std::fs::copy(fixture("identity.key"), dir.join("identity.key")).unwrap();
    #[cfg(unix)]
    std::fs::set_permissions(
        dir.join("identity.key"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    DataDir::new(dir)
}

fn schema_version(db: &Path) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_store_written_by_0_1_0_is_migrated_checked_and_usable() {
    let tmp = tempfile::tempdir().unwrap();
    let dd = old_data_dir(tmp.path());
    assert_eq!(
        schema_version(&dd.db_path()),
        2,
        "the fixture is the old format"
    );
    const {
        assert!(
            SCHEMA_VERSION > 2,
            "this version has a newer schema to migrate to"
        )
    };

    let mut repo = dd.open_repo().unwrap();
    assert_eq!(repo.store().schema_version().unwrap(), SCHEMA_VERSION);
    // Everything 0.1.0 stored is still there and still verifies.
    let report = repo.check_integrity().unwrap();
    assert_eq!(
        (report.documents, report.changes, report.certificates),
        (4, 5, 2)
    );
    // The index was rebuilt from the documents: the product is found by a German search.
    let hits = search(
        repo.store().connection(),
        &SearchQuery {
            q: Some("bauantrag".into()),
            limit: 10,
            ..SearchQuery::default()
        },
    )
    .unwrap();
    assert_eq!(hits.total, 1);
    assert_eq!(hits.hits[0].name, "Fixture Bauantrag");
    // The migration's new column: unknown for old rows, set for new ones.
    assert_eq!(repo.store().last_received_at().unwrap(), None);
    let id = dd.identity().unwrap();
    assert_eq!(format!("{:#}", id.org), ORG);
    let header = allmende_protocol::doc::DocHeader::singleton(DocKind::Profile, id.org);
    let mut profile = repo
        .document(&header.id())
        .unwrap()
        .unwrap()
        .root::<allmende_protocol::schema::OrgProfile>()
        .unwrap()
        .unwrap();
    profile.population = Some(4321);
    repo.edit(&id.keypair, header, allmende_node::now(), |ed| {
        ed.put_root(&profile)
    })
    .unwrap()
    .expect("the edit changes the profile");
    assert!(repo.store().last_received_at().unwrap().is_some());
    assert_eq!(repo.check_integrity().unwrap().changes, 6);
    drop(repo);
    // Opening again is a no-op migration.
    let again = SqliteStore::open(&dd.db_path()).unwrap();
    assert_eq!(again.counts().unwrap().changes, 6);
}

#[test]
fn a_store_of_a_newer_version_is_refused_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let dd = old_data_dir(tmp.path());
    rusqlite::Connection::open(dd.db_path())
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    let before = std::fs::read(dd.db_path()).unwrap();
    let e = SqliteStore::open(&dd.db_path()).unwrap_err().to_string();
    assert!(e.contains("upgrade Allmende"), "{e}");
    assert_eq!(std::fs::read(dd.db_path()).unwrap(), before);
}

#[test]
fn wire_messages_of_0_1_0_decode_and_encode_to_the_same_bytes() {
    let announce = std::fs::read(fixture("gossip-announce.bin")).unwrap();
    let Gossip::Announce(a) = Gossip::decode(&announce).unwrap() else {
        panic!("an announcement");
    };
    assert_eq!(a.header.kind, DocKind::Deployments);
    assert_eq!(format!("{:#}", a.header.owner), ORG);
    assert_eq!(a.certs.len(), 2);
    assert_eq!(Gossip::Announce(a.clone()).encode(), announce);

    let cert = std::fs::read(fixture("gossip-cert.bin")).unwrap();
    let g = Gossip::decode(&cert).unwrap();
    assert!(matches!(&g, Gossip::Cert(Cert::Revocation(r)) if r.succession().is_none()));
    assert_eq!(g.encode(), cert);

    let req = std::fs::read(fixture("request-reconcile.bin")).unwrap();
    let r = Request::decode(&req).unwrap();
    assert!(matches!(&r, Request::Reconcile(ranges) if !ranges.is_empty()));
    assert_eq!(r.encode(), req);

    let resp = std::fs::read(fixture("response-fetched.bin")).unwrap();
    let Response::Fetched(objects) = Response::decode(&resp).unwrap() else {
        panic!("fetched objects");
    };
    let docs = objects
        .iter()
        .filter(|o| matches!(o, Object::Doc { .. }))
        .count();
    let certs = objects
        .iter()
        .filter(|o| matches!(o, Object::Cert(_)))
        .count();
    assert_eq!((docs, certs), (4, 2));
    assert_eq!(Response::Fetched(objects.clone()).encode(), resp);

    // A 0.1.0 peer's objects are accepted by this version's repository: certificates first,
    // then every document's changes verify and authorise.
    let mut repo = Repo::open(SqliteStore::open_in_memory().unwrap(), ReplicaId([7; 16])).unwrap();
    for o in &objects {
        if let Object::Cert(c) = o {
            match c {
                Cert::Delegation(d) => repo.add_delegation(d.clone()).unwrap(),
                Cert::Revocation(r) => repo.add_revocation(r.clone()).unwrap(),
                Cert::Equivocation(_) => panic!("0.1.0 knew no proofs of equivocation"),
            };
        }
    }
    let mut stored = 0;
    for o in objects {
        if let Object::Doc {
            header, changes, ..
        } = o
        {
            stored += repo
                .ingest(header, changes, allmende_node::now())
                .unwrap()
                .new_changes;
        }
    }
    assert_eq!(stored, 5);
    assert_eq!(repo.check_integrity().unwrap().documents, 4);
}

#[test]
fn an_export_of_0_1_0_imports() {
    let text = std::fs::read_to_string(fixture("export.json")).unwrap();
    let export: Export = serde_json::from_str(&text).unwrap();
    let mut repo = Repo::open(SqliteStore::open_in_memory().unwrap(), ReplicaId([8; 16])).unwrap();
    let report = import_export(&mut repo, &export, allmende_node::now()).unwrap();
    assert_eq!(
        (report.documents, report.new_changes, report.new_certs),
        (4, 5, 2)
    );
    // Importing again changes nothing.
    let again = import_export(&mut repo, &export, allmende_node::now()).unwrap();
    assert_eq!((again.new_changes, again.duplicates), (0, 5));
}
