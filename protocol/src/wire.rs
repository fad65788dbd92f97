//! The byte-level encoding shared by everything that leaves the process.
//!
//! Every encoded object starts with a 3-byte magic naming its type and a 1-byte version:
//!
//! | magic | object |
//! |---|---|
//! | `AMC` | [`crate::change::SignedChange`] |
//! | `AMH` | [`crate::doc::DocHeader`] |
//! | `AMD` | [`crate::identity::SignedDelegation`] |
//! | `AMR` | [`crate::identity::SignedRevocation`] |
//! | `AMQ` | [`crate::sync::Request`] |
//! | `AMP` | [`crate::sync::Response`] |
//! | `AMG` | [`crate::sync::Gossip`] |
//! | `AME` | [`crate::equivocation::EquivocationProof`] |
//! | `AMN` | the signed body of a [`crate::manifest::SignedManifest`] (the file itself is JSON) |
//!
//! Integers are big-endian; variable-length fields carry a `u32` length prefix and have a
//! fixed upper bound checked before any allocation. Decoders refuse unknown versions,
//! truncation and trailing bytes.

/// Everything that can be wrong with encoded bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes do not start with the expected magic.
    #[error("not {expected}: wrong magic bytes")]
    BadMagic {
        /// What was expected.
        expected: &'static str,
    },
    /// A version this node does not know (it may be newer).
    #[error("unknown encoding version {found} of {what} (this node reads version {known})")]
    UnknownVersion {
        /// The object.
        what: &'static str,
        /// Version found.
        found: u8,
        /// Newest version known.
        known: u8,
    },
    /// The bytes end before the object does.
    #[error("truncated: {what} needs more bytes")]
    Truncated {
        /// The field being read.
        what: &'static str,
    },
    /// A length field exceeds its limit.
    #[error("{what} of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// The field.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Bytes after the end of the object.
    #[error("{0} trailing bytes after the object")]
    TrailingBytes(usize),
    /// A field holds an invalid value.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The field.
        what: &'static str,
        /// Why.
        reason: String,
    },
}

pub(crate) struct Writer(Vec<u8>);

impl Writer {
    pub(crate) fn new(magic: &[u8; 3], version: u8) -> Self {
        let mut v = Vec::with_capacity(128);
        v.extend_from_slice(magic);
        v.push(version);
        Self(v)
    }
    pub(crate) fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    pub(crate) fn i64(&mut self, v: i64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// A count of the items that follow, as a `u32`. Callers bound `n` by the same limit the
    /// reader checks.
    pub(crate) fn count(&mut self, n: usize) -> &mut Self {
        self.0
            .extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
        self
    }
    /// A length-prefixed field. Callers bound `b` by the same limit the reader checks.
    pub(crate) fn var(&mut self, b: &[u8]) -> &mut Self {
        let len = u32::try_from(b.len()).unwrap_or(u32::MAX);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(b);
        self
    }
    pub(crate) fn finish(self) -> Vec<u8> {
        self.0
    }
}

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Checks magic and version; returns the version found (≤ `known`).
    pub(crate) fn open(
        buf: &'a [u8],
        magic: &[u8; 3],
        what: &'static str,
        known: u8,
    ) -> Result<(Self, u8), DecodeError> {
        if buf.len() < 4 {
            return Err(DecodeError::Truncated { what: "header" });
        }
        if &buf[..3] != magic {
            return Err(DecodeError::BadMagic { expected: what });
        }
        let version = buf[3];
        if version == 0 || version > known {
            return Err(DecodeError::UnknownVersion {
                what,
                found: version,
                known,
            });
        }
        Ok((Self { buf: &buf[4..] }, version))
    }

    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::Truncated { what });
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn i64(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array::<8>(what)?))
    }

    pub(crate) fn var(&mut self, what: &'static str, max: usize) -> Result<&'a [u8], DecodeError> {
        let len = u32::from_be_bytes(self.array::<4>(what)?) as usize;
        if len > max {
            return Err(DecodeError::TooLarge { what, len, max });
        }
        self.take(len, what)
    }

    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes(self.buf.len()))
        }
    }
}

/// Reads a 32-byte Ed25519 public key (`what` names it in an error).
pub(crate) fn read_key(
    r: &mut Reader<'_>,
    what: &'static str,
) -> Result<crate::ids::PublicKey, DecodeError> {
    let b = r.array::<32>(what)?;
    crate::ids::PublicKey::from_bytes(b).map_err(|e| DecodeError::Invalid {
        what,
        reason: e.to_string(),
    })
}
