//! The network manifest: the one file that names an Allmende network and whom it trusts.
//!
//! A node joins a network with its manifest. The manifest names the network, gives bootstrap
//! addresses to dial first, lists the network's trust anchors (organisations, by [`OrgId`])
//! and sets the default quotas of the quarantine that holds content no anchor attests yet.
//! The anchors that founded the network sign it.
//!
//! ## File format
//! JSON, at most [`MAX_MANIFEST_BYTES`]; unknown fields are errors, so a misspelt field is
//! named rather than ignored. Anchors are root keys and signatures ed25519 signatures, in
//! lowercase hex:
//!
//! ```json
//! {
//!   "body": {
//!     "name": "Allmende Deutschland",
//!     "version": 3,
//!     "bootstrap": ["/dns4/boot.example.org/tcp/4001"],
//!     "anchors": ["8a88e3dd…", "d7597b58…", "1b3e0c7f…"],
//!     "quarantine": { "key_documents": 100, "key_bytes": 10485760, "total_bytes": 1073741824 }
//!   },
//!   "signatures": [
//!     { "anchor": "8a88e3dd…", "signature": "5f1c…" },
//!     { "anchor": "d7597b58…", "signature": "09ab…" }
//!   ]
//! }
//! ```
//!
//! ## Signing rule
//! An anchor signs `"allmende/v1/manifest\0" ‖ body` with its root key, where `body` is the
//! canonical binary encoding `AMN` v1 (see [`crate::wire`]): name, version, bootstrap
//! addresses, anchors and quotas, each list with its length, in the order listed. JSON is not
//! signed: two texts of one body (spacing, key order) must not need two signatures.
//! A manifest is valid ([`SignedManifest::verify`]) when every signature verifies and is by a
//! listed anchor, no anchor signs twice, and a strict majority of the listed anchors signed
//! (with one anchor: that one).
//!
//! ## Update rule
//! A node that holds a manifest takes a new one ([`SignedManifest::verify_update`]) only if
//! the new one is valid, has the same name and a greater version, and a strict majority of
//! the *current* anchors signed it. So the anchors add or remove an anchor by their own
//! majority. Since only anchors listed in the new manifest may sign it, replacing a majority
//! of the anchors takes more than one update.
//!
//! ## Threat: a file from a stranger
//! Anybody can write a manifest, list their own keys as anchors and sign it: it verifies.
//! Nothing here tells a network's own manifest from such a file, so the first
//! `init --network` trusts the file the operator chose; the operator checks where it came
//! from (the anchors' key fingerprints are published by the network). From then on a
//! stranger's file, whatever its version, is refused as an update because the current
//! anchors did not sign it; an anchor minority cannot change the manifest, and an older
//! manifest cannot be replayed over a newer one. The text itself is hostile input: its size is
//! bounded before parsing and every field is bounded ([`ManifestBody::check`]); the bootstrap
//! addresses are only checked for shape here (this crate has no libp2p), the node parses them.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::identity::{Keypair, hex_sig, verify};
use crate::ids::{OrgId, truncate_for_error};
use crate::wire::Writer;

const MANIFEST_DOMAIN: &[u8] = b"allmende/v1/manifest\0";
const MANIFEST_VERSION: u8 = 1;

/// Largest manifest file, in bytes, checked before parsing.
pub const MAX_MANIFEST_BYTES: usize = 64 * 1024;
/// Longest network name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Most bootstrap addresses.
pub const MAX_BOOTSTRAP: usize = 64;
/// Longest bootstrap address, in bytes.
pub const MAX_BOOTSTRAP_BYTES: usize = 512;
/// Most trust anchors.
pub const MAX_ANCHORS: usize = 32;

