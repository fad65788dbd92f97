#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Every way a signed change, a header, a delegation or a revocation can be wrong is refused
//! with its own error variant, and no input makes a decoder panic.

use allmende_protocol::auth::{AuthError, Certificates, MAX_CLOCK_SKEW};
use allmende_protocol::automerge::transaction::{CommitOptions, Transactable};
use allmende_protocol::automerge::{ActorId, AutoCommit, Change, ROOT};
use allmende_protocol::change::{MAX_CHANGE_BYTES, ReplicaId, SignedChange, VerifyError, actor_id};
use allmende_protocol::chunk::{ChunkError, MAX_CHANGE_OPS, with_run_length};
use allmende_protocol::doc::{DocHeader, DocKind, Document};
use allmende_protocol::identity::{
    CertError, Delegation, Keypair, Revocation, Scope, SignedDelegation, SignedRevocation,
    Succession,
};
use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::schema::{
    Attestation, Deployment, DeploymentStatus, OperatedBy, OrgKind, Product, ProductKind, UnixTime,
};
use allmende_protocol::wire::DecodeError;
use proptest::prelude::*;

/// A plausible "now" for every test: 2023-11-14.
const T0: i64 = 1_700_000_000;

/// Offset of the change bytes in `SignedChange::encode()`:
/// magic (3) + version (1) + doc id (32) + signer (32) + signature (64) + length (4).
const SIG_AT: usize = 4 + 32 + 32;
const LEN_AT: usize = SIG_AT + 64;
const CHANGE_AT: usize = LEN_AT + 4;

fn kp(seed: u8) -> Keypair {
    Keypair::from_secret_bytes(&[seed; 32]).unwrap()
}

fn org(k: &Keypair) -> OrgId {
    OrgId::from_root_key(k.public())
}

fn product() -> Product {
    Product {
        name: "Bürgerportal".into(),
        vendor: "Stadt Musterstadt".into(),
        kind: ProductKind::Onlinedienst,
        description: Some("Ein Portal".into()),
        categories: vec![],
        tasks: vec![],
        licence: Some("EUPL-1.2".parse().unwrap()),
        repository: None,
        website: None,
        standards: vec!["XBau".into()],
        hosting: vec![],
        prerequisites: None,
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
    }
}

fn deployment(product: DocId, version: &str) -> Deployment {
    Deployment {
        version: Some(version.into()),
        ..Deployment::new(product, DeploymentStatus::Production, OperatedBy::Itself)
    }
}

fn product_header(creator: &Keypair) -> DocHeader {
    DocHeader::product(org(creator), [0x5a; 16])
}

fn deployments_header(owner: &Keypair) -> DocHeader {
    DocHeader::singleton(DocKind::Deployments, org(owner))
}

/// A real signed change: `author` writes a deployment into the deployments document of
/// `owner` at `time`.
fn deployment_change(author: &Keypair, owner: &Keypair, time: i64) -> (DocHeader, SignedChange) {
    let header = deployments_header(owner);
    let mut doc = Document::new(header);
    let pid = product_header(owner).id();
    let c = doc
        .edit(author, ReplicaId([0x33; 16]), UnixTime(time), |ed| {
            ed.put("rec-1", &deployment(pid, "1.0"))
        })
        .unwrap()
        .expect("the edit changes the document");
    (header, c)
}

/// A real signed change to a product document created by `creator`.
fn product_change(author: &Keypair, creator: &Keypair, time: i64) -> (DocHeader, SignedChange) {
    let header = product_header(creator);
    let mut doc = Document::new(header);
    let c = doc
        .edit(author, ReplicaId([0x44; 16]), UnixTime(time), |ed| {
            ed.put_root(&product())
        })
        .unwrap()
        .expect("the edit changes the document");
    (header, c)
}

fn delegation(issuer: &Keypair, delegate: &Keypair, from: i64, until: i64) -> SignedDelegation {
    Delegation {
        issuer: org(issuer),
        delegate: delegate.public(),
        scope: Scope::default().with(DocKind::Deployments),
        not_before: UnixTime(from),
        not_after: UnixTime(until),
    }
    .sign(issuer)
    .unwrap()
}

fn revocation(issuer: &Keypair, subject: &Keypair, effective: i64) -> SignedRevocation {
    Revocation {
        issuer: issuer.public(),
        subject: subject.public(),
        effective: UnixTime(effective),
        reason: "Schlüssel kompromittiert".into(),
    }
    .sign(issuer)
    .unwrap()
}

/// An `AMC` envelope around raw chunk bytes, assembled by hand (the typed encoder holds only
/// changes that parse).
fn envelope(doc: DocId, signer: &Keypair, sig: &[u8; 64], raw: &[u8]) -> Vec<u8> {
    let mut bytes = b"AMC\x01".to_vec();
    bytes.extend_from_slice(doc.as_bytes());
    bytes.extend_from_slice(signer.public().as_bytes());
    bytes.extend_from_slice(sig);
    bytes.extend_from_slice(&(raw.len() as u32).to_be_bytes());
    bytes.extend_from_slice(raw);
    bytes
}

fn decode_err(bytes: &[u8]) -> VerifyError {
    // On success show the decoded change's size, not its Debug form: it can be megabytes.
    SignedChange::decode(bytes)
        .map(|c| c.change().raw_bytes().len())
        .expect_err("decoding must fail")
}

// ---------------------------------------------------------------------------------------
// Positive controls: without them every rejection below could pass for the wrong reason.
// ---------------------------------------------------------------------------------------

