#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Golden byte fixtures of the v1 encodings.
//!
//! Every object here is deterministic (fixed key seeds, replica id, times and contents;
//! ed25519 signatures and Automerge change encodings are deterministic), so its encoding must
//! equal the fixture byte for byte. A change to any encoding is a protocol change: old nodes
//! could no longer read new bytes, or signatures would no longer verify. If the change is
//! deliberate, regenerate the fixtures with
//!
//! ```text
//! ALLMENDE_BLESS=1 cargo nextest run -p allmende-protocol --test golden
//! ```
//!
//! and bump the encoding's version.

use std::path::PathBuf;

use allmende_protocol::change::{ReplicaId, SignedChange, actor_id};
use allmende_protocol::doc::{DocHeader, DocKind, Document};
use allmende_protocol::identity::{
    Delegation, Keypair, Revocation, Scope, SignedDelegation, SignedRevocation,
};
use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::schema::{HostingModel, Product, ProductKind, UnixTime};
use sha2::{Digest, Sha256};

const CHANGE_TIME: i64 = 1_700_000_000;
const FOLLOWUP_TIME: i64 = 1_700_000_060;
const REPLICA: ReplicaId = ReplicaId([0x11; 16]);
const NONCE: [u8; 16] = [0x42; 16];

/// The id of [`header`], pinned: a change here changes every document id in the network.
const PRODUCT_DOC_ID: &str = "32a6bf0cefcca10328aa9279515d26539dd6b62c1530bd43da1f9f0650a4da00";
/// The id of org 1's deployments document, pinned.
const DEPLOYMENTS_DOC_ID: &str = "f37abba46f25ee254e9975c488c788437d7679deaa76875b77702e59e54ef5b9";

fn kp(seed: u8) -> Keypair {
    Keypair::from_secret_bytes(&[seed; 32]).unwrap()
}

fn org(k: &Keypair) -> OrgId {
    OrgId::from_root_key(k.public())
}

fn header() -> DocHeader {
    DocHeader::product(org(&kp(1)), NONCE)
}

fn product() -> Product {
    Product {
        name: "XBau-Antragsdienst".into(),
        vendor: "Dataport AöR".into(),
        kind: ProductKind::Onlinedienst,
        description: Some("Digitaler Bauantrag\nmit Beteiligung der Fachämter".into()),
        categories: vec!["Bauen".into(), "Wohnen".into()],
        tasks: vec!["99108001000000".parse().unwrap()],
        licence: Some("EUPL-1.2".parse().unwrap()),
        repository: Some("https://gitlab.opencode.de/example/xbau".parse().unwrap()),
        website: None,
        standards: vec!["XBau".into(), "FIT-Connect".into()],
        hosting: vec![HostingModel::ItDienstleister, HostingModel::Cloud],
        prerequisites: None,
        cost_model: Some("Einer für Alle".into()),
        sla: None,
        efa: None,
        accessibility_statement: None,
        dpia_available: Some(true),
        test_instance: Some(false),
        vendor_org: None,
        same_as: None,
        co_stewards: vec![],
        current_version: None,
        support_ends: None,
    }
}

/// The first change (no deps) and a follow-up (one dep) to the product document.
fn changes() -> (SignedChange, SignedChange) {
    let mut doc = Document::new(header());
    let first = doc
        .edit(&kp(1), REPLICA, UnixTime(CHANGE_TIME), |ed| {
            ed.put_root(&product())
        })
        .unwrap()
        .unwrap();
    let mut p = product();
    p.website = Some("https://www.example.de/bauantrag".parse().unwrap());
    p.test_instance = Some(true);
    let followup = doc
        .edit(&kp(1), REPLICA, UnixTime(FOLLOWUP_TIME), |ed| {
            ed.put_root(&p)
        })
        .unwrap()
        .unwrap();
    (first, followup)
}

fn delegation() -> SignedDelegation {
    Delegation {
        issuer: org(&kp(1)),
        delegate: kp(2).public(),
        scope: Scope::default()
            .with(DocKind::Deployments)
            .with(DocKind::Experience),
        not_before: UnixTime(1_700_000_000),
        not_after: UnixTime(1_800_000_000),
    }
    .sign(&kp(1))
    .unwrap()
}