/// What the anchors sign: the network's name, version, addresses, anchors and quotas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestBody {
    /// The network's name, 1 to [`MAX_NAME_CHARS`] characters, no control characters. An
    /// update keeps it.
    pub name: String,
    /// Grows with every update; a node takes only a greater one.
    pub version: u64,
    /// libp2p multiaddrs to dial first, as text (`/dns4/…/tcp/4001`), at most
    /// [`MAX_BOOTSTRAP`].
    pub bootstrap: Vec<String>,
    /// The trust anchors, 1 to [`MAX_ANCHORS`], each once.
    pub anchors: Vec<OrgId>,
    /// The quarantine's defaults for content no anchor attests.
    pub quarantine: QuarantineDefaults,
}

/// Default quotas of the quarantine for unattested content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuarantineDefaults {
    /// Most documents kept per unattested key.
    pub key_documents: u32,
    /// Most bytes kept per unattested key.
    pub key_bytes: u64,
    /// Most bytes kept for all unattested keys together.
    pub total_bytes: u64,
}

/// A manifest with its anchors' signatures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedManifest {
    /// What is signed.
    pub body: ManifestBody,
    /// One signature per signing anchor.
    pub signatures: Vec<ManifestSignature>,
}

/// One anchor's signature over a [`ManifestBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestSignature {
    /// The anchor; its root key signed.
    pub anchor: OrgId,
    /// Signature over `"allmende/v1/manifest\0" ‖ body`, hex in JSON.
    #[serde(with = "hex_sig")]
    pub signature: [u8; 64],
}

