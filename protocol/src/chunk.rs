//! An Automerge change chunk read before Automerge parses it: its framing, its hash and how
//! many operations it declares.
//!
//! **Threat.** Automerge parses a change's op columns eagerly (`Change::try_from` walks every
//! op), and the columns are run-length encoded with `i64` run counts: a change of a few
//! hundred bytes can declare 2^50 ops, and parsing it spins a core for ever. Any peer can send
//! such bytes, and any key can sign them. So before Automerge sees a change:
//! - [`hash`] computes the change hash from the raw bytes (SHA-256 over chunk type, length and
//!   body, as Automerge does), so the signature is verified before anything is parsed;
//! - [`check_ops`] walks the column *headers* and the run counts, never the values they
//!   repeat, and refuses a change whose columns declare more than [`MAX_CHANGE_OPS`] entries.
//!   Its work is linear in the bytes, which are bounded by
//!   [`crate::change::MAX_CHANGE_BYTES`].
//!
//! The layout (Automerge's binary format): magic (4) ‖ checksum (4) ‖ chunk type (1) ‖
//! uLEB128 body length ‖ body; the body is deps (count, 32 bytes each) ‖ actor (length,
//! bytes) ‖ seq ‖ start op ‖ time (sLEB) ‖ message (length, bytes) ‖ other actors (count,
//! each length and bytes) ‖ column metadata (count, each spec and length) ‖ column data ‖
//! extra bytes. A column spec is `id << 4 | deflate << 3 | type`.

use sha2::{Digest, Sha256};

/// Most ops one change may declare, and most entries any of its columns may hold (with the
/// predecessors of all its ops). A catalog record is tens of ops; an inventory import of 300
/// deployments in one change is about 10,000.
pub const MAX_CHANGE_OPS: u64 = 100_000;

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// Column types (the low three bits of a column spec).
const GROUP: u32 = 0;
const BOOLEAN: u32 = 4;
const STRING: u32 = 5;
const RAW: u32 = 7;
const DEFLATE: u32 = 0b1000;

/// Why a change chunk is refused before parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// The bytes are not a well-framed change chunk.
    #[error("{0}")]
    Malformed(&'static str),
    /// A column declares more entries than [`MAX_CHANGE_OPS`].
    #[error("the change declares more than {MAX_CHANGE_OPS} ops (column {column})")]
    TooManyOps {
        /// The column's id.
        column: u32,
    },
}

/// A cursor over the body.
struct Bytes<'a> {
    b: &'a [u8],
}

