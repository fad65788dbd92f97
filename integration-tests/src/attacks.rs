//! Crafted messages of a hostile peer, for the hostile-peer tests and the `hostile-peer`
//! harness. Each builds the bytes an attacker with its own (valid, unattested) key can send,
//! signed where a signature makes the attack stronger.

use allmende_protocol::change::{ReplicaId, SignedChange};
use allmende_protocol::chunk;
use allmende_protocol::doc::{DocHeader, Document};
use allmende_protocol::identity::{Keypair, Revocation};
use allmende_protocol::ids::{DocId, PublicKey};
use allmende_protocol::schema::UnixTime;
use allmende_protocol::sync::{
    Announce, Cert, Gossip, Key, MAX_IDLIST, Mode, Range, Request, Want,
};
use anyhow::Context;

/// The `AMC` envelope of raw change bytes, signed by `key` for `doc` as the protocol signs a
/// change (over the change hash computed from the bytes), without parsing the bytes.
pub fn sign_raw(key: &Keypair, doc: DocId, raw: &[u8]) -> anyhow::Result<Vec<u8>> {
    let hash = chunk::hash(raw)?;
    let msg = [
        b"allmende/v1/change\0".as_slice(),
        doc.as_bytes(),
        hash.0.as_slice(),
    ]
    .concat();
    let signer = ed25519_dalek::SigningKey::from_bytes(&key.secret_bytes());
    let sig = ed25519_dalek::Signer::sign(&signer, &msg).to_bytes();
    let mut bytes = b"AMC\x01".to_vec();
    bytes.extend_from_slice(doc.as_bytes());
    bytes.extend_from_slice(key.public().as_bytes());
    bytes.extend_from_slice(&sig);
    bytes.extend_from_slice(&u32::try_from(raw.len())?.to_be_bytes());
    bytes.extend_from_slice(raw);
    Ok(bytes)
}

/// A signed change of the attacker's own new product whose columns declare `ops` ops in a few
/// hundred bytes: Automerge would walk every one of them while parsing.
pub fn decode_bomb(key: &Keypair, org_nonce: [u8; 16], ops: u64) -> anyhow::Result<Vec<u8>> {
    let header = DocHeader::product(
        allmende_protocol::ids::OrgId::from_root_key(key.public()),
        org_nonce,
    );
    let c = Document::new(header)
        .edit(key, ReplicaId(org_nonce), now(), |ed| {
            ed.put_root(&crate::product("Bombe"))
        })?
        .context("the edit changes nothing")?;
    let raw = chunk::with_run_length(c.change().raw_bytes(), ops).context("not a change chunk")?;
    sign_raw(key, header.id(), &raw)
}

/// A gossip announcement carrying encoded changes as they are (bypassing the typed encoder,
/// which cannot hold a change that does not parse).
pub fn raw_announcement(header: DocHeader, encoded_changes: &[Vec<u8>]) -> Vec<u8> {
    // `AMG` v1, tag 1 (announce): header, count, each change length-prefixed, no certs. The
    // typed encoder is used for a template, so only the changes are spliced in.
    let template = Gossip::Announce(Announce {
        header,
        changes: vec![],
        certs: vec![],
    })
    .encode();
    // The template ends with two u32 counts (changes, certs), both zero.
    let mut out = template[..template.len() - 8].to_vec();
    out.extend_from_slice(&(encoded_changes.len() as u32).to_be_bytes());
    for c in encoded_changes {
        out.extend_from_slice(&(c.len() as u32).to_be_bytes());
        out.extend_from_slice(c);
    }
    out.extend_from_slice(&0u32.to_be_bytes());
    out
}

/// A revocation of `subject` signed by a key with no authority over it.
pub fn foreign_revocation(issuer: &Keypair, subject: PublicKey, n: u32) -> anyhow::Result<Vec<u8>> {
    let r = Revocation {
        issuer: issuer.public(),
        subject,
        effective: UnixTime(0),
        reason: format!("Übernahme {n}"),
    }
    .sign(issuer)?;
    Ok(Gossip::Cert(Cert::Revocation(r)).encode())
}