fn revocation() -> SignedRevocation {
    Revocation {
        issuer: kp(2).public(),
        subject: kp(2).public(),
        effective: UnixTime(1_750_000_000),
        reason: "Schlüssel verloren".into(),
    }
    .sign(&kp(2))
    .unwrap()
}

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(format!("{name}.hex"))
}

fn blessing() -> bool {
    std::env::var("ALLMENDE_BLESS").is_ok_and(|v| v == "1")
}

/// Compares `bytes` with the fixture, or writes the fixture when blessing.
fn check_fixture(name: &str, bytes: &[u8]) {
    let path = fixture_path(name);
    let hex = hex::encode(bytes);
    if blessing() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut text = String::new();
        for line in hex.as_bytes().chunks(64) {
            text.push_str(std::str::from_utf8(line).unwrap());
            text.push('\n');
        }
        std::fs::write(&path, text).unwrap();
        return;
    }
    let expected = read_fixture(name);
    assert_eq!(
        hex,
        hex::encode(&expected),
        "the v1 encoding of {name} changed (fixture {}); if deliberate, bump the version \
         and regenerate with ALLMENDE_BLESS=1",
        path.display()
    );
}

fn read_fixture(name: &str) -> Vec<u8> {
    let path = fixture_path(name);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| {
            format!(
                "fixture {} missing ({e}); create it with ALLMENDE_BLESS=1",
                path.display()
            )
        })
        .unwrap();
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(compact).unwrap()
}

#[test]
fn doc_header_encoding_is_stable() {
    check_fixture("doc_header", &header().encode());
    if blessing() {
        return;
    }
    let bytes = read_fixture("doc_header");
    // The layout, spelled out: magic, version, kind tag, owner key, nonce.
    assert_eq!(&bytes[..4], b"AMH\x01");
    assert_eq!(bytes[4], 3, "product kind tag");
    assert_eq!(&bytes[5..37], kp(1).public().as_bytes());
    assert_eq!(&bytes[37..], &NONCE);
    let h = DocHeader::decode(&bytes).unwrap();
    assert_eq!(h.kind, DocKind::Product);
    assert_eq!(h.owner, org(&kp(1)));
    assert_eq!(h.nonce, NONCE);
    assert_eq!(h, header());
}

#[test]
fn doc_ids_are_pinned() {
    let bytes = read_fixture("doc_header");
    let id = DocHeader::decode(&bytes).unwrap().id();
    // The derivation, independently: SHA-256 over the domain and the encoded header.
    let mut h = Sha256::new();
    h.update(b"allmende/v1/doc\0");
    h.update(&bytes);
    let expected: [u8; 32] = h.finalize().into();
    assert_eq!(id, DocId::from_bytes(expected));
    // And the value itself.
    assert_eq!(format!("{id:#}"), PRODUCT_DOC_ID);
    assert_eq!(id, PRODUCT_DOC_ID.parse::<DocId>().unwrap());

    let dep = DocHeader::singleton(DocKind::Deployments, org(&kp(1)));
    assert_eq!(format!("{:#}", dep.id()), DEPLOYMENTS_DOC_ID);
    // The nonce, kind and owner all enter the id.
    assert_ne!(
        DocHeader::product(org(&kp(1)), [0x43; 16]).id(),
        header().id()
    );
    assert_ne!(
        DocHeader::singleton(DocKind::Experience, org(&kp(1))).id(),
        dep.id()
    );
    assert_ne!(
        DocHeader::singleton(DocKind::Deployments, org(&kp(2))).id(),
        dep.id()
    );
}