#[test]
fn a_genuine_change_round_trips_verifies_and_is_authorised() {
    let a = kp(1);
    let (header, c) = deployment_change(&a, &a, T0);
    assert_eq!(c.doc(), header.id());
    assert_eq!(c.signer(), a.public());
    assert_eq!(c.time(), UnixTime(T0));
    let decoded = SignedChange::decode(&c.encode()).unwrap();
    assert_eq!(decoded.hash(), c.hash());
    assert_eq!(decoded.signature(), c.signature());
    assert_eq!(decoded.encode(), c.encode());
    let v = decoded.verify(header.id()).unwrap();
    let ok = Certificates::new()
        .authorise(&header, v, UnixTime(T0))
        .unwrap();
    assert_eq!(ok.attribution().signer, a.public());
    assert_eq!(ok.attribution().on_behalf_of, Some(org(&a)));

    let mut receiver = Document::new(header);
    receiver.apply([ok]).unwrap();
    assert!(receiver.has_change(&c.hash()));
    let recs = receiver.records::<Deployment>();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].0, "rec-1");
    assert_eq!(recs[0].1.as_ref().unwrap().version.as_deref(), Some("1.0"));
}

// ---------------------------------------------------------------------------------------
// Signature, document and actor binding (VerifyError).
// ---------------------------------------------------------------------------------------

#[test]
fn altered_signature_bytes_are_a_bad_signature() {
    let a = kp(1);
    let (_, c) = deployment_change(&a, &a, T0);
    let good = c.encode();
    // Every byte of the signature matters (spot-check first, middle, last and the bit that
    // ed25519's `verify_strict` checks for canonical `s`).
    for at in [SIG_AT, SIG_AT + 1, SIG_AT + 31, SIG_AT + 32, SIG_AT + 63] {
        let mut bad = good.clone();
        bad[at] ^= 0x01;
        // Checked while decoding, before the change is parsed.
        let err = decode_err(&bad);
        assert!(
            matches!(err, VerifyError::BadSignature { signer } if signer == a.public()),
            "byte {at}: {err:?}"
        );
    }
}

#[test]
fn a_signature_by_another_key_than_the_claimed_signer_is_a_bad_signature() {
    let a = kp(1);
    let mallory = kp(66);
    let (header, c) = deployment_change(&a, &a, T0);
    // Mallory signs exactly the message a's signature would cover (same doc, same change)
    // and claims a's name: the actor is a's, so only the signature can catch it.
    let mallory_sig = *SignedChange::sign(&mallory, header.id(), c.change().clone()).signature();
    let forged = SignedChange::from_parts(header.id(), a.public(), mallory_sig, c.change().clone());
    let err = forged.verify(header.id()).unwrap_err();
    assert!(
        matches!(err, VerifyError::BadSignature { signer } if signer == a.public()),
        "{err:?}"
    );
    // And the same through the wire.
    let forged = SignedChange::from_parts(header.id(), a.public(), mallory_sig, c.change().clone());
    let err = decode_err(&forged.encode());
    assert!(matches!(err, VerifyError::BadSignature { .. }), "{err:?}");
}

#[test]
fn a_change_signed_for_another_document_is_refused() {
    let a = kp(1);
    // A valid change for doc Y (a's deployments) …
    let (y, c) = deployment_change(&a, &a, T0);
    assert!(c.clone().verify(y.id()).is_ok());
    // … offered for doc X (a's experience document, or any other).
    let x = DocHeader::singleton(DocKind::Experience, org(&a)).id();
    let err = c.clone().verify(x).unwrap_err();
    assert!(
        matches!(err, VerifyError::WrongDocument { offered_for, signed_for }
            if offered_for == x && signed_for == y.id()),
        "{err:?}"
    );
    // Rewriting the doc id in the envelope does not help: the signature names Y.
    let mut bytes = c.encode();
    bytes[4..36].copy_from_slice(x.as_bytes());
    let err = decode_err(&bytes);
    assert!(matches!(err, VerifyError::BadSignature { .. }), "{err:?}");
}

#[test]
fn an_actor_not_bound_to_the_signer_is_refused() {
    let a = kp(1);
    let b = kp(2);
    let header = deployments_header(&a);
    let id = header.id();

    let change_with_actor = |actor: &[u8]| {
        let mut am = AutoCommit::new().with_actor(ActorId::from(actor));
        am.put(ROOT, "name", "x").unwrap();
        let hash = am
            .commit_with(CommitOptions::default().with_time(T0))
            .unwrap();
        am.get_change_by_hash(&hash).unwrap()
    };

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("random actor", vec![0xab; 16]),
        (
            "another key's actor",
            actor_id(&b.public(), &ReplicaId([1; 16])).to_vec(),
        ),
        (
            "the bare key, no replica id",
            a.public().as_bytes().to_vec(),
        ),
        ("key with a long suffix", {
            let mut v = a.public().as_bytes().to_vec();
            v.extend_from_slice(&[7; 17]);
            v
        }),
    ];
    for (what, actor) in cases {
        let signed = SignedChange::sign(&a, id, change_with_actor(&actor));
        let err = signed.clone().verify(id).unwrap_err();
        assert!(
            matches!(&err, VerifyError::ActorNotBound { signer, .. } if *signer == a.public()),
            "{what}: {err:?}"
        );
        // Survives the wire too.
        let err = SignedChange::decode(&signed.encode())
            .unwrap()
            .verify(id)
            .unwrap_err();
        assert!(
            matches!(err, VerifyError::ActorNotBound { .. }),
            "{what}: {err:?}"
        );
    }

    // Positive control: the same hand-made change with the bound actor id verifies.
    let bound = actor_id(&a.public(), &ReplicaId([9; 16]));
    let signed = SignedChange::sign(&a, id, change_with_actor(&bound));
    assert!(signed.verify(id).is_ok());
}