impl<'a> Bytes<'a> {
    fn take(&mut self, n: u64, what: &'static str) -> Result<&'a [u8], ChunkError> {
        let n = usize::try_from(n).map_err(|_| ChunkError::Malformed(what))?;
        if n > self.b.len() {
            return Err(ChunkError::Malformed(what));
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(head)
    }

    /// An unsigned LEB128 of at most 10 bytes.
    fn uleb(&mut self, what: &'static str) -> Result<u64, ChunkError> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let (&byte, rest) = self.b.split_first().ok_or(ChunkError::Malformed(what))?;
            self.b = rest;
            let bits = u64::from(byte & 0x7f);
            if i == 9 && bits > 1 {
                return Err(ChunkError::Malformed(what));
            }
            v |= bits << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(ChunkError::Malformed(what))
    }

    /// A signed LEB128 of at most 10 bytes.
    fn sleb(&mut self, what: &'static str) -> Result<i64, ChunkError> {
        let mut v: i64 = 0;
        let mut shift = 0;
        loop {
            let (&byte, rest) = self.b.split_first().ok_or(ChunkError::Malformed(what))?;
            self.b = rest;
            if shift >= 64 {
                return Err(ChunkError::Malformed(what));
            }
            v |= i64::from(byte & 0x7f).wrapping_shl(shift);
            shift += 7;
            if byte & 0x80 == 0 {
                if shift < 64 && byte & 0x40 != 0 {
                    v |= -1i64 << shift;
                }
                return Ok(v);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.b.is_empty()
    }
}

/// The body of a change chunk (`raw` is the whole chunk), after checking the framing: the
/// magic bytes, an uncompressed change chunk, and a length that matches the bytes exactly.
fn body(raw: &[u8]) -> Result<&[u8], ChunkError> {
    if raw.get(..4) != Some(&MAGIC[..]) {
        return Err(ChunkError::Malformed("not an Automerge chunk"));
    }
    if raw.get(8) != Some(&1) {
        return Err(ChunkError::Malformed("not an uncompressed change chunk"));
    }
    let mut r = Bytes {
        b: raw.get(9..).unwrap_or_default(),
    };
    let len = r.uleb("chunk length")?;
    let body = r.take(len, "the chunk is shorter than its length")?;
    if !r.is_empty() {
        return Err(ChunkError::Malformed("bytes after the chunk"));
    }
    Ok(body)
}

/// The change hash of a change chunk, computed from its bytes as Automerge computes it:
/// SHA-256 over the chunk type, the body length (minimal uLEB128) and the body.
pub fn hash(raw: &[u8]) -> Result<automerge::ChangeHash, ChunkError> {
    let body = body(raw)?;
    let mut head = vec![1u8];
    leb_u(&mut head, body.len() as u64);
    let mut h = Sha256::new();
    h.update(head);
    h.update(body);
    Ok(automerge::ChangeHash(h.finalize().into()))
}

/// Skips the change header, up to the column metadata.
fn skip_header(r: &mut Bytes<'_>) -> Result<(), ChunkError> {
    let deps = r.uleb("deps")?;
    r.take(deps.saturating_mul(32), "deps")?;
    let actor = r.uleb("actor")?;
    r.take(actor, "actor")?;
    r.uleb("seq")?;
    r.uleb("start op")?;
    r.sleb("time")?;
    let message = r.uleb("message")?;
    r.take(message, "message")?;
    let others = r.uleb("other actors")?;
    for _ in 0..others {
        let n = r.uleb("other actors")?;
        r.take(n, "other actors")?;
    }
    Ok(())
}

/// The column metadata: (spec, length) of each column.
fn column_specs(r: &mut Bytes<'_>) -> Result<Vec<(u64, u64)>, ChunkError> {
    let columns = r.uleb("columns")?;
    // Each column takes two bytes at least: a count beyond that is a lie, not an allocation.
    if columns > r.b.len() as u64 / 2 {
        return Err(ChunkError::Malformed("columns"));
    }
    (0..columns)
        .map(|_| Ok((r.uleb("column spec")?, r.uleb("column length")?)))
        .collect()
}

/// Refuses a change chunk whose columns declare more than [`MAX_CHANGE_OPS`] entries, or
/// whose group columns (the number of predecessors of each op, …) add up to more. Reads run
/// counts only; linear in the bytes.
pub fn check_ops(raw: &[u8]) -> Result<(), ChunkError> {
    let mut r = Bytes { b: body(raw)? };
    skip_header(&mut r)?;
    for (spec, len) in column_specs(&mut r)? {
        let spec = u32::try_from(spec).map_err(|_| ChunkError::Malformed("column spec"))?;
        let data = r.take(len, "column data")?;
        if spec & DEFLATE != 0 {
            return Err(ChunkError::Malformed("compressed column in a change"));
        }
        let (entries, grouped) = count_column(spec & 0b111, data)?;
        if entries > MAX_CHANGE_OPS || grouped > MAX_CHANGE_OPS {
            return Err(ChunkError::TooManyOps { column: spec >> 4 });
        }
    }
    Ok(())
}

/// The entries a column declares and, for a group column, the sum of its values (the
/// entries of the columns it groups). Stops counting once past the limit.
fn count_column(kind: u32, data: &[u8]) -> Result<(u64, u64), ChunkError> {
    let mut r = Bytes { b: data };
    let (mut entries, mut grouped) = (0u64, 0u64);
    let over = |n: u64| n > MAX_CHANGE_OPS;
    match kind {
        RAW => {}
        BOOLEAN => {
            while !r.is_empty() && !over(entries) {
                entries = entries.saturating_add(r.uleb("boolean run")?);
            }
        }
        _ => {
            while !r.is_empty() && !over(entries) && !over(grouped) {
                let count = r.sleb("run length")?;
                if count > 0 {
                    let n = count.unsigned_abs();
                    let v = value(&mut r, kind)?;
                    entries = entries.saturating_add(n);
                    grouped = grouped.saturating_add(n.saturating_mul(v));
                } else if count < 0 {
                    let n = count.unsigned_abs();
                    if over(n) {
                        return Ok((n, 0));
                    }
                    for _ in 0..n {
                        let v = value(&mut r, kind)?;
                        grouped = grouped.saturating_add(v);
                    }
                    entries = entries.saturating_add(n);
                } else {
                    entries = entries.saturating_add(r.uleb("null run")?);
                }
            }
        }
    }
    Ok((entries, grouped))
}

/// Skips one value of an RLE column; returns it for a group column (else 0).
fn value(r: &mut Bytes<'_>, kind: u32) -> Result<u64, ChunkError> {
    match kind {
        STRING => {
            let n = r.uleb("string length")?;
            r.take(n, "string")?;
            Ok(0)
        }
        GROUP => r.uleb("group count"),
        // Actor indexes, integers, value metadata: uLEB; deltas: sLEB. Both end at the first
        // byte without the high bit, which is all skipping needs.
        _ => {
            r.sleb("value")?;
            Ok(0)
        }
    }
}

/// The shape of a decode bomb, for tests and the hostile-peer harness: the change chunk `raw`
/// with the first run of every RLE column that starts with a repeated or a single value made
/// `runs` long, with a matching checksum. `None` when `raw` is not a change chunk.
pub fn with_run_length(raw: &[u8], runs: u64) -> Option<Vec<u8>> {
    let body = body(raw).ok()?;
    let mut r = Bytes { b: body };
    skip_header(&mut r).ok()?;
    let head_len = body.len() - r.b.len();
    let cols = column_specs(&mut r).ok()?;
    let mut out_cols = Vec::new();
    for (spec, len) in &cols {
        let data = r.take(*len, "column data").ok()?;
        let kind = u32::try_from(*spec).ok()? & 0b111;
        let mut d = data.to_vec();
        let mut col = Bytes { b: data };
        // A run (`n v`) or a literal of one value (`-1 v`) becomes `runs v`.
        if kind != RAW && kind != BOOLEAN && col.sleb("run length").is_ok_and(|n| n > 0 || n == -1)
        {
            d = Vec::new();
            leb_s(&mut d, i64::try_from(runs).ok()?);
            d.extend(col.b);
        }
        out_cols.push((*spec, d));
    }
    let mut new_body = body[..head_len].to_vec();
    leb_u(&mut new_body, out_cols.len() as u64);
    for (spec, d) in &out_cols {
        leb_u(&mut new_body, *spec);
        leb_u(&mut new_body, d.len() as u64);
    }
    for (_, d) in &out_cols {
        new_body.extend(d);
    }
    new_body.extend(r.b);
    let mut chunk = MAGIC.to_vec();
    chunk.extend([0, 0, 0, 0, 1]);
    leb_u(&mut chunk, new_body.len() as u64);
    chunk.extend(new_body);
    let h = hash(&chunk).ok()?;
    chunk[4..8].copy_from_slice(&h.0[..4]);
    Some(chunk)
}

fn leb_u(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn leb_s(out: &mut Vec<u8>, mut n: i64) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if (n == 0 && b & 0x40 == 0) || (n == -1 && b & 0x40 != 0) {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use automerge::transaction::Transactable;

    fn change(n: usize) -> automerge::Change {
        let mut doc = automerge::AutoCommit::new();
        for i in 0..n {
            doc.put(automerge::ROOT, format!("k{i}"), i as i64).unwrap();
        }
        doc.commit();
        doc.get_changes(&[]).into_iter().last().unwrap().clone()
    }

    #[test]
    fn the_hash_from_raw_bytes_is_automerges() {
        for n in [1, 10, 500] {
            let c = change(n);
            assert_eq!(hash(c.raw_bytes()).unwrap(), c.hash());
            check_ops(c.raw_bytes()).unwrap();
        }
    }

    #[test]
    fn framing_errors_are_named() {
        let c = change(3);
        let raw = c.raw_bytes().to_vec();
        let mut trailing = raw.clone();
        trailing.push(0);
        assert_eq!(
            hash(&trailing),
            Err(ChunkError::Malformed("bytes after the chunk"))
        );
        let mut magic = raw.clone();
        magic[0] ^= 1;
        assert!(hash(&magic).is_err());
        assert!(hash(&raw[..raw.len() - 1]).is_err());
        assert!(check_ops(&raw[..12]).is_err());
    }

    /// A run of 2^50 ops in a change of a few dozen bytes.
    #[test]
    fn a_run_of_billions_of_ops_is_refused_without_walking_it() {
        let c = change(1);
        let raw = c.raw_bytes();
        let bomb = with_run_length(raw, 1 << 50).unwrap();
        // The bomb is still a well-framed chunk with the right checksum.
        assert_eq!(&bomb[4..8], &hash(&bomb).unwrap().0[..4]);
        let start = std::time::Instant::now();
        assert!(matches!(
            check_ops(&bomb),
            Err(ChunkError::TooManyOps { .. })
        ));
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
    }
}