#[test]
fn signed_change_encoding_is_stable() {
    let (first, followup) = changes();
    // Determinism within the process, before comparing with the files.
    assert_eq!(first.encode(), changes().0.encode());
    check_fixture("signed_change", &first.encode());
    check_fixture("signed_change_followup", &followup.encode());
    if blessing() {
        return;
    }

    let bytes = read_fixture("signed_change");
    assert_eq!(&bytes[..4], b"AMC\x01");
    assert_eq!(&bytes[4..36], header().id().as_bytes());
    assert_eq!(&bytes[36..68], kp(1).public().as_bytes());
    let len = u32::from_be_bytes(bytes[132..136].try_into().unwrap()) as usize;
    assert_eq!(len, bytes.len() - 136);
    // An Automerge change chunk: magic 85 6f 4a 83, then checksum, then chunk type 1.
    assert_eq!(&bytes[136..140], &[0x85, 0x6f, 0x4a, 0x83]);
    assert_eq!(bytes[144], 1);

    let c = SignedChange::decode(&bytes).unwrap();
    assert_eq!(c.doc(), header().id());
    assert_eq!(c.signer(), kp(1).public());
    assert_eq!(c.time(), UnixTime(CHANGE_TIME));
    assert_eq!(c.change().seq(), 1);
    assert!(c.change().deps().is_empty());
    assert_eq!(
        c.change().actor_id().to_bytes(),
        &actor_id(&kp(1).public(), &REPLICA)[..]
    );
    let c2 = SignedChange::decode(&read_fixture("signed_change_followup")).unwrap();
    assert_eq!(c2.time(), UnixTime(FOLLOWUP_TIME));
    assert_eq!(c2.change().seq(), 2);
    assert_eq!(c2.change().deps(), &[c.hash()]);

    // Both verify and, applied in reverse order, rebuild the product.
    let v2 = c2.verify(header().id()).unwrap();
    let v1 = c.verify(header().id()).unwrap();
    let certs = allmende_protocol::auth::Certificates::new();
    let now = UnixTime(FOLLOWUP_TIME);
    let mut doc = Document::new(header());
    doc.apply([certs.authorise(&header(), v2, now).unwrap()])
        .unwrap();
    assert!(doc.root::<Product>().is_none(), "waits for its dependency");
    doc.apply([certs.authorise(&header(), v1, now).unwrap()])
        .unwrap();
    let mut expected = product();
    expected.website = Some("https://www.example.de/bauantrag".parse().unwrap());
    expected.test_instance = Some(true);
    assert_eq!(doc.root::<Product>().unwrap().unwrap(), expected);
}

#[test]
fn signed_delegation_encoding_is_stable() {
    check_fixture("signed_delegation", &delegation().encode());
    if blessing() {
        return;
    }
    let bytes = read_fixture("signed_delegation");
    assert_eq!(&bytes[..4], b"AMD\x01");
    assert_eq!(bytes.len(), 4 + 32 + 32 + 1 + 8 + 8 + 64);
    // Scope bits: deployments (tag 1) and experience (tag 2).
    assert_eq!(bytes[68], 0b0000_0110);
    let d = SignedDelegation::decode(&bytes).unwrap();
    assert_eq!(d.body.issuer, org(&kp(1)));
    assert_eq!(d.body.delegate, kp(2).public());
    assert_eq!(
        d.body.scope.kinds(),
        vec![DocKind::Deployments, DocKind::Experience]
    );
    assert_eq!(d.body.not_before, UnixTime(1_700_000_000));
    assert_eq!(d.body.not_after, UnixTime(1_800_000_000));
    assert_eq!(d, delegation());
}

#[test]
fn signed_revocation_encoding_is_stable() {
    check_fixture("signed_revocation", &revocation().encode());
    if blessing() {
        return;
    }
    let bytes = read_fixture("signed_revocation");
    assert_eq!(&bytes[..4], b"AMR\x01");
    let reason = "Schlüssel verloren".as_bytes();
    assert_eq!(bytes.len(), 4 + 32 + 32 + 8 + 4 + reason.len() + 64);
    assert_eq!(&bytes[80..80 + reason.len()], reason);
    let r = SignedRevocation::decode(&bytes).unwrap();
    assert_eq!(r.body.issuer, kp(2).public());
    assert_eq!(r.body.subject, kp(2).public());
    assert_eq!(r.body.effective, UnixTime(1_750_000_000));
    assert_eq!(r.body.reason, "Schlüssel verloren");
    assert_eq!(r, revocation());
}