// ---------------------------------------------------------------------------------------
// Tampering with the change bytes.
// ---------------------------------------------------------------------------------------

/// Automerge change chunk layout: magic (4) | checksum (4) | chunk type (1) | uleb length |
/// body (deps, actor, seq, start op, time, message, other actors, column metadata, column
/// data). We flip a byte in the op columns' data (the value column: a field's JSON text),
/// which keeps the chunk parseable, so the error cannot come from a parse failure: it comes
/// from the signature: `SignedChange::decode` computes the change hash from the raw bytes and
/// verifies the signature before Automerge parses anything, so tampered bytes cost one
/// signature check, never a parse.
#[test]
fn a_flipped_byte_in_the_op_columns_fails_the_signature_before_parsing() {
    let a = kp(1);
    let (_, c) = product_change(&a, &a, T0);
    let good = c.encode();
    let raw = c.change().raw_bytes();
    // The field values are JSON strings stored verbatim in the value column: find one.
    let needle = b"Stadt Musterstadt";
    let in_raw = raw
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the vendor's text is in the value column");
    let at = CHANGE_AT + in_raw + 3;
    let mut bad = good.clone();
    bad[at] ^= 0x20; // 'd' -> 'D': still valid UTF-8, still a parseable change
    assert!(Change::try_from(&bad[CHANGE_AT..]).is_ok(), "still parses");
    let err = decode_err(&bad);
    assert!(matches!(err, VerifyError::BadSignature { .. }), "{err:?}");
}

#[test]
fn a_flipped_checksum_byte_is_a_malformed_change() {
    // The 4 checksum bytes are not covered by the change hash (Automerge hashes chunk type,
    // length and body), so a signature over the hash alone does not protect them.
    let a = kp(1);
    let (_, c) = product_change(&a, &a, T0);
    for i in 4..8 {
        let mut bad = c.encode();
        bad[CHANGE_AT + i] ^= 0x01;
        let err = decode_err(&bad);
        assert!(
            matches!(err, VerifyError::MalformedChange(_)),
            "{i}: {err:?}"
        );
    }
}

#[test]
fn a_compressed_chunk_cannot_smuggle_a_change_past_the_size_limit() {
    // A change far larger than MAX_CHANGE_BYTES, but highly compressible.
    let a = kp(1);
    let header = deployments_header(&a);
    let bound = actor_id(&a.public(), &ReplicaId([9; 16]));
    let mut am = AutoCommit::new().with_actor(ActorId::from(&bound[..]));
    am.put(ROOT, "blob", "a".repeat(4 * MAX_CHANGE_BYTES))
        .unwrap();
    let hash = am
        .commit_with(CommitOptions::default().with_time(T0))
        .unwrap();
    let mut change = am.get_change_by_hash(&hash).unwrap();
    assert!(change.raw_bytes().len() > MAX_CHANGE_BYTES);
    let compressed = change.bytes().into_owned();
    assert_eq!(compressed[8], 2, "Automerge's compressed change chunk type");
    assert!(compressed.len() < MAX_CHANGE_BYTES);

    // A genuine signature: it covers the hash, which is the same for both forms.
    let sig = *SignedChange::sign(&a, header.id(), change.clone()).signature();
    let bytes = envelope(header.id(), &a, &sig, &compressed);
    let err = decode_err(&bytes);
    assert!(
        matches!(
            err,
            VerifyError::Chunk(ChunkError::Malformed("not an uncompressed change chunk"))
        ),
        "{err:?}"
    );
}

/// A signed decode bomb: a genuine change whose op columns declare 2^50 (or 10^8) ops in a
/// few bytes more, signed by its author. Automerge would walk every op while parsing; it is
/// refused before Automerge sees it. Runs on a thread, so a regression fails instead of
/// hanging.
#[test]
fn a_signed_change_declaring_billions_of_ops_is_refused_before_parsing() {
    let a = kp(1);
    let (header, c) = product_change(&a, &a, T0);
    // Signed as the protocol signs a change: over the hash of the raw bytes.
    let signed = |raw: &[u8]| {
        let hash = allmende_protocol::chunk::hash(raw).unwrap();
        let msg = [
            b"allmende/v1/change\0".as_slice(),
            header.id().as_bytes(),
            &hash.0,
        ]
        .concat();
        let key = ed25519_dalek::SigningKey::from_bytes(&a.secret_bytes());
        let sig = ed25519_dalek::Signer::sign(&key, &msg).to_bytes();
        envelope(header.id(), &a, &sig, raw)
    };
    // Positive control: the envelope builder makes a change that decodes and verifies.
    let same = signed(c.change().raw_bytes());
    SignedChange::decode(&same)
        .unwrap()
        .verify(header.id())
        .unwrap();
    for runs in [1u64 << 50, 100_000_000, MAX_CHANGE_OPS + 1] {
        let bomb = signed(&with_run_length(c.change().raw_bytes(), runs).unwrap());
        assert!(bomb.len() < same.len() + 64, "a bomb is small");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(decode_err(&bomb));
        });
        let err = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("decoding a bomb of {runs} ops did not finish within 10 s");
        assert!(
            matches!(err, VerifyError::Chunk(ChunkError::TooManyOps { .. })),
            "{runs}: {err:?}"
        );
    }
}

#[test]
fn a_document_chunk_is_not_a_change() {
    let a = kp(1);
    let (_, c) = deployment_change(&a, &a, T0);
    let mut am = AutoCommit::new();
    am.put(ROOT, "x", 1).unwrap();
    let saved = am.save();
    assert_eq!(saved[8], 0, "Automerge's document chunk type");
    let mut bytes = c.encode();
    bytes.truncate(LEN_AT);
    bytes.extend_from_slice(&(saved.len() as u32).to_be_bytes());
    bytes.extend_from_slice(&saved);
    let err = decode_err(&bytes);
    assert!(
        matches!(
            err,
            VerifyError::Chunk(ChunkError::Malformed("not an uncompressed change chunk"))
        ),
        "{err:?}"
    );
}