/// A reconciliation request claiming `n` documents the receiver does not have (random keys,
/// the last bytes counting), so the receiver queues fetches from the sender.
pub fn phantom_inventory(n: usize, seed: u8) -> Vec<u8> {
    let mut keys: Vec<Key> = (0..n)
        .map(|i| {
            let mut k = [seed; 32];
            k[24..].copy_from_slice(&(i as u64).to_be_bytes());
            k
        })
        .collect();
    keys.sort();
    let mut ranges = Vec::new();
    let chunks: Vec<&[Key]> = keys.chunks(MAX_IDLIST).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let lower = if i == 0 { [0u8; 32] } else { chunk[0] };
        let upper = chunks.get(i + 1).map(|next| next[0]);
        ranges.push(Range {
            lower,
            upper,
            mode: Mode::Items(chunk.iter().map(|k| (*k, [1u8; 32])).collect()),
        });
    }
    Request::Reconcile(ranges).encode()
}

/// A fetch request naming document `key` `times` times.
pub fn repeated_want(key: Key, times: usize) -> Vec<u8> {
    Request::Fetch((0..times).map(|_| Want { key, have: vec![] }).collect()).encode()
}

/// `count` different announcements carrying the same stored change (each lists it a different
/// number of times, two or more, so each has its own gossip message id and none is the
/// original announcement).
pub fn replays(header: DocHeader, change: &SignedChange, count: usize) -> Vec<Vec<u8>> {
    (2..count + 2)
        .map(|n| {
            Gossip::Announce(Announce {
                header,
                changes: vec![change.clone(); n],
                certs: vec![],
            })
            .encode()
        })
        .collect()
}

/// A heads-only announcement ("document X changed") of a document that does not exist.
pub fn phantom_announcement(header: DocHeader) -> Vec<u8> {
    Gossip::Announce(Announce {
        header,
        changes: vec![],
        certs: vec![],
    })
    .encode()
}

fn now() -> UnixTime {
    allmende_node::now()
}

/// A fork: `key` edits its own product `nonce` from one session (`replica`) twice in two
/// different ways, on top of a first change from another session that both branches share.
/// Returns the header, the shared change, one branch (two changes, numbered 1 and 2) and the
/// other (one change numbered 1, different content).
pub fn equivocation(key: &Keypair, nonce: [u8; 16]) -> anyhow::Result<Fork> {
    let org = allmende_protocol::ids::OrgId::from_root_key(key.public());
    let header = DocHeader::product(org, nonce);
    let mut base = Document::new(header);
    let shared = base
        .edit(key, ReplicaId([0xa0; 16]), now(), |ed| {
            ed.put_root(&crate::product("Gabelung"))
        })?
        .context("no change")?;
    let fork_replica = ReplicaId(nonce);
    let edit = |doc: &mut Document, name: &str| -> anyhow::Result<SignedChange> {
        let p = crate::product(name);
        doc.edit(key, fork_replica, now(), |ed| ed.put_root(&p))?
            .context("no change")
    };
    let mut left = Document::new(header);
    let mut right = Document::new(header);
    for d in [&mut left, &mut right] {
        let c = shared.clone().verify(header.id())?;
        d.apply([allmende_protocol::auth::Certificates::new().authorise(&header, c, now())?])?;
    }
    let l1 = edit(&mut left, "Gabelung links")?;
    let l2 = edit(&mut left, "Gabelung links, weiter")?;
    let r1 = edit(&mut right, "Gabelung rechts")?;
    Ok(Fork {
        header,
        shared,
        left: vec![l1, l2],
        right: vec![r1],
    })
}

/// See [`equivocation`].
pub struct Fork {
    /// The forked document.
    pub header: DocHeader,
    /// The change both branches build on (another session of the same key).
    pub shared: SignedChange,
    /// One branch: numbers 1 and 2 of the forking session.
    pub left: Vec<SignedChange>,
    /// The other branch: number 1 of the forking session, with other content.
    pub right: Vec<SignedChange>,
}