/// Why a manifest is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// The file exceeds [`MAX_MANIFEST_BYTES`].
    #[error("manifest of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The text is not a manifest (serde_json's message names the field, line and column).
    #[error("manifest is not valid: {0}")]
    Json(String),
    /// A field holds a value outside its bounds.
    #[error("manifest field {field}: {reason}")]
    Invalid {
        /// The field, with the index of the entry for lists (`bootstrap[2]`).
        field: String,
        /// Why.
        reason: String,
    },
    /// A key that is not a listed anchor signed, or was asked to sign.
    #[error("{anchor:#} is not an anchor of this manifest")]
    NotAnAnchor {
        /// The organisation of that key.
        anchor: OrgId,
    },
    /// An anchor signed twice.
    #[error("anchor {anchor:#} signed the manifest twice")]
    DuplicateSignature {
        /// The anchor.
        anchor: OrgId,
    },
    /// A signature does not verify for the body.
    #[error(
        "the signature of anchor {anchor:#} does not verify: the manifest changed after it signed, or the signature is damaged"
    )]
    BadSignature {
        /// The anchor.
        anchor: OrgId,
    },
    /// Too few of the listed anchors signed.
    #[error("signed by {signed} of its {anchors} anchors; a strict majority is {}", .anchors / 2 + 1)]
    NoMajority {
        /// Anchors that signed.
        signed: usize,
        /// Anchors listed.
        anchors: usize,
    },
    /// An update renames the network.
    #[error("the update is for network {new:?}, this node is in {current:?}")]
    NameChanged {
        /// The current name.
        current: String,
        /// The update's name.
        new: String,
    },
    /// An update is not newer than the current manifest.
    #[error("the update has version {new}, not greater than the current version {current}")]
    NotNewer {
        /// The current version.
        current: u64,
        /// The update's version.
        new: u64,
    },
    /// Too few of the current anchors signed an update.
    #[error(
        "the update is signed by {signed} of the {anchors} current anchors; a strict majority is {}",
        .anchors / 2 + 1
    )]
    NoMajorityOfCurrent {
        /// Current anchors that signed.
        signed: usize,
        /// Current anchors.
        anchors: usize,
    },
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ManifestError {
    ManifestError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// A strict majority of `of`; for one, that one.
fn is_majority(signed: usize, of: usize) -> bool {
    signed * 2 > of
}

impl ManifestBody {
    /// Checks every field against its bounds: the name, the bootstrap addresses' shape and
    /// number, the anchors' number and that none is listed twice.
    pub fn check(&self) -> Result<(), ManifestError> {
        let chars = self.name.chars().count();
        if chars == 0 || chars > MAX_NAME_CHARS {
            return Err(invalid(
                "name",
                format!("must have 1 to {MAX_NAME_CHARS} characters, has {chars}"),
            ));
        }
        if self.name.chars().any(char::is_control) {
            return Err(invalid("name", "contains a control character"));
        }
        if self.bootstrap.len() > MAX_BOOTSTRAP {
            return Err(invalid(
                "bootstrap",
                format!(
                    "{} addresses, at most {MAX_BOOTSTRAP} allowed",
                    self.bootstrap.len()
                ),
            ));
        }
        for (i, addr) in self.bootstrap.iter().enumerate() {
            let field = format!("bootstrap[{i}]");
            if addr.is_empty() {
                return Err(invalid(field, "empty address"));
            }
            if addr.len() > MAX_BOOTSTRAP_BYTES {
                return Err(invalid(
                    field,
                    format!(
                        "address of {} bytes, at most {MAX_BOOTSTRAP_BYTES} allowed",
                        addr.len()
                    ),
                ));
            }
            if !addr.starts_with('/') {
                return Err(invalid(
                    field,
                    format!(
                        "{:?} is not a multiaddr (it must start with '/')",
                        truncate_for_error(addr)
                    ),
                ));
            }
        }
        if self.anchors.is_empty() || self.anchors.len() > MAX_ANCHORS {
            return Err(invalid(
                "anchors",
                format!(
                    "must list 1 to {MAX_ANCHORS} anchors, lists {}",
                    self.anchors.len()
                ),
            ));
        }
        for (i, anchor) in self.anchors.iter().enumerate() {
            if let Some(j) = self.anchors[..i].iter().position(|a| a == anchor) {
                return Err(invalid(
                    format!("anchors[{i}]"),
                    format!("{anchor:#} is listed twice (also anchors[{j}])"),
                ));
            }
        }
        Ok(())
    }

    /// The bytes an anchor signs: the domain, then the canonical `AMN` v1 encoding.
    fn signing_bytes(&self) -> Vec<u8> {
        // Lengths are bounded by `check` before anything is signed or verified.
        let mut w = Writer::new(b"AMN", MANIFEST_VERSION);
        w.var(self.name.as_bytes())
            .bytes(&self.version.to_be_bytes());
        w.count(self.bootstrap.len());
        for addr in &self.bootstrap {
            w.var(addr.as_bytes());
        }
        w.count(self.anchors.len());
        for anchor in &self.anchors {
            w.bytes(anchor.as_bytes());
        }
        w.bytes(&self.quarantine.key_documents.to_be_bytes())
            .bytes(&self.quarantine.key_bytes.to_be_bytes())
            .bytes(&self.quarantine.total_bytes.to_be_bytes());
        [MANIFEST_DOMAIN, &w.finish()].concat()
    }

    fn signature_by(&self, key: &Keypair) -> Result<ManifestSignature, ManifestError> {
        self.check()?;
        let anchor = OrgId::from_root_key(key.public());
        if !self.anchors.contains(&anchor) {
            return Err(ManifestError::NotAnAnchor { anchor });
        }
        Ok(ManifestSignature {
            anchor,
            signature: key.sign(&self.signing_bytes()),
        })
    }

    /// Signs with an anchor's root key: the first signature of a new manifest or version.
    pub fn sign(self, key: &Keypair) -> Result<SignedManifest, ManifestError> {
        let sig = self.signature_by(key)?;
        Ok(SignedManifest {
            body: self,
            signatures: vec![sig],
        })
    }
}

impl SignedManifest {
    /// Adds the signature of another anchor, replacing an earlier one by the same anchor.
    /// Signatures are kept in the order of the anchors list, so every signer writes the same
    /// file.
    pub fn add_signature(&mut self, key: &Keypair) -> Result<(), ManifestError> {
        let sig = self.body.signature_by(key)?;
        self.signatures.retain(|s| s.anchor != sig.anchor);
        self.signatures.push(sig);
        let anchors = &self.body.anchors;
        self.signatures
            .sort_by_key(|s| anchors.iter().position(|a| *a == s.anchor));
        Ok(())
    }

    /// Checks the fields and the signatures: each verifies and is by a listed anchor, no
    /// anchor signs twice, and a strict majority of the listed anchors signed.
    pub fn verify(&self) -> Result<(), ManifestError> {
        self.body.check()?;
        let msg = self.body.signing_bytes();
        let mut signed = BTreeSet::new();
        for s in &self.signatures {
            if !self.body.anchors.contains(&s.anchor) {
                return Err(ManifestError::NotAnAnchor { anchor: s.anchor });
            }
            if !signed.insert(s.anchor) {
                return Err(ManifestError::DuplicateSignature { anchor: s.anchor });
            }
            if !verify(&s.anchor.root_key(), &msg, &s.signature) {
                return Err(ManifestError::BadSignature { anchor: s.anchor });
            }
        }
        if !is_majority(signed.len(), self.body.anchors.len()) {
            return Err(ManifestError::NoMajority {
                signed: signed.len(),
                anchors: self.body.anchors.len(),
            });
        }
        Ok(())
    }

    /// Checks that this manifest may replace `current`, the one the node holds: it verifies,
    /// names the same network, has a greater version, and a strict majority of `current`'s
    /// anchors signed it.
    pub fn verify_update(&self, current: &SignedManifest) -> Result<(), ManifestError> {
        self.verify()?;
        if self.body.name != current.body.name {
            return Err(ManifestError::NameChanged {
                current: current.body.name.clone(),
                new: self.body.name.clone(),
            });
        }
        if self.body.version <= current.body.version {
            return Err(ManifestError::NotNewer {
                current: current.body.version,
                new: self.body.version,
            });
        }
        // `verify` refused duplicate signers, so each current anchor counts once.
        let signed = self
            .signatures
            .iter()
            .filter(|s| current.body.anchors.contains(&s.anchor))
            .count();
        if !is_majority(signed, current.body.anchors.len()) {
            return Err(ManifestError::NoMajorityOfCurrent {
                signed,
                anchors: current.body.anchors.len(),
            });
        }
        Ok(())
    }

    /// Parses a manifest file and checks its fields; the signatures are checked by
    /// [`Self::verify`] or [`Self::verify_update`].
    pub fn from_json(text: &str) -> Result<Self, ManifestError> {
        if text.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge {
                len: text.len(),
                max: MAX_MANIFEST_BYTES,
            });
        }
        let m: Self = serde_json::from_str(text).map_err(|e| ManifestError::Json(e.to_string()))?;
        m.body.check()?;
        Ok(m)
    }

    /// The manifest file, indented.
    pub fn to_json_pretty(&self) -> String {
        // Strings, numbers and lists only: serialising cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One change to a body, named in a table of cases.
    type Edit = fn(&mut ManifestBody);

    fn kp(seed: u8) -> Keypair {
        Keypair::from_secret_bytes(&[seed; 32]).unwrap()
    }

    fn org(seed: u8) -> OrgId {
        OrgId::from_root_key(kp(seed).public())
    }

    fn body(anchor_seeds: &[u8]) -> ManifestBody {
        ManifestBody {
            name: "Allmende Test".into(),
            version: 1,
            bootstrap: vec![
                "/dns4/boot.example.org/tcp/4001".into(),
                "/ip4/192.0.2.1/udp/4001/quic-v1".into(),
            ],
            anchors: anchor_seeds.iter().map(|s| org(*s)).collect(),
            quarantine: QuarantineDefaults {
                key_documents: 100,
                key_bytes: 10 << 20,
                total_bytes: 1 << 30,
            },
        }
    }

    /// A manifest of `anchors` signed by `signers`.
    fn signed(anchors: &[u8], signers: &[u8]) -> SignedManifest {
        update(anchors, signers, 1)
    }

    #[test]
    fn signed_manifest_round_trips_through_json_and_verifies() {
        let m = signed(&[1, 2, 3], &[3, 1]);
        let text = m.to_json_pretty();
        let back = SignedManifest::from_json(&text).unwrap();
        assert_eq!(back, m);
        back.verify().unwrap();
        // Signatures follow the anchors list, whoever signed first.
        let order: Vec<_> = back.signatures.iter().map(|s| s.anchor).collect();
        assert_eq!(order, vec![org(1), org(3)]);
        assert!(text.contains(&format!("\"{:#}\"", org(1))));
        assert!(text.contains(&hex::encode(m.signatures[0].signature)));
    }

    #[test]
    fn signing_bytes_are_the_domain_and_the_canonical_encoding() {
        let b = body(&[1]);
        let mut expected = b"allmende/v1/manifest\0AMN\x01".to_vec();
        expected.extend_from_slice(&13u32.to_be_bytes());
        expected.extend_from_slice(b"Allmende Test");
        expected.extend_from_slice(&1u64.to_be_bytes());
        expected.extend_from_slice(&2u32.to_be_bytes());
        for addr in &b.bootstrap {
            expected.extend_from_slice(&(addr.len() as u32).to_be_bytes());
            expected.extend_from_slice(addr.as_bytes());
        }
        expected.extend_from_slice(&1u32.to_be_bytes());
        expected.extend_from_slice(org(1).as_bytes());
        expected.extend_from_slice(&100u32.to_be_bytes());
        expected.extend_from_slice(&(10u64 << 20).to_be_bytes());
        expected.extend_from_slice(&(1u64 << 30).to_be_bytes());
        assert_eq!(b.signing_bytes(), expected);
    }

    #[test]
    fn a_field_changed_after_signing_fails_verify() {
        let m = signed(&[1, 2, 3], &[1, 2]);
        m.verify().unwrap();
        let changes: [(&str, Edit); 5] = [
            ("name", |b| b.name.push('!')),
            ("version", |b| b.version += 1),
            ("anchor", |b| b.anchors[2] = org(9)),
            ("bootstrap", |b| {
                b.bootstrap[1] = "/ip4/203.0.113.7/tcp/1".into()
            }),
            ("quota", |b| b.quarantine.total_bytes += 1),
        ];
        for (what, change) in changes {
            let mut bad = m.clone();
            change(&mut bad.body);
            assert_eq!(
                bad.verify(),
                Err(ManifestError::BadSignature { anchor: org(1) }),
                "{what}"
            );
        }
        // The same through the file: the text edited, the signatures kept.
        let text = m.to_json_pretty().replace("Allmende Test", "Allmende Tost");
        assert!(matches!(
            SignedManifest::from_json(&text).unwrap().verify(),
            Err(ManifestError::BadSignature { .. })
        ));
    }

    #[test]
    fn a_signature_by_a_non_anchor_is_refused_naming_it() {
        let stranger = kp(7);
        let err = body(&[1, 2]).sign(&stranger).unwrap_err();
        assert_eq!(err, ManifestError::NotAnAnchor { anchor: org(7) });
        assert!(err.to_string().contains(&format!("{:#}", org(7))));
        let mut m = signed(&[1, 2], &[1, 2]);
        assert_eq!(
            m.add_signature(&stranger),
            Err(ManifestError::NotAnAnchor { anchor: org(7) })
        );
        // A stranger's signature written into the file by hand.
        m.signatures.push(ManifestSignature {
            anchor: org(7),
            signature: stranger.sign(&m.body.signing_bytes()),
        });
        let err = m.verify().unwrap_err();
        assert_eq!(err, ManifestError::NotAnAnchor { anchor: org(7) });
        assert!(err.to_string().contains(&format!("{:#}", org(7))));
    }

    #[test]
    fn a_strict_majority_of_the_anchors_must_sign() {
        let one = signed(&[1, 2, 3], &[2]);
        let err = one.verify().unwrap_err();
        assert_eq!(
            err,
            ManifestError::NoMajority {
                signed: 1,
                anchors: 3
            }
        );
        assert!(err.to_string().contains("strict majority is 2"), "{err}");
        signed(&[1, 2, 3], &[2, 3]).verify().unwrap();
        // Half is not a majority; a sole anchor is.
        assert!(signed(&[1, 2, 3, 4], &[1, 4]).verify().is_err());
        signed(&[5], &[5]).verify().unwrap();
        let mut unsigned = signed(&[5], &[5]);
        unsigned.signatures.clear();
        assert!(unsigned.verify().is_err());
    }

    #[test]
    fn an_anchor_signs_once() {
        let mut m = signed(&[1, 2, 3], &[1]);
        // Signing again replaces, so one signature is still not a majority.
        m.add_signature(&kp(1)).unwrap();
        assert_eq!(m.signatures.len(), 1);
        // A copied signature does not count twice.
        m.signatures.push(m.signatures[0].clone());
        assert_eq!(
            m.verify(),
            Err(ManifestError::DuplicateSignature { anchor: org(1) })
        );
    }

    #[test]
    fn duplicate_anchors_are_refused() {
        let mut b = body(&[1, 2, 1]);
        let err = b.clone().sign(&kp(1)).unwrap_err();
        assert!(
            matches!(&err, ManifestError::Invalid { field, .. } if field == "anchors[2]"),
            "{err}"
        );
        // Also in a file signed before the duplicate was written in.
        b.anchors.pop();
        let m = b.sign(&kp(1)).unwrap();
        let text = m.to_json_pretty().replace(
            &format!("\"{:#}\"\n", org(2)),
            &format!("\"{:#}\",\n      \"{:#}\"\n", org(2), org(2)),
        );
        assert_ne!(text, m.to_json_pretty());
        let err = SignedManifest::from_json(&text).unwrap_err();
        assert!(err.to_string().contains("anchors[2]"), "{err}");
    }

    #[test]
    fn field_bounds_are_checked() {
        let cases: [(&str, Edit); 7] = [
            ("name", |b| b.name.clear()),
            ("name", |b| b.name = "x".repeat(MAX_NAME_CHARS + 1)),
            ("name", |b| b.name.push('\n')),
            ("bootstrap[1]", |b| {
                b.bootstrap[1] = "boot.example.org:4001".into()
            }),
            ("bootstrap[0]", |b| b.bootstrap[0] = String::new()),
            ("bootstrap[1]", |b| {
                b.bootstrap[1] = format!("/{}", "a".repeat(MAX_BOOTSTRAP_BYTES))
            }),
            ("bootstrap", |b| {
                b.bootstrap = vec!["/ip4/192.0.2.1/tcp/1".into(); MAX_BOOTSTRAP + 1]
            }),
        ];
        for (field, change) in cases {
            let mut b = body(&[1]);
            change(&mut b);
            let err = b.check().unwrap_err();
            assert!(
                matches!(&err, ManifestError::Invalid { field: f, .. } if f == field),
                "{field}: {err}"
            );
        }
        let mut b = body(&[1]);
        b.name = "ä".repeat(MAX_NAME_CHARS);
        b.check().unwrap();
        b.anchors.clear();
        assert!(b.check().is_err());
        b.anchors = (1..=33).map(org).collect();
        assert!(b.check().is_err());
    }

    #[test]
    fn an_unknown_field_is_refused_naming_it() {
        let text = signed(&[1], &[1])
            .to_json_pretty()
            .replace("\"bootstrap\"", "\"bootstarp\"");
        let err = SignedManifest::from_json(&text).unwrap_err();
        assert!(matches!(err, ManifestError::Json(_)));
        let msg = err.to_string();
        assert!(
            msg.contains("unknown field `bootstarp`") && msg.contains("line"),
            "{msg}"
        );
        let text = signed(&[1], &[1])
            .to_json_pretty()
            .replace("\"key_bytes\"", "\"key_byte\"");
        let msg = SignedManifest::from_json(&text).unwrap_err().to_string();
        assert!(msg.contains("unknown field `key_byte`"), "{msg}");
    }

    #[test]
    fn an_oversized_file_is_refused_before_parsing() {
        let text = signed(&[1], &[1]).to_json_pretty();
        let padded = format!("{text}{}", " ".repeat(MAX_MANIFEST_BYTES - text.len()));
        SignedManifest::from_json(&padded).unwrap();
        let over = format!("{padded} ");
        assert_eq!(
            SignedManifest::from_json(&over),
            Err(ManifestError::TooLarge {
                len: MAX_MANIFEST_BYTES + 1,
                max: MAX_MANIFEST_BYTES
            })
        );
    }

    /// Version `version` of a manifest of `anchors` signed by `signers`.
    fn update(anchors: &[u8], signers: &[u8], version: u64) -> SignedManifest {
        let mut b = body(anchors);
        b.version = version;
        let (first, rest) = signers.split_first().unwrap();
        let mut m = b.sign(&kp(*first)).unwrap();
        for s in rest {
            m.add_signature(&kp(*s)).unwrap();
        }
        m
    }

    #[test]
    fn a_newer_version_signed_by_the_current_majority_is_an_update() {
        let current = signed(&[1, 2, 3], &[1, 2, 3]);
        // Adding an anchor: the new one signs too, but two current anchors carry it.
        update(&[1, 2, 3, 4], &[1, 2, 4], 2)
            .verify_update(&current)
            .unwrap();
        // Removing an anchor by the other two.
        update(&[1, 2], &[1, 2], 5).verify_update(&current).unwrap();
    }

    #[test]
    fn the_same_or_a_lower_version_is_no_update() {
        let current = update(&[1, 2, 3], &[1, 2], 4);
        for version in [4, 3] {
            assert_eq!(
                update(&[1, 2, 3], &[1, 2, 3], version).verify_update(&current),
                Err(ManifestError::NotNewer {
                    current: 4,
                    new: version
                })
            );
        }
    }

    #[test]
    fn another_network_is_no_update() {
        let current = signed(&[1, 2, 3], &[1, 2]);
        let mut b = body(&[1, 2, 3]);
        b.name = "Anderes Netz".into();
        b.version = 2;
        let mut m = b.sign(&kp(1)).unwrap();
        m.add_signature(&kp(2)).unwrap();
        m.verify().unwrap();
        assert!(matches!(
            m.verify_update(&current),
            Err(ManifestError::NameChanged { .. })
        ));
    }

    #[test]
    fn a_manifest_signed_only_by_new_anchors_takes_nothing_over() {
        let current = signed(&[1, 2, 3], &[1, 2]);
        // A stranger's file: valid on its own, with a far greater version.
        let stranger = update(&[7, 8, 9], &[7, 8, 9], u64::MAX);
        stranger.verify().unwrap();
        assert_eq!(
            stranger.verify_update(&current),
            Err(ManifestError::NoMajorityOfCurrent {
                signed: 0,
                anchors: 3
            })
        );
        // One current anchor with new ones is still a current minority.
        let takeover = update(&[1, 7, 8], &[1, 7, 8], 2);
        takeover.verify().unwrap();
        assert_eq!(
            takeover.verify_update(&current),
            Err(ManifestError::NoMajorityOfCurrent {
                signed: 1,
                anchors: 3
            })
        );
    }

    #[test]
    fn an_update_must_verify_itself() {
        let current = signed(&[1, 2, 3], &[1, 2]);
        // Two current anchors sign, but the new list of five needs three.
        let m = update(&[1, 2, 3, 4, 5], &[1, 2], 2);
        assert_eq!(
            m.verify_update(&current),
            Err(ManifestError::NoMajority {
                signed: 2,
                anchors: 5
            })
        );
    }
}