#[test]
fn no_single_byte_flip_anywhere_is_accepted() {
    // Exhaustive: flipping any bit pattern in any byte of a signed change either fails to
    // decode or fails to verify. Nothing tampered ever reaches a document.
    let a = kp(1);
    let (header, c) = product_change(&a, &a, T0);
    let good = c.encode();
    for at in 0..good.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut bad = good.clone();
            bad[at] ^= mask;
            if let Ok(sc) = SignedChange::decode(&bad) {
                let res = sc.verify(header.id());
                assert!(
                    res.is_err(),
                    "flip {mask:#x} at byte {at} of {} was accepted",
                    good.len()
                );
            }
            // Bytes of the Automerge chunk always fail at decode (framing, signature,
            // checksum or parse), not later.
            if at >= CHANGE_AT {
                let err = decode_err(&bad);
                assert!(
                    matches!(
                        err,
                        VerifyError::MalformedChange(_)
                            | VerifyError::BadSignature { .. }
                            | VerifyError::Chunk(_)
                    ),
                    "flip {mask:#x} at byte {at}: {err:?}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Envelope decoding.
// ---------------------------------------------------------------------------------------

#[test]
fn unknown_encoding_versions_are_refused() {
    let a = kp(1);
    let (_, c) = deployment_change(&a, &a, T0);
    for v in [0u8, 2, 0xff] {
        let mut bad = c.encode();
        bad[3] = v;
        let err = decode_err(&bad);
        assert!(
            matches!(
                err,
                VerifyError::Decode(DecodeError::UnknownVersion { found, known: 1, .. }) if found == v
            ),
            "{v}: {err:?}"
        );
    }
    // The same rule for every other encoding.
    let mut h = product_header(&a).encode();
    h[3] = 2;
    assert!(matches!(
        DocHeader::decode(&h),
        Err(DecodeError::UnknownVersion { found: 2, .. })
    ));
    let mut d = delegation(&a, &kp(2), 0, 10).encode();
    d[3] = 2;
    assert!(matches!(
        SignedDelegation::decode(&d),
        Err(CertError::Decode(DecodeError::UnknownVersion {
            found: 2,
            ..
        }))
    ));
    let mut r = revocation(&a, &a, 0).encode();
    r[3] = 2;
    assert!(matches!(
        SignedRevocation::decode(&r),
        Err(CertError::Decode(DecodeError::UnknownVersion {
            found: 2,
            ..
        }))
    ));
}

#[test]
fn every_truncation_is_refused_as_truncated() {
    let a = kp(1);
    let (_, c) = deployment_change(&a, &a, T0);
    let good = c.encode();
    for len in 0..good.len() {
        let err = decode_err(&good[..len]);
        assert!(
            matches!(err, VerifyError::Decode(DecodeError::Truncated { .. })),
            "prefix of {len}: {err:?}"
        );
    }
    let h = product_header(&a).encode();
    for len in 0..h.len() {
        assert!(
            matches!(
                DocHeader::decode(&h[..len]),
                Err(DecodeError::Truncated { .. })
            ),
            "{len}"
        );
    }
    let d = delegation(&a, &kp(2), 0, 10).encode();
    for len in 0..d.len() {
        assert!(
            matches!(
                SignedDelegation::decode(&d[..len]),
                Err(CertError::Decode(DecodeError::Truncated { .. }))
            ),
            "{len}"
        );
    }
    let r = revocation(&a, &a, 0).encode();
    for len in 0..r.len() {
        assert!(
            matches!(
                SignedRevocation::decode(&r[..len]),
                Err(CertError::Decode(DecodeError::Truncated { .. }))
            ),
            "{len}"
        );
    }
}

#[test]
fn trailing_bytes_are_refused() {
    let a = kp(1);
    let (_, c) = deployment_change(&a, &a, T0);
    for extra in [&[0u8][..], &[1, 2, 3], &[0xff; 100]] {
        let mut bad = c.encode();
        bad.extend_from_slice(extra);
        let err = decode_err(&bad);
        assert!(
            matches!(err, VerifyError::Decode(DecodeError::TrailingBytes(n)) if n == extra.len()),
            "{err:?}"
        );
    }
    let mut h = product_header(&a).encode();
    h.push(0);
    assert_eq!(DocHeader::decode(&h), Err(DecodeError::TrailingBytes(1)));
    let mut d = delegation(&a, &kp(2), 0, 10).encode();
    d.push(0);
    assert_eq!(
        SignedDelegation::decode(&d),
        Err(CertError::Decode(DecodeError::TrailingBytes(1)))
    );
    let mut r = revocation(&a, &a, 0).encode();
    r.push(0);
    assert_eq!(
        SignedRevocation::decode(&r),
        Err(CertError::Decode(DecodeError::TrailingBytes(1)))
    );
}

#[test]
fn length_prefixes_are_checked_before_use() {
    let a = kp(1);
    let (_, c) = deployment_change(&a, &a, T0);
    let good = c.encode();
    let actual = u32::from_be_bytes(good[LEN_AT..CHANGE_AT].try_into().unwrap()) as usize;
    assert_eq!(
        actual,
        good.len() - CHANGE_AT,
        "the layout this test assumes"
    );

    let with_len = |len: u32| {
        let mut b = good.clone();
        b[LEN_AT..CHANGE_AT].copy_from_slice(&len.to_be_bytes());
        b
    };
    // Oversized: refused by the limit, before any allocation or read.
    for len in [MAX_CHANGE_BYTES as u32 + 1, u32::MAX] {
        let err = decode_err(&with_len(len));
        assert!(
            matches!(err, VerifyError::Decode(DecodeError::TooLarge { len: l, max, .. })
                if l == len as usize && max == MAX_CHANGE_BYTES),
            "{len}: {err:?}"
        );
    }
    // Within the limit but longer than the bytes there: truncated.
    let err = decode_err(&with_len(actual as u32 + 1));
    assert!(
        matches!(err, VerifyError::Decode(DecodeError::Truncated { .. })),
        "{err:?}"
    );
    // Shorter than the bytes there: the rest is trailing.
    let err = decode_err(&with_len(actual as u32 - 1));
    assert!(
        matches!(err, VerifyError::Decode(DecodeError::TrailingBytes(1))),
        "{err:?}"
    );

    // The revocation's reason has a length prefix with its own limit.
    let r = revocation(&a, &a, 0).encode();
    let reason_len_at = 4 + 32 + 32 + 8;
    let mut bad = r.clone();
    bad[reason_len_at..reason_len_at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        SignedRevocation::decode(&bad),
        Err(CertError::Decode(DecodeError::TooLarge { .. }))
    ));
}

#[test]
fn garbage_and_empty_input_are_refused() {
    let err = decode_err(&[]);
    assert!(
        matches!(err, VerifyError::Decode(DecodeError::Truncated { .. })),
        "{err:?}"
    );
    let err = decode_err(b"GARBAGE GARBAGE GARBAGE");
    assert!(
        matches!(err, VerifyError::Decode(DecodeError::BadMagic { .. })),
        "{err:?}"
    );
    // The magic of another object is a bad magic, not a misparse.
    let a = kp(1);
    let h = product_header(&a).encode();
    let err = decode_err(&h);
    assert!(
        matches!(err, VerifyError::Decode(DecodeError::BadMagic { .. })),
        "{err:?}"
    );
    assert!(matches!(
        DocHeader::decode(&[]),
        Err(DecodeError::Truncated { .. })
    ));
    assert!(matches!(
        DocHeader::decode(b"AMC\x01"),
        Err(DecodeError::BadMagic { .. })
    ));
    assert!(matches!(
        SignedDelegation::decode(&[]),
        Err(CertError::Decode(DecodeError::Truncated { .. }))
    ));
    assert!(matches!(
        SignedRevocation::decode(b"nonsense bytes"),
        Err(CertError::Decode(DecodeError::BadMagic { .. }))
    ));
    // A valid envelope around bytes that are not an Automerge change.
    let (_, c) = deployment_change(&a, &a, T0);
    let mut bytes = c.encode();
    bytes.truncate(LEN_AT);
    bytes.extend_from_slice(&5u32.to_be_bytes());
    bytes.extend_from_slice(b"hello");
    let err = decode_err(&bytes);
    assert!(matches!(err, VerifyError::Chunk(_)), "{err:?}");
}

#[test]
fn header_fields_are_validated() {
    let a = kp(1);
    // Unknown kind.
    let mut h = DocHeader::singleton(DocKind::Profile, org(&a)).encode();
    h[4] = 9;
    assert!(matches!(
        DocHeader::decode(&h),
        Err(DecodeError::Invalid { what: "kind", .. })
    ));
    // A nonce on a singleton kind would make a second "only" deployments document.
    let mut h = DocHeader::singleton(DocKind::Deployments, org(&a)).encode();
    let last = h.len() - 1;
    h[last] = 1;
    assert!(matches!(
        DocHeader::decode(&h),
        Err(DecodeError::Invalid { what: "nonce", .. })
    ));
    // A small-order owner key.
    let mut h = DocHeader::singleton(DocKind::Profile, org(&a)).encode();
    h[5..37].copy_from_slice(&{
        let mut k = [0u8; 32];
        k[0] = 1;
        k
    });
    assert!(matches!(
        DocHeader::decode(&h),
        Err(DecodeError::Invalid { what: "owner", .. })
    ));
}

#[test]
fn tampered_delegations_and_revocations_are_refused() {
    let a = kp(1);
    let b = kp(2);
    let d = delegation(&a, &b, 100, 200).encode();
    // Widen the window (not_after is the 8 bytes before the signature).
    let mut bad = d.clone();
    let not_after_at = d.len() - 64 - 8;
    bad[not_after_at] ^= 0x01;
    assert_eq!(SignedDelegation::decode(&bad), Err(CertError::BadSignature));
    let mut bad = d.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    assert_eq!(SignedDelegation::decode(&bad), Err(CertError::BadSignature));
    let r = revocation(&a, &a, 100).encode();
    let mut bad = r.clone();
    bad[4 + 32 + 32 + 7] ^= 0x01; // effective
    assert_eq!(SignedRevocation::decode(&bad), Err(CertError::BadSignature));
}

// ---------------------------------------------------------------------------------------
// Authorisation (AuthError).
// ---------------------------------------------------------------------------------------

/// Verifies and authorises `c` for `header` with `certs` at `now`.
fn authorise(
    certs: &Certificates,
    header: &DocHeader,
    c: SignedChange,
    now: i64,
) -> Result<allmende_protocol::auth::AuthorisedChange, AuthError> {
    let v = c.verify(header.id()).expect("the change itself is genuine");
    certs.authorise(header, v, UnixTime(now))
}

#[test]
fn a_key_without_delegation_may_not_write_another_orgs_deployments() {
    let a = kp(1);
    let b = kp(2);
    let (header, c) = deployment_change(&b, &a, T0);
    let err = authorise(&Certificates::new(), &header, c.clone(), T0).unwrap_err();
    assert!(
        matches!(err, AuthError::UnauthorisedKey { signer, kind: "deployments", owner }
            if signer == b.public() && owner == org(&a)),
        "{err:?}"
    );
    // A delegation to b for another kind, or from another organisation, does not help.
    let mut certs = Certificates::new();
    certs
        .add_delegation(
            Delegation {
                issuer: org(&a),
                delegate: b.public(),
                scope: Scope::default().with(DocKind::Experience),
                not_before: UnixTime(0),
                not_after: UnixTime(i64::MAX),
            }
            .sign(&a)
            .unwrap(),
        )
        .unwrap();
    certs
        .add_delegation(delegation(&kp(3), &b, 0, i64::MAX))
        .unwrap();
    let err = authorise(&certs, &header, c.clone(), T0).unwrap_err();
    assert!(matches!(err, AuthError::UnauthorisedKey { .. }), "{err:?}");
    // b may write the shared product of a, though: products are open to every key.
    let (ph, pc) = product_change(&b, &a, T0);
    assert!(authorise(&Certificates::new(), &ph, pc, T0).is_ok());
    // Nobody but the anchor writes a trust document; the anchor does.
    let th = DocHeader::singleton(DocKind::Trust, org(&a));
    let attest = |author: &Keypair| {
        Document::new(th)
            .edit(author, ReplicaId([1; 16]), UnixTime(T0), |ed| {
                ed.put(
                    "x",
                    &Attestation {
                        org: org(&kp(7)),
                        name: "Stadt Musterstadt".into(),
                        kind: OrgKind::Kommune,
                        ags: None,
                        attested_at: UnixTime(T0),
                    },
                )
            })
            .unwrap()
            .unwrap()
    };
    let err = authorise(&Certificates::new(), &th, attest(&b), T0).unwrap_err();
    assert!(
        matches!(err, AuthError::UnauthorisedKey { kind: "trust", .. }),
        "{err:?}"
    );
    assert!(authorise(&Certificates::new(), &th, attest(&a), T0).is_ok());
}

#[test]
fn a_self_revoked_key_may_not_write_from_the_effective_time() {
    let a = kp(1);
    let mut certs = Certificates::new();
    certs.add_revocation(revocation(&a, &a, T0)).unwrap();

    // After and exactly at `effective`: refused.
    for at in [T0 + 10, T0] {
        let (header, c) = deployment_change(&a, &a, at);
        let err = authorise(&certs, &header, c, at + 1).unwrap_err();
        assert!(
            matches!(err, AuthError::RevokedKey { key, since, at: t }
                if key == a.public() && since == T0 && t == at),
            "{at}: {err:?}"
        );
    }
    // Also for shared products, which any other key may write.
    let (ph, pc) = product_change(&a, &kp(2), T0 + 1);
    let err = authorise(&certs, &ph, pc, T0 + 1).unwrap_err();
    assert!(matches!(err, AuthError::RevokedKey { .. }), "{err:?}");
    // Before: accepted (positive control).
    let (header, c) = deployment_change(&a, &a, T0 - 1);
    assert!(authorise(&certs, &header, c, T0 + 100).is_ok());
    // A revocation of a by somebody else's key is not a self-revocation.
    let mut other = Certificates::new();
    other.add_revocation(revocation(&kp(9), &a, T0)).unwrap();
    let (header, c) = deployment_change(&a, &a, T0 + 10);
    assert!(authorise(&other, &header, c, T0 + 10).is_ok());
}

#[test]
fn delegations_allow_writes_only_inside_their_window() {
    let a = kp(1);
    let b = kp(2);
    let (from, until) = (T0 - 1000, T0 + 1000);
    let mut certs = Certificates::new();
    assert!(
        certs
            .add_delegation(delegation(&a, &b, from, until))
            .unwrap()
    );
    assert!(
        !certs
            .add_delegation(delegation(&a, &b, from, until))
            .unwrap(),
        "a known delegation is not added twice"
    );

    // Inside the window, including both inclusive ends: accepted, on behalf of a.
    for at in [from, T0, until] {
        let (header, c) = deployment_change(&b, &a, at);
        let ok = authorise(&certs, &header, c, until).unwrap();
        assert_eq!(ok.attribution().signer, b.public());
        assert_eq!(ok.attribution().on_behalf_of, Some(org(&a)));
    }
    // After not_after, and before not_before: expired.
    for at in [until + 1, until + 500, from - 1] {
        let (header, c) = deployment_change(&b, &a, at);
        let err = authorise(&certs, &header, c, until + 500).unwrap_err();
        assert!(
            matches!(err, AuthError::DelegationExpired { delegate, issuer, at: t, from: f, until: u }
                if delegate == b.public() && issuer == org(&a) && t == at && f == from && u == until),
            "{at}: {err:?}"
        );
    }
}

#[test]
fn a_delegation_revoked_by_its_issuer_ends_at_the_effective_time() {
    let a = kp(1);
    let b = kp(2);
    let mut certs = Certificates::new();
    certs
        .add_delegation(delegation(&a, &b, T0 - 1000, T0 + 1000))
        .unwrap();
    certs.add_revocation(revocation(&a, &b, T0)).unwrap();

    let (header, c) = deployment_change(&b, &a, T0 + 10);
    let err = authorise(&certs, &header, c, T0 + 10).unwrap_err();
    assert!(
        matches!(err, AuthError::DelegationRevoked { delegate, issuer, since }
            if delegate == b.public() && issuer == org(&a) && since == T0),
        "{err:?}"
    );
    // Before the revocation the delegation still holds.
    let (header, c) = deployment_change(&b, &a, T0 - 10);
    assert!(authorise(&certs, &header, c, T0 + 10).is_ok());
    // The revocation is not a self-revocation: b may still write its own documents.
    let (header, c) = deployment_change(&b, &b, T0 + 10);
    assert!(authorise(&certs, &header, c, T0 + 10).is_ok());
}

#[test]
fn a_change_from_the_future_is_refused_until_its_time_has_come() {
    let a = kp(1);
    let now = T0;
    let far = now + 365 * 24 * 3600;
    let (header, c) = deployment_change(&a, &a, far);
    let err = authorise(&Certificates::new(), &header, c.clone(), now).unwrap_err();
    assert!(
        matches!(err, AuthError::FromTheFuture { at, now: n } if at == far && n == now),
        "{err:?}"
    );
    // Just beyond the allowed skew: refused; at the limit: accepted.
    let (header, c) = deployment_change(&a, &a, now + MAX_CLOCK_SKEW + 1);
    assert!(matches!(
        authorise(&Certificates::new(), &header, c, now),
        Err(AuthError::FromTheFuture { .. })
    ));
    let (header, c) = deployment_change(&a, &a, now + MAX_CLOCK_SKEW);
    assert!(authorise(&Certificates::new(), &header, c, now).is_ok());
    // Once its time has come, the far-future change is accepted.
    let (header, c) = deployment_change(&a, &a, far);
    assert!(authorise(&Certificates::new(), &header, c, far).is_ok());
    // i64::MAX does not overflow the skew check.
    let (header, c) = deployment_change(&a, &a, i64::MAX);
    assert!(authorise(&Certificates::new(), &header, c, i64::MAX - 1).is_ok());
}

#[test]
fn a_change_from_before_1970_is_refused() {
    let a = kp(1);
    for at in [-1, -T0, i64::MIN] {
        let (header, c) = deployment_change(&a, &a, at);
        let err = authorise(&Certificates::new(), &header, c, T0).unwrap_err();
        assert!(
            matches!(err, AuthError::BeforeEpoch { at: x } if x == at),
            "{err:?}"
        );
    }
    // The epoch itself is a time.
    let (header, c) = deployment_change(&a, &a, 0);
    assert!(authorise(&Certificates::new(), &header, c, T0).is_ok());
}

#[test]
fn each_rejection_has_its_own_variant() {
    // One representative of each failure, collected, must be pairwise distinct variants.
    use std::mem::discriminant;
    let a = kp(1);
    let b = kp(2);
    let (h, c) = deployment_change(&a, &a, T0);

    let mut verify_errs = Vec::new();
    let mut sig = c.encode();
    sig[SIG_AT] ^= 1;
    verify_errs.push(decode_err(&sig));
    verify_errs.push(
        c.clone()
            .verify(DocHeader::singleton(DocKind::Profile, org(&a)).id())
            .unwrap_err(),
    );
    let mut flip = c.encode();
    flip[CHANGE_AT + 5] ^= 1;
    verify_errs.push(decode_err(&flip));
    let mut v2 = c.encode();
    v2[3] = 2;
    verify_errs.push(decode_err(&v2));
    let foreign = SignedChange::sign(&b, h.id(), c.change().clone());
    verify_errs.push(foreign.verify(h.id()).unwrap_err());
    for (i, x) in verify_errs.iter().enumerate() {
        for y in &verify_errs[i + 1..] {
            assert_ne!(discriminant(x), discriminant(y), "{x:?} vs {y:?}");
        }
    }

    let mut certs = Certificates::new();
    certs
        .add_delegation(delegation(&a, &b, 0, T0 - 100))
        .unwrap();
    let c_key = kp(3);
    certs.add_revocation(revocation(&c_key, &c_key, 0)).unwrap();
    let auth_errs = [
        authorise(&certs, &h, deployment_change(&kp(4), &a, T0).1, T0).unwrap_err(),
        authorise(&certs, &h, deployment_change(&c_key, &a, T0).1, T0).unwrap_err(),
        authorise(&certs, &h, deployment_change(&b, &a, T0).1, T0).unwrap_err(),
        authorise(&certs, &h, deployment_change(&a, &a, T0 + 100_000).1, T0).unwrap_err(),
        authorise(&certs, &h, deployment_change(&a, &a, -1).1, T0).unwrap_err(),
    ];
    for (i, x) in auth_errs.iter().enumerate() {
        for y in &auth_errs[i + 1..] {
            assert_ne!(discriminant(x), discriminant(y), "{x:?} vs {y:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// No input makes a decoder panic.
// ---------------------------------------------------------------------------------------

fn decode_all(bytes: &[u8]) {
    if let Ok(c) = SignedChange::decode(bytes) {
        // Whatever decodes may be inspected and verified without panicking.
        let _ = c.hash();
        let _ = c.time();
        let doc = c.doc();
        let _ = c.verify(doc);
    }
    let _ = DocHeader::decode(bytes);
    let _ = SignedDelegation::decode(bytes);
    let _ = SignedRevocation::decode(bytes);
}

fn valid_encodings() -> Vec<Vec<u8>> {
    let a = kp(1);
    vec![
        deployment_change(&a, &a, T0).1.encode(),
        product_change(&a, &a, T0).1.encode(),
        product_header(&a).encode(),
        delegation(&a, &kp(2), 0, 10).encode(),
        revocation(&a, &a, 5).encode(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        decode_all(&bytes);
    }

    #[test]
    fn arbitrary_bodies_behind_a_valid_prefix_never_panic(
        magic in prop::sample::select(vec![*b"AMC", *b"AMH", *b"AMD", *b"AMR"]),
        version in prop_oneof![Just(1u8), any::<u8>()],
        body in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        let mut bytes = magic.to_vec();
        bytes.push(version);
        bytes.extend_from_slice(&body);
        decode_all(&bytes);
    }

    #[test]
    fn mutated_valid_encodings_never_panic_and_never_verify(
        which in 0usize..5,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..6),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let encodings = valid_encodings();
        let original = &encodings[which];
        let mut bytes = original.clone();
        for (i, mask) in &edits {
            let at = i.index(bytes.len());
            bytes[at] ^= mask;
        }
        if let Some(cut) = cut {
            let len = cut.index(bytes.len());
            bytes.truncate(len);
        }
        decode_all(&bytes);
        if bytes != *original && which < 2 {
            // A mutated signed change never verifies for any document.
            if let Ok(c) = SignedChange::decode(&bytes) {
                let doc = c.doc();
                prop_assert!(c.verify(doc).is_err());
            }
        }
        if bytes != *original && which == 3 {
            prop_assert!(SignedDelegation::decode(&bytes).is_err());
        }
        if bytes != *original && which == 4 {
            prop_assert!(SignedRevocation::decode(&bytes).is_err());
        }
    }
}

fn succession(org_root: &Keypair, prev: &Keypair, next: &Keypair, at: i64) -> SignedRevocation {
    Succession {
        org: org(org_root),
        previous: prev.public(),
        next: next.public(),
        effective: UnixTime(at),
    }
    .sign(prev, next, "Schlüsselwechsel")
    .unwrap()
}

#[test]
fn after_a_rotation_the_next_key_writes_for_the_organisation_and_the_old_key_stops() {
    let (root, k1, k2) = (kp(1), kp(21), kp(22));
    let mut certs = Certificates::new();
    // Before any succession the new key is nobody (positive control for what follows).
    let (header, c) = deployment_change(&k1, &root, T0 + 10);
    assert!(matches!(
        authorise(&certs, &header, c, T0 + 10),
        Err(AuthError::UnauthorisedKey { .. })
    ));
    certs
        .add_revocation(succession(&root, &root, &k1, T0))
        .unwrap();
    certs
        .add_revocation(succession(&root, &k1, &k2, T0 + 100))
        .unwrap();
    assert_eq!(
        certs
            .org_keys(org(&root))
            .iter()
            .map(|(k, _)| *k)
            .collect::<Vec<_>>(),
        vec![root.public(), k1.public(), k2.public()]
    );
    // Old history stays valid and attributed to the organisation.
    let (header, c) = deployment_change(&root, &root, T0 - 5);
    let ok = authorise(&certs, &header, c, T0 + 200).unwrap();
    assert_eq!(ok.attribution().on_behalf_of, Some(org(&root)));
    // Each key writes in its own window, and only there.
    for (key, at, allowed) in [
        (&k1, T0 + 10, true),
        (&k2, T0 + 150, true),
        (&root, T0 + 10, false),
        (&k1, T0 + 150, false),
        (&k2, T0 + 10, false),
    ] {
        let (header, c) = deployment_change(key, &root, at);
        let r = authorise(&certs, &header, c, T0 + 200);
        assert_eq!(
            r.is_ok(),
            allowed,
            "{:#} at +{}: {r:?}",
            key.public(),
            at - T0
        );
        if let Ok(a) = r {
            assert_eq!(a.attribution().on_behalf_of, Some(org(&root)));
        }
    }
    // Shared product edits by a successor key are attributed to its organisation.
    let (ph, pc) = product_change(&k2, &kp(3), T0 + 150);
    let a = authorise(&certs, &ph, pc, T0 + 200).unwrap();
    assert_eq!(a.attribution().on_behalf_of, Some(org(&root)));
    // The certificates a receiver needs to accept k2: both successions, oldest first.
    let chain = certs.succession_certs(org(&root), &k2.public());
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[0].body.subject, root.public());
    // The organisation's current key can revoke a delegate it issued before the rotation.
    let provider = kp(30);
    certs
        .add_delegation(delegation(&root, &provider, T0 - 50, T0 + 10_000))
        .unwrap();
    let (header, c) = deployment_change(&provider, &root, T0 + 300);
    assert!(authorise(&certs, &header, c, T0 + 300).is_ok());
    certs
        .add_revocation(revocation(&k2, &provider, T0 + 250))
        .unwrap();
    let (header, c) = deployment_change(&provider, &root, T0 + 300);
    assert!(matches!(
        authorise(&certs, &header, c, T0 + 300),
        Err(AuthError::DelegationRevoked { .. })
    ));
}

#[test]
fn a_key_that_names_two_successors_hands_over_to_neither() {
    let (root, good, thief) = (kp(1), kp(21), kp(23));
    let mut certs = Certificates::new();
    certs
        .add_revocation(succession(&root, &root, &good, T0))
        .unwrap();
    // A thief with the old key backdates a competing succession to a key of their own.
    certs
        .add_revocation(succession(&root, &root, &thief, T0 - 50))
        .unwrap();
    for key in [&good, &thief] {
        let (header, c) = deployment_change(key, &root, T0 + 10);
        assert!(
            authorise(&certs, &header, c, T0 + 10).is_err(),
            "{:#} must not be accepted",
            key.public()
        );
    }
    assert_eq!(certs.current_org_key(org(&root)), root.public());
    // A succession naming the key of another organisation does not move that organisation.
    let mut other = Certificates::new();
    other
        .add_revocation(succession(&kp(2), &kp(2), &kp(24), T0))
        .unwrap();
    let (header, c) = deployment_change(&kp(24), &root, T0 + 10);
    assert!(authorise(&other, &header, c, T0 + 10).is_err());
}
