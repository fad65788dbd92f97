//! Catch-up reconciliation and the sync messages.
//!
//! ## Inventories
//! A node describes what it holds as an [`Inventory`]: a sorted map from 32-byte [`Key`]s to
//! 32-byte [`Value`]s. A document contributes `doc id → `[`heads_digest`]` (its heads)`, a
//! certificate (delegation, revocation) contributes [`cert_key`]` (its bytes) → `[`CERT_VALUE`].
//! Two nodes hold the same material exactly when their inventories are equal.
//!
//! ## Range-based set reconciliation
//! To find where two inventories differ, the peers exchange [`Range`]s of the key space
//! (`lower` inclusive, `upper` exclusive, `None` = the end of the key space). Each range
//! carries one of:
//! - a [`Mode::Fingerprint`] of the sender's items in it: if it equals the receiver's own
//!   fingerprint, the range is done; otherwise the receiver answers with its item list
//!   ([`Mode::IdList`]) when it has at most [`THRESHOLD`] items there, or splits its items in
//!   the range into [`BRANCHING`] sub-ranges of equal item count, each with its fingerprint;
//! - a [`Mode::IdList`] of all the sender's items in it: the receiver notes the keys it lacks
//!   (or holds with another value) in [`Step::need`], and answers with [`Mode::Items`]: its
//!   own items the sender lacks;
//! - [`Mode::Items`]: final, the receiver notes what it lacks and does not answer.
//!
//! Ranges that agree drop out after one fingerprint, and each split divides the item count by
//! [`BRANCHING`], so the bytes exchanged grow with the size of the difference times the log of
//! the inventory size, and a session takes about `2·log₁₆ n + 3` messages. Both peers run the
//! same pure [`respond`]: the initiator sends [`initiate`], then each side answers what it
//! received with [`Step::reply`] until a reply is empty. At the end each side's accumulated
//! [`Step::need`] holds exactly the keys where the peer has an item that it lacks or holds
//! with another value; the node then fetches those with [`Request::Fetch`].
//!
//! **Fingerprint** of a set of items: the first 16 bytes of
//! `SHA-256("allmende/v1/fp\0" ‖ count (u64) ‖ Σ SHA-256(key ‖ value) mod 2²⁵⁶)`, the sum
//! taken over big-endian 256-bit integers. The sum makes it independent of order and cheap to
//! combine; the hash around it keeps chosen sets from cancelling out (unlike XOR).
//!
//! **Limits.** [`respond`] refuses malformed input ([`validate`]: sorted, non-overlapping,
//! non-empty ranges; sorted, unique item lists inside their range; at most [`MAX_RANGES`]
//! ranges and [`MAX_IDLIST`] items per list). Its reply always encodes within
//! [`MAX_REQUEST_BYTES`] (so it fits a request as well as a response) and holds at most
//! [`MAX_RANGES`] ranges: when the full answer would not fit, it answers the leading ranges
//! and sends the rest back as one fingerprint range, to be resolved in later rounds. In that
//! case a key may appear in `need` more than once within one session: treat `need` as a set.
//!
//! ## Messages
//! Versioned like everything else on the wire ([`crate::wire`]); all integers big-endian,
//! counts and lengths `u32` with limits checked before anything is read.
//!
//! | magic | message | limit |
//! |---|---|---|
//! | `AMQ` v1 | [`Request`] (request-response) | [`MAX_REQUEST_BYTES`] |
//! | `AMP` v1 | [`Response`] (request-response) | [`MAX_RESPONSE_BYTES`] |
//! | `AMG` v1 | [`Gossip`] (gossipsub) | [`MAX_GOSSIP_BYTES`] |
//!
//! ```text
//! Request   = "AMQ" 01 (00 ranges | 01 count(≤64) want*)
//! want      = key(32) count(≤256) change-hash(32)*
//! Response  = "AMP" 01 (00 ranges | 01 count(≤1024) object* | 02 code(u8) len message)
//! object    = 00 doc-body | 01 len cert | 02 key(32)
//! doc-body  = len header(AMH) count(≤10000) (len change(AMC))* count(≤1024) (len cert)*
//! cert      = the AMD (delegation) or AMR (revocation) bytes; the magic tells which
//! Gossip    = "AMG" 01 (00 doc-body | 01 len cert)
//! ranges    = count(≤4096) range*
//! range     = flags(u8) [lower: bound] [upper: bound] payload
//!   flags   = bits 0–1 mode (0 fingerprint, 1 id list, 2 items), bit 2 "lower omitted: it
//!             equals the previous range's upper (the zero key for the first range)",
//!             bit 3 "upper omitted: end of the key space"; other bits zero
//!   bound   = len(u8, ≤32) bytes: the key with its trailing zero bytes removed (canonical:
//!             the last byte is not zero)
//!   payload = fingerprint(16) | count(≤1024) (key(32) value(32))*
//! ```
//! Refusal codes: 0 rate limited, 1 too large, 2 malformed, 3 busy. Decoders refuse unknown
//! versions and tags, truncation, trailing bytes, non-canonical forms, oversized fields and
//! counts, changes of another document than the header's, and invalid certificates (their
//! signatures are checked while decoding). Change signatures are *not* checked here: the
//! node verifies and authorises them before applying anything.

use std::collections::BTreeMap;
use std::ops::Bound;

use automerge::ChangeHash;
use sha2::{Digest, Sha256};

use crate::change::{MAX_CHANGE_BYTES, SignedChange};
use crate::doc::DocHeader;
use crate::identity::{SignedDelegation, SignedRevocation};
use crate::wire::{DecodeError, Reader, Writer};

/// A key of the inventory: a document id's bytes, or a certificate's [`cert_key`].
pub type Key = [u8; 32];
/// A value of the inventory: a document's [`heads_digest`], or [`CERT_VALUE`].
pub type Value = [u8; 32];
/// The value of every certificate (a certificate never changes; its key is its hash).
pub const CERT_VALUE: Value = [0xff; 32];

/// Sub-ranges a differing range is split into.
pub const BRANCHING: usize = 16;
/// A differing range in which the responder has at most this many items is answered with
/// the item list instead of being split.
pub const THRESHOLD: usize = 16;
/// Most ranges in one reconciliation message.
pub const MAX_RANGES: usize = 4096;
/// Most items in one [`Mode::IdList`] or [`Mode::Items`] list.
pub const MAX_IDLIST: usize = 1024;
/// Largest encoded [`Request`].
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;
/// Largest encoded [`Response`].
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;
/// Largest encoded [`Gossip`] message (below gossipsub's 64 KiB default).
pub const MAX_GOSSIP_BYTES: usize = 60 * 1024;
/// Most [`Want`]s in one [`Request::Fetch`].
pub const MAX_WANTS: usize = 64;
/// Most heads in one [`Want::have`].
pub const MAX_HAVE: usize = 256;
/// Most objects in one [`Response::Fetched`].
pub const MAX_OBJECTS: usize = 1024;
/// Most changes in one [`Object::Doc`] or [`Announce`] (the node ingests at most this many
/// changes in one batch).
pub const MAX_DOC_CHANGES: usize = 10_000;
/// Most certificates in one [`Object::Doc`] or [`Announce`].
pub const MAX_DOC_CERTS: usize = 1024;
/// Largest encoded delegation or revocation (a revocation with the longest reason is about
/// 1.2 KB). A proof of equivocation holds two changes and may reach
/// [`crate::equivocation::MAX_PROOF_BYTES`]; the message it travels in bounds it.
pub const MAX_CERT_BYTES: usize = 2048;
/// Longest refusal message, in bytes; [`Response::encode`] cuts longer ones.
pub const MAX_REFUSAL_BYTES: usize = 1024;

/// Largest encoded document header inside a message (v1 headers are 53 bytes).
const MAX_HEADER_BYTES: usize = 256;
/// Largest encoded signed change inside a message: the change plus its envelope.
const MAX_SIGNED_CHANGE_BYTES: usize = MAX_CHANGE_BYTES + 256;
const SYNC_VERSION: u8 = 1;

const HEADS_DOMAIN: &[u8] = b"allmende/v1/heads\0";
const CERT_DOMAIN: &[u8] = b"allmende/v1/cert\0";
const FP_DOMAIN: &[u8] = b"allmende/v1/fp\0";
const ZERO_KEY: Key = [0; 32];

/// The inventory value of a document: SHA-256 over `"allmende/v1/heads\0"` and its heads,
/// sorted and without duplicates (so the order of `heads` does not matter).
pub fn heads_digest(heads: &[ChangeHash]) -> Value {
    let mut sorted: Vec<&ChangeHash> = heads.iter().collect();
    sorted.sort();
    sorted.dedup();
    let mut h = Sha256::new();
    h.update(HEADS_DOMAIN);
    for head in sorted {
        h.update(head.0);
    }
    h.finalize().into()
}

/// The inventory key of a certificate: SHA-256 over `"allmende/v1/cert\0"` and its encoded
/// bytes ([`Cert::encode`], i.e. the `AMD`/`AMR` encoding).
pub fn cert_key(encoded_cert: &[u8]) -> Key {
    let mut h = Sha256::new();
    h.update(CERT_DOMAIN);
    h.update(encoded_cert);
    h.finalize().into()
}

/// Errors of reconciliation and of the sync messages.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Malformed bytes.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A signed change inside a message is malformed.
    #[error("change: {0}")]
    Change(#[from] crate::change::VerifyError),
    /// A certificate inside a message is malformed or its signature does not verify.
    #[error("certificate: {0}")]
    Cert(#[from] crate::identity::CertError),
    /// A proof of equivocation inside a message is malformed or proves nothing.
    #[error("equivocation proof: {0}")]
    Proof(#[from] crate::equivocation::ProofError),
    /// Well-formed bytes that break a rule (unsorted ranges, items outside their range, a
    /// change of another document, …).
    #[error("invalid message: {0}")]
    Invalid(String),
}

// ---------------------------------------------------------------------------------------
// Fingerprints

/// A 256-bit unsigned integer, little-endian limbs, added modulo 2²⁵⁶.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sum([u64; 4]);

impl Sum {
    /// SHA-256(key ‖ value) read as a big-endian integer.
    fn of_item(key: &Key, value: &Value) -> Self {
        let mut h = Sha256::new();
        h.update(key);
        h.update(value);
        let digest: [u8; 32] = h.finalize().into();
        Self::from_be_bytes(&digest)
    }

    fn from_be_bytes(b: &[u8; 32]) -> Self {
        let mut limbs = [0u64; 4];
        for (i, limb) in limbs.iter_mut().enumerate() {
            let end = 32 - 8 * i;
            let mut word = [0u8; 8];
            word.copy_from_slice(&b[end - 8..end]);
            *limb = u64::from_be_bytes(word);
        }
        Self(limbs)
    }

    fn to_be_bytes(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, limb) in self.0.iter().enumerate() {
            let end = 32 - 8 * i;
            out[end - 8..end].copy_from_slice(&limb.to_be_bytes());
        }
        out
    }

    fn add(&mut self, other: &Sum) {
        let mut carry = 0u64;
        for (a, b) in self.0.iter_mut().zip(other.0) {
            let (s1, c1) = a.overflowing_add(b);
            let (s2, c2) = s1.overflowing_add(carry);
            *a = s2;
            carry = u64::from(c1 | c2);
        }
    }
}

/// Count and sum of a set of items, from which its fingerprint follows.
#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    count: u64,
    sum: Sum,
}

impl Acc {
    fn add(&mut self, item: &Sum) {
        self.count += 1;
        self.sum.add(item);
    }

    fn fingerprint(&self) -> [u8; 16] {
        let mut h = Sha256::new();
        h.update(FP_DOMAIN);
        h.update(self.count.to_be_bytes());
        h.update(self.sum.to_be_bytes());
        let digest: [u8; 32] = h.finalize().into();
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        out
    }
}

/// The fingerprint of a set of items (see the module documentation). Each key should occur
/// once; the order does not matter.
pub fn fingerprint<'a>(items: impl IntoIterator<Item = (&'a Key, &'a Value)>) -> [u8; 16] {
    let mut acc = Acc::default();
    for (k, v) in items {
        acc.add(&Sum::of_item(k, v));
    }
    acc.fingerprint()
}

// ---------------------------------------------------------------------------------------
// Inventory

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    value: Value,
    /// SHA-256(key ‖ value), cached for fingerprints.
    hash: Sum,
}

/// What a node holds, as a sorted map from keys to values.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    items: BTreeMap<Key, Entry>,
}

impl Inventory {
    /// An empty inventory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the value of `key`; returns the previous value.
    pub fn insert(&mut self, key: Key, value: Value) -> Option<Value> {
        let entry = Entry {
            value,
            hash: Sum::of_item(&key, &value),
        };
        self.items.insert(key, entry).map(|e| e.value)
    }

    /// The value of `key`.
    pub fn get(&self, key: &Key) -> Option<&Value> {
        self.items.get(key).map(|e| &e.value)
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &Key) -> Option<Value> {
        self.items.remove(key).map(|e| e.value)
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The items in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Value)> {
        self.items.iter().map(|(k, e)| (k, &e.value))
    }

    /// The fingerprint of the items in `[lower, upper)` (`None`: up to the end).
    pub fn fingerprint(&self, lower: &Key, upper: Option<&Key>) -> [u8; 16] {
        let mut acc = Acc::default();
        for (_, e) in self.in_range(lower, upper) {
            acc.add(&e.hash);
        }
        acc.fingerprint()
    }

    fn in_range<'a>(
        &'a self,
        lower: &Key,
        upper: Option<&Key>,
    ) -> impl Iterator<Item = (&'a Key, &'a Entry)> + 'a {
        let nonempty = upper.is_none_or(|u| lower < u);
        let end = upper.map_or(Bound::Unbounded, |u| Bound::Excluded(*u));
        nonempty
            .then(|| self.items.range((Bound::Included(*lower), end)))
            .into_iter()
            .flatten()
    }
}

impl FromIterator<(Key, Value)> for Inventory {
    fn from_iter<I: IntoIterator<Item = (Key, Value)>>(iter: I) -> Self {
        let mut inv = Self::new();
        inv.extend(iter);
        inv
    }
}

impl Extend<(Key, Value)> for Inventory {
    fn extend<I: IntoIterator<Item = (Key, Value)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Reconciliation

/// A range of the key space and what the sender says about its items there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// First key of the range (inclusive).
    pub lower: Key,
    /// End of the range (exclusive); `None` is the end of the key space.
    pub upper: Option<Key>,
    /// What the sender says about the range.
    pub mode: Mode,
}

/// What a [`Range`] carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// The fingerprint of the sender's items in the range.
    Fingerprint([u8; 16]),
    /// All of the sender's items in the range, sorted by key; the receiver answers with
    /// [`Mode::Items`].
    IdList(Vec<(Key, Value)>),
    /// Final: the sender's items in the range that the receiver lacks or holds with another
    /// value, sorted by key. Not answered.
    Items(Vec<(Key, Value)>),
}

/// The outcome of [`respond`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Step {
    /// Ranges to send back; empty when the session is over from this side.
    pub reply: Vec<Range>,
    /// Items of the peer that this node lacks or holds with another value: the key and the
    /// peer's value (for a document, the digest of the peer's heads).
    pub need: Vec<(Key, Value)>,
}

/// The knobs of reconciliation; the public functions use [`LIMITS`]. Tests drive the same
/// code with tiny limits to exercise the paths that cut replies.
#[derive(Debug, Clone, Copy)]
struct Limits {
    branching: usize,
    threshold: usize,
    max_ranges: usize,
    max_idlist: usize,
    /// Largest encoding of the reply as a [`Request`].
    max_bytes: usize,
}

const LIMITS: Limits = Limits {
    branching: BRANCHING,
    threshold: THRESHOLD,
    max_ranges: MAX_RANGES,
    max_idlist: MAX_IDLIST,
    max_bytes: MAX_REQUEST_BYTES,
};

/// Magic, version, tag and range count of a [`Request::Reconcile`].
const RECONCILE_HEAD_BYTES: usize = 3 + 1 + 1 + 4;
/// Upper bound of an encoded range without its payload: flags and two full bounds.
const RANGE_HEAD_MAX: usize = 1 + 33 + 33;
/// Upper bound of an encoded fingerprint range.
const FP_RANGE_MAX: usize = RANGE_HEAD_MAX + 16;
/// Bytes of one item in a list.
const ITEM_BYTES: usize = 64;

/// Upper bound of the encoded size of `r` (the actual encoding is usually much shorter).
fn range_cost(r: &Range) -> usize {
    RANGE_HEAD_MAX
        + match &r.mode {
            Mode::Fingerprint(_) => 16,
            Mode::IdList(l) | Mode::Items(l) => 4 + ITEM_BYTES * l.len(),
        }
}

/// The reply being built, within the limits, always keeping room for one more fingerprint
/// range (the deferred rest).
struct Reply {
    ranges: Vec<Range>,
    bytes: usize,
    lim: Limits,
}

impl Reply {
    fn new(lim: Limits) -> Self {
        Self {
            ranges: Vec::new(),
            bytes: RECONCILE_HEAD_BYTES,
            lim,
        }
    }

    fn fits(&self, ranges: usize, bytes: usize) -> bool {
        self.ranges.len() + ranges < self.lim.max_ranges
            && self.bytes + bytes + FP_RANGE_MAX <= self.lim.max_bytes
    }

    /// How many list items fit into one more range (0 when none).
    fn room_for_items(&self) -> usize {
        if self.ranges.len() + 1 >= self.lim.max_ranges {
            return 0;
        }
        let used = self.bytes + RANGE_HEAD_MAX + 4 + FP_RANGE_MAX;
        (self.lim.max_bytes.saturating_sub(used) / ITEM_BYTES).min(self.lim.max_idlist)
    }

    fn push(&mut self, r: Range) {
        self.bytes += range_cost(&r);
        self.ranges.push(r);
    }
}

/// The shortest key `s` (trailing zeros aside) with `a < s <= b`; requires `a < b`.
fn separator(a: &Key, b: &Key) -> Key {
    let mut out = [0u8; 32];
    for i in 0..32 {
        out[i] = b[i];
        if a[i] != b[i] {
            break;
        }
    }
    out
}

/// The first message of a session: the item list of the whole key space when this node has
/// at most [`THRESHOLD`] items (the peer then answers with everything this node lacks at
/// once), otherwise one fingerprint over the whole key space.
pub fn initiate(inv: &Inventory) -> Vec<Range> {
    initiate_with(inv, LIMITS)
}

fn initiate_with(inv: &Inventory, lim: Limits) -> Vec<Range> {
    let mode = if inv.len() <= lim.threshold {
        Mode::IdList(inv.iter().map(|(k, v)| (*k, *v)).collect())
    } else {
        Mode::Fingerprint(inv.fingerprint(&ZERO_KEY, None))
    };
    vec![Range {
        lower: ZERO_KEY,
        upper: None,
        mode,
    }]
}

/// Answers the ranges received from a peer (see the module documentation). Refuses
/// malformed input ([`validate`]). The reply encodes within [`MAX_REQUEST_BYTES`] and holds
/// at most [`MAX_RANGES`] ranges.
pub fn respond(inv: &Inventory, incoming: &[Range]) -> Result<Step, SyncError> {
    respond_with(inv, incoming, LIMITS)
}

fn respond_with(inv: &Inventory, incoming: &[Range], lim: Limits) -> Result<Step, SyncError> {
    validate_with(incoming, &lim)?;
    let mut reply = Reply::new(lim);
    let mut need = Vec::new();
    // Once the reply is full, everything from here to the end of the last range not yet
    // answered goes back as one fingerprint range.
    let mut deferred: Option<(Key, Option<Key>)> = None;
    for r in incoming {
        if let Mode::Items(theirs) = &r.mode {
            need.extend(
                theirs
                    .iter()
                    .filter(|(k, v)| inv.get(k) != Some(v))
                    .copied(),
            );
            continue;
        }
        if let Some((_, end)) = &mut deferred {
            *end = r.upper;
            continue;
        }
        let cut = match &r.mode {
            Mode::Fingerprint(theirs) => answer_fingerprint(inv, r, theirs, &mut reply),
            Mode::IdList(theirs) => answer_idlist(inv, r, theirs, &mut reply, &mut need),
            Mode::Items(_) => None,
        };
        if let Some(from) = cut {
            deferred = Some((from, r.upper));
        }
    }
    if let Some((lower, upper)) = deferred {
        let fp = inv.fingerprint(&lower, upper.as_ref());
        reply.ranges.push(Range {
            lower,
            upper,
            mode: Mode::Fingerprint(fp),
        });
    }
    Ok(Step {
        reply: reply.ranges,
        need,
    })
}

/// Answers a fingerprint; returns where the answer was cut for lack of room.
fn answer_fingerprint(
    inv: &Inventory,
    r: &Range,
    theirs: &[u8; 16],
    reply: &mut Reply,
) -> Option<Key> {
    let lim = reply.lim;
    let mine: Vec<(&Key, &Entry)> = inv.in_range(&r.lower, r.upper.as_ref()).collect();
    let mut total = Acc::default();
    for (_, e) in &mine {
        total.add(&e.hash);
    }
    if total.fingerprint() == *theirs {
        return None;
    }
    let answer = if mine.len() <= lim.threshold {
        vec![Range {
            lower: r.lower,
            upper: r.upper,
            mode: Mode::IdList(mine.iter().map(|(k, e)| (**k, e.value)).collect()),
        }]
    } else {
        split(r, &mine, lim.branching)
    };
    let cost = answer.iter().map(range_cost).sum();
    if !reply.fits(answer.len(), cost) {
        return Some(r.lower);
    }
    for a in answer {
        reply.push(a);
    }
    None
}

/// Splits `r` into `parts` sub-ranges of (nearly) equal counts of `items`, exactly covering
/// it, each with its fingerprint.
fn split(r: &Range, items: &[(&Key, &Entry)], branching: usize) -> Vec<Range> {
    let n = items.len();
    let parts = branching.max(2).min(n);
    let mut out = Vec::with_capacity(parts);
    let mut lower = r.lower;
    for p in 0..parts {
        let (start, end) = (p * n / parts, (p + 1) * n / parts);
        let upper = if p + 1 == parts {
            r.upper
        } else {
            Some(separator(items[end - 1].0, items[end].0))
        };
        let mut acc = Acc::default();
        for (_, e) in &items[start..end] {
            acc.add(&e.hash);
        }
        out.push(Range {
            lower,
            upper,
            mode: Mode::Fingerprint(acc.fingerprint()),
        });
        if let Some(u) = upper {
            lower = u;
        }
    }
    out
}

/// Answers an item list: notes what this node lacks, sends what the peer lacks. Returns
/// where the answer was cut for lack of room; keys from the cut on are left for later.
fn answer_idlist(
    inv: &Inventory,
    r: &Range,
    theirs: &[(Key, Value)],
    reply: &mut Reply,
    need: &mut Vec<(Key, Value)>,
) -> Option<Key> {
    let mut mine = inv.in_range(&r.lower, r.upper.as_ref()).peekable();
    let mut theirs_iter = theirs.iter().peekable();
    let mut give: Vec<(Key, Value)> = Vec::new();
    let mut lacking: Vec<(Key, Value)> = Vec::new();
    loop {
        match (mine.peek(), theirs_iter.peek()) {
            (Some((mk, me)), Some((tk, tv))) => match (*mk).cmp(tk) {
                std::cmp::Ordering::Less => {
                    give.push((**mk, me.value));
                    mine.next();
                }
                std::cmp::Ordering::Greater => {
                    lacking.push((*tk, *tv));
                    theirs_iter.next();
                }
                std::cmp::Ordering::Equal => {
                    if me.value != *tv {
                        give.push((**mk, me.value));
                        lacking.push((*tk, *tv));
                    }
                    mine.next();
                    theirs_iter.next();
                }
            },
            (Some((mk, me)), None) => {
                give.push((**mk, me.value));
                mine.next();
            }
            (None, Some((tk, tv))) => {
                lacking.push((*tk, *tv));
                theirs_iter.next();
            }
            (None, None) => break,
        }
    }

    let mut lower = r.lower;
    let mut rest = give.as_slice();
    let mut cut = None;
    while !rest.is_empty() {
        let take = rest.len().min(reply.room_for_items());
        if take == 0 {
            cut = Some(lower);
            break;
        }
        let upper = match rest.get(take) {
            None => r.upper,
            Some((next, _)) => Some(separator(&rest[take - 1].0, next)),
        };
        reply.push(Range {
            lower,
            upper,
            mode: Mode::Items(rest[..take].to_vec()),
        });
        rest = &rest[take..];
        if let Some(u) = upper {
            lower = u;
        }
    }
    match cut {
        None => need.extend(lacking),
        Some(c) => need.extend(lacking.into_iter().filter(|(k, _)| *k < c)),
    }
    cut
}

/// Checks that ranges are well-formed: at most [`MAX_RANGES`], sorted and non-overlapping,
/// each non-empty (`lower < upper`, only the last may reach the end of the key space), item
/// lists of at most [`MAX_IDLIST`] items, sorted by key without duplicates, inside their
/// range.
pub fn validate(ranges: &[Range]) -> Result<(), SyncError> {
    validate_with(ranges, &LIMITS)
}

fn validate_with(ranges: &[Range], lim: &Limits) -> Result<(), SyncError> {
    let invalid = |i: usize, what: &str| Err(SyncError::Invalid(format!("range {i}: {what}")));
    if ranges.len() > lim.max_ranges {
        return Err(SyncError::Invalid(format!(
            "{} ranges exceed the limit of {}",
            ranges.len(),
            lim.max_ranges
        )));
    }
    let mut prev_upper: Option<Option<Key>> = None;
    for (i, r) in ranges.iter().enumerate() {
        match prev_upper {
            Some(None) => return invalid(i, "follows a range reaching the end of the key space"),
            Some(Some(u)) if r.lower < u => {
                return invalid(i, "overlaps or precedes the previous range");
            }
            _ => {}
        }
        if r.upper.is_some_and(|u| r.lower >= u) {
            return invalid(i, "empty: lower bound not below upper bound");
        }
        if let Mode::IdList(items) | Mode::Items(items) = &r.mode {
            if items.len() > lim.max_idlist {
                return invalid(
                    i,
                    &format!(
                        "{} items exceed the limit of {}",
                        items.len(),
                        lim.max_idlist
                    ),
                );
            }
            let mut prev: Option<&Key> = None;
            for (k, _) in items {
                if prev.is_some_and(|p| p >= k) {
                    return invalid(i, "items not sorted by key or duplicated");
                }
                if *k < r.lower || r.upper.is_some_and(|u| *k >= u) {
                    return invalid(i, "item outside the range");
                }
                prev = Some(k);
            }
        }
        prev_upper = Some(r.upper);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Messages

/// What a fetching node wants of one object: the document (changes it lacks, given its
/// heads) or the certificate with this key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want {
    /// The inventory key: document id or certificate key.
    pub key: Key,
    /// The requester's heads of the document (at most [`MAX_HAVE`]); empty for a
    /// certificate or a document it does not hold.
    pub have: Vec<ChangeHash>,
}

/// A request of the request-response protocol (`AMQ`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A reconciliation message: [`initiate`] or a [`Step::reply`].
    Reconcile(Vec<Range>),
    /// Objects wanted (at most [`MAX_WANTS`]).
    Fetch(Vec<Want>),
}

/// A signed statement about keys, or signed proof about one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cert {
    /// A delegation.
    Delegation(SignedDelegation),
    /// A revocation.
    Revocation(SignedRevocation),
    /// Two changes one key signed for the same place in a document's history.
    Equivocation(Box<crate::equivocation::EquivocationProof>),
}

impl Cert {
    /// The statement's own encoding (`AMD` or `AMR`).
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Cert::Delegation(d) => d.encode(),
            Cert::Revocation(r) => r.encode(),
            Cert::Equivocation(p) => p.encode(),
        }
    }

    /// Decodes a delegation or a revocation (told apart by their magic) and verifies its
    /// signature.
    pub fn decode(bytes: &[u8]) -> Result<Self, SyncError> {
        match bytes.get(..3) {
            Some(b"AMD") => Ok(Cert::Delegation(SignedDelegation::decode(bytes)?)),
            Some(b"AMR") => Ok(Cert::Revocation(SignedRevocation::decode(bytes)?)),
            Some(b"AME") => Ok(Cert::Equivocation(Box::new(
                crate::equivocation::EquivocationProof::decode(bytes)?,
            ))),
            _ => Err(DecodeError::BadMagic {
                expected: "a certificate",
            }
            .into()),
        }
    }

    /// Its inventory key: [`cert_key`] of [`Cert::encode`].
    pub fn key(&self) -> Key {
        cert_key(&self.encode())
    }
}

/// One answer to a [`Want`].
#[derive(Debug, Clone)]
pub enum Object {
    /// A document's changes the requester lacks, with the certificates needed to authorise
    /// them.
    Doc {
        /// The document's header (its id is the hash of the header).
        header: DocHeader,
        /// Signed changes of this document, in causal order (at most [`MAX_DOC_CHANGES`]).
        changes: Vec<SignedChange>,
        /// Certificates (at most [`MAX_DOC_CERTS`]).
        certs: Vec<Cert>,
    },
    /// A document's changes exactly as the responder stored them: encoded
    /// [`SignedChange`]s, written to the wire unchanged, so answering needs no decoding. It
    /// encodes like [`Object::Doc`], and decoding a response always yields `Doc`: the
    /// receiver checks these changes like any others.
    Stored {
        /// The document's header.
        header: DocHeader,
        /// Encoded signed changes of this document (at most [`MAX_DOC_CHANGES`]), all of
        /// them or a causally ordered prefix.
        changes: Vec<Vec<u8>>,
        /// Certificates (at most [`MAX_DOC_CERTS`]).
        certs: Vec<Cert>,
    },
    /// A certificate.
    Cert(Cert),
    /// The responder does not hold this key.
    Missing(Key),
}

impl Object {
    /// The inventory key this object answers.
    pub fn key(&self) -> Key {
        match self {
            Object::Doc { header, .. } | Object::Stored { header, .. } => *header.id().as_bytes(),
            Object::Cert(c) => c.key(),
            Object::Missing(k) => *k,
        }
    }
}

fn same_changes(a: &[SignedChange], b: &[SignedChange]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.encode() == y.encode())
}

/// Equal when the encodings are equal (signed changes compare by their bytes, so a
/// [`Object::Stored`] equals the [`Object::Doc`] it decodes to).
impl PartialEq for Object {
    fn eq(&self, other: &Self) -> bool {
        let encoded = |o: &Object| {
            let mut w = Writer::new(b"AMO", SYNC_VERSION);
            write_object(&mut w, o);
            w.finish()
        };
        encoded(self) == encoded(other)
    }
}

impl Eq for Object {}

/// Why a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalCode {
    /// The requester sends too many requests.
    RateLimited,
    /// The answer would be too large.
    TooLarge,
    /// The request is malformed.
    Malformed,
    /// The responder cannot answer now.
    Busy,
}

impl RefusalCode {
    fn tag(self) -> u8 {
        match self {
            RefusalCode::RateLimited => 0,
            RefusalCode::TooLarge => 1,
            RefusalCode::Malformed => 2,
            RefusalCode::Busy => 3,
        }
    }

    fn from_tag(tag: u8) -> Option<Self> {
        Some(match tag {
            0 => RefusalCode::RateLimited,
            1 => RefusalCode::TooLarge,
            2 => RefusalCode::Malformed,
            3 => RefusalCode::Busy,
            _ => return None,
        })
    }
}

/// A response of the request-response protocol (`AMP`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// The [`Step::reply`] to a [`Request::Reconcile`].
    Reconcile(Vec<Range>),
    /// The answers to a [`Request::Fetch`] (at most [`MAX_OBJECTS`]).
    Fetched(Vec<Object>),
    /// The request is refused.
    Refused {
        /// Why, for machines.
        code: RefusalCode,
        /// Why, for people (at most [`MAX_REFUSAL_BYTES`]; longer messages are cut when
        /// encoding).
        message: String,
    },
}

/// New changes of a document, pushed over gossip.
#[derive(Debug, Clone)]
pub struct Announce {
    /// The document's header.
    pub header: DocHeader,
    /// Its new signed changes (may be empty: then peers fetch).
    pub changes: Vec<SignedChange>,
    /// Certificates needed to authorise them.
    pub certs: Vec<Cert>,
}

/// Equal when the encodings are equal (signed changes compare by their bytes).
impl PartialEq for Announce {
    fn eq(&self, other: &Self) -> bool {
        self.header == other.header
            && self.certs == other.certs
            && same_changes(&self.changes, &other.changes)
    }
}

impl Eq for Announce {}

/// A gossip message (`AMG`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gossip {
    /// New changes of a document.
    Announce(Announce),
    /// A new certificate.
    Cert(Cert),
}

fn read_count(r: &mut Reader<'_>, what: &'static str, max: usize) -> Result<usize, DecodeError> {
    let n = u32::from_be_bytes(r.array::<4>(what)?) as usize;
    if n > max {
        return Err(DecodeError::Invalid {
            what,
            reason: format!("{n} entries exceed the limit of {max}"),
        });
    }
    Ok(n)
}

fn unknown_tag(what: &'static str, tag: u8) -> SyncError {
    DecodeError::Invalid {
        what,
        reason: format!("unknown tag {tag}"),
    }
    .into()
}

fn too_large(what: &'static str, len: usize, max: usize) -> Result<(), SyncError> {
    if len > max {
        return Err(DecodeError::TooLarge { what, len, max }.into());
    }
    Ok(())
}

const MODE_FINGERPRINT: u8 = 0;
const MODE_IDLIST: u8 = 1;
const MODE_ITEMS: u8 = 2;
const MODE_MASK: u8 = 0b0011;
const FLAG_LOWER_OMITTED: u8 = 0b0100;
const FLAG_UPPER_OPEN: u8 = 0b1000;

fn write_bound(w: &mut Writer, key: &Key) {
    let len = key.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    w.u8(len as u8).bytes(&key[..len]);
}

fn read_bound(r: &mut Reader<'_>) -> Result<Key, DecodeError> {
    let len = usize::from(r.u8("range bound")?);
    if len > 32 {
        return Err(DecodeError::TooLarge {
            what: "range bound",
            len,
            max: 32,
        });
    }
    let bytes = r.take(len, "range bound")?;
    if bytes.last() == Some(&0) {
        return Err(DecodeError::Invalid {
            what: "range bound",
            reason: "trailing zero byte (not canonical)".into(),
        });
    }
    let mut key = [0u8; 32];
    key[..len].copy_from_slice(bytes);
    Ok(key)
}

fn write_ranges(w: &mut Writer, ranges: &[Range]) {
    w.count(ranges.len());
    let mut prev: Option<Key> = Some(ZERO_KEY);
    for r in ranges {
        let omit_lower = prev == Some(r.lower);
        let mut flags = match &r.mode {
            Mode::Fingerprint(_) => MODE_FINGERPRINT,
            Mode::IdList(_) => MODE_IDLIST,
            Mode::Items(_) => MODE_ITEMS,
        };
        if omit_lower {
            flags |= FLAG_LOWER_OMITTED;
        }
        if r.upper.is_none() {
            flags |= FLAG_UPPER_OPEN;
        }
        w.u8(flags);
        if !omit_lower {
            write_bound(w, &r.lower);
        }
        if let Some(u) = &r.upper {
            write_bound(w, u);
        }
        match &r.mode {
            Mode::Fingerprint(fp) => {
                w.bytes(fp);
            }
            Mode::IdList(list) | Mode::Items(list) => {
                w.count(list.len());
                for (k, v) in list {
                    w.bytes(k).bytes(v);
                }
            }
        }
        prev = r.upper;
    }
}

fn read_ranges(r: &mut Reader<'_>) -> Result<Vec<Range>, SyncError> {
    let n = read_count(r, "ranges", MAX_RANGES)?;
    let mut out = Vec::with_capacity(n.min(256));
    let mut prev: Option<Key> = Some(ZERO_KEY);
    for _ in 0..n {
        let flags = r.u8("range flags")?;
        let mode = flags & MODE_MASK;
        if flags & !(MODE_MASK | FLAG_LOWER_OMITTED | FLAG_UPPER_OPEN) != 0
            || !matches!(mode, MODE_FINGERPRINT | MODE_IDLIST | MODE_ITEMS)
        {
            return Err(unknown_tag("range flags", flags));
        }
        let lower = if flags & FLAG_LOWER_OMITTED != 0 {
            prev.ok_or_else(|| {
                SyncError::Invalid("lower bound omitted after the end of the key space".into())
            })?
        } else {
            let lower = read_bound(r)?;
            if prev == Some(lower) {
                return Err(DecodeError::Invalid {
                    what: "range bound",
                    reason: "lower bound should have been omitted (not canonical)".into(),
                }
                .into());
            }
            lower
        };
        let upper = if flags & FLAG_UPPER_OPEN != 0 {
            None
        } else {
            Some(read_bound(r)?)
        };
        let mode = match mode {
            MODE_FINGERPRINT => Mode::Fingerprint(r.array::<16>("fingerprint")?),
            m @ (MODE_IDLIST | MODE_ITEMS) => {
                let count = read_count(r, "range items", MAX_IDLIST)?;
                let mut items = Vec::with_capacity(count.min(64));
                for _ in 0..count {
                    items.push((r.array::<32>("item key")?, r.array::<32>("item value")?));
                }
                if m == MODE_IDLIST {
                    Mode::IdList(items)
                } else {
                    Mode::Items(items)
                }
            }
            other => return Err(unknown_tag("range mode", other)),
        };
        out.push(Range { lower, upper, mode });
        prev = upper;
    }
    validate(&out)?;
    Ok(out)
}

fn write_cert(w: &mut Writer, cert: &Cert) {
    w.var(&cert.encode());
}

fn read_cert(r: &mut Reader<'_>) -> Result<Cert, SyncError> {
    let bytes = r.var("certificate", crate::equivocation::MAX_PROOF_BYTES)?;
    if bytes.len() > MAX_CERT_BYTES && bytes.get(..3) != Some(b"AME") {
        return Err(DecodeError::TooLarge {
            what: "certificate",
            len: bytes.len(),
            max: MAX_CERT_BYTES,
        }
        .into());
    }
    Cert::decode(bytes)
}

fn write_doc_body(w: &mut Writer, header: &DocHeader, changes: &[SignedChange], certs: &[Cert]) {
    w.var(&header.encode());
    w.count(changes.len());
    for c in changes {
        w.var(&c.encode());
    }
    write_doc_certs(w, certs);
}

/// [`write_doc_body`] for changes already encoded.
fn write_stored_body(w: &mut Writer, header: &DocHeader, changes: &[Vec<u8>], certs: &[Cert]) {
    w.var(&header.encode());
    w.count(changes.len());
    for c in changes {
        w.var(c);
    }
    write_doc_certs(w, certs);
}

fn write_doc_certs(w: &mut Writer, certs: &[Cert]) {
    w.count(certs.len());
    for c in certs {
        write_cert(w, c);
    }
}

type DocBody = (DocHeader, Vec<SignedChange>, Vec<Cert>);

fn read_doc_body(r: &mut Reader<'_>) -> Result<DocBody, SyncError> {
    let header = DocHeader::decode(r.var("document header", MAX_HEADER_BYTES)?)?;
    let id = header.id();
    let n = read_count(r, "changes", MAX_DOC_CHANGES)?;
    let mut changes = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        let c = SignedChange::decode(r.var("change", MAX_SIGNED_CHANGE_BYTES)?)?;
        if c.doc() != id {
            return Err(SyncError::Invalid(format!(
                "a change of {} offered with the header of {id}",
                c.doc()
            )));
        }
        changes.push(c);
    }
    let n = read_count(r, "certificates", MAX_DOC_CERTS)?;
    let mut certs = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        certs.push(read_cert(r)?);
    }
    Ok((header, changes, certs))
}

impl Request {
    /// Versioned encoding (`AMQ` v1). Callers keep it within [`MAX_REQUEST_BYTES`]
    /// ([`respond`] and [`initiate`] do).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(b"AMQ", SYNC_VERSION);
        match self {
            Request::Reconcile(ranges) => {
                w.u8(0);
                write_ranges(&mut w, ranges);
            }
            Request::Fetch(wants) => {
                w.u8(1);
                w.count(wants.len());
                for want in wants {
                    w.bytes(&want.key);
                    w.count(want.have.len());
                    for h in &want.have {
                        w.bytes(&h.0);
                    }
                }
            }
        }
        w.finish()
    }

    /// Decodes and checks a request.
    pub fn decode(bytes: &[u8]) -> Result<Self, SyncError> {
        too_large("request", bytes.len(), MAX_REQUEST_BYTES)?;
        let (mut r, _v) = Reader::open(bytes, b"AMQ", "a sync request", SYNC_VERSION)?;
        let req = match r.u8("request type")? {
            0 => Request::Reconcile(read_ranges(&mut r)?),
            1 => {
                let n = read_count(&mut r, "wants", MAX_WANTS)?;
                let mut wants = Vec::with_capacity(n);
                for _ in 0..n {
                    let key = r.array::<32>("wanted key")?;
                    let m = read_count(&mut r, "heads", MAX_HAVE)?;
                    let mut have = Vec::with_capacity(m.min(64));
                    for _ in 0..m {
                        have.push(ChangeHash(r.array::<32>("head")?));
                    }
                    wants.push(Want { key, have });
                }
                Request::Fetch(wants)
            }
            t => return Err(unknown_tag("request type", t)),
        };
        r.finish()?;
        Ok(req)
    }
}

fn write_object(w: &mut Writer, o: &Object) {
    match o {
        Object::Doc {
            header,
            changes,
            certs,
        } => {
            w.u8(0);
            write_doc_body(w, header, changes, certs);
        }
        Object::Stored {
            header,
            changes,
            certs,
        } => {
            w.u8(0);
            write_stored_body(w, header, changes, certs);
        }
        Object::Cert(c) => {
            w.u8(1);
            write_cert(w, c);
        }
        Object::Missing(k) => {
            w.u8(2).bytes(k);
        }
    }
}

fn cut_message(s: &str) -> &str {
    if s.len() <= MAX_REFUSAL_BYTES {
        return s;
    }
    let mut end = MAX_REFUSAL_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl Response {
    /// Versioned encoding (`AMP` v1). Callers keep it within [`MAX_RESPONSE_BYTES`];
    /// a refusal message is cut to [`MAX_REFUSAL_BYTES`].
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(b"AMP", SYNC_VERSION);
        match self {
            Response::Reconcile(ranges) => {
                w.u8(0);
                write_ranges(&mut w, ranges);
            }
            Response::Fetched(objects) => {
                w.u8(1);
                w.count(objects.len());
                for o in objects {
                    write_object(&mut w, o);
                }
            }
            Response::Refused { code, message } => {
                w.u8(2).u8(code.tag()).var(cut_message(message).as_bytes());
            }
        }
        w.finish()
    }

    /// Decodes and checks a response.
    pub fn decode(bytes: &[u8]) -> Result<Self, SyncError> {
        too_large("response", bytes.len(), MAX_RESPONSE_BYTES)?;
        let (mut r, _v) = Reader::open(bytes, b"AMP", "a sync response", SYNC_VERSION)?;
        let res = match r.u8("response type")? {
            0 => Response::Reconcile(read_ranges(&mut r)?),
            1 => {
                let n = read_count(&mut r, "objects", MAX_OBJECTS)?;
                let mut objects = Vec::with_capacity(n.min(64));
                for _ in 0..n {
                    objects.push(match r.u8("object type")? {
                        0 => {
                            let (header, changes, certs) = read_doc_body(&mut r)?;
                            Object::Doc {
                                header,
                                changes,
                                certs,
                            }
                        }
                        1 => Object::Cert(read_cert(&mut r)?),
                        2 => Object::Missing(r.array::<32>("missing key")?),
                        t => return Err(unknown_tag("object type", t)),
                    });
                }
                Response::Fetched(objects)
            }
            2 => {
                let tag = r.u8("refusal code")?;
                let code =
                    RefusalCode::from_tag(tag).ok_or_else(|| unknown_tag("refusal code", tag))?;
                let message = r.var("refusal message", MAX_REFUSAL_BYTES)?;
                let message =
                    String::from_utf8(message.to_vec()).map_err(|_| DecodeError::Invalid {
                        what: "refusal message",
                        reason: "not UTF-8".into(),
                    })?;
                Response::Refused { code, message }
            }
            t => return Err(unknown_tag("response type", t)),
        };
        r.finish()?;
        Ok(res)
    }
}

impl Gossip {
    /// Versioned encoding (`AMG` v1). Callers keep it within [`MAX_GOSSIP_BYTES`] (e.g. by
    /// announcing without changes, so that peers fetch them).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(b"AMG", SYNC_VERSION);
        match self {
            Gossip::Announce(a) => {
                w.u8(0);
                write_doc_body(&mut w, &a.header, &a.changes, &a.certs);
            }
            Gossip::Cert(c) => {
                w.u8(1);
                write_cert(&mut w, c);
            }
        }
        w.finish()
    }

    /// The header of the document an announcement is about, read without decoding or
    /// verifying anything else (`None` for a certificate or a malformed message). Lets a
    /// node turn away a document it would not keep before paying for signatures.
    pub fn peek_header(bytes: &[u8]) -> Option<DocHeader> {
        if bytes.len() > MAX_GOSSIP_BYTES {
            return None;
        }
        let (mut r, _v) = Reader::open(bytes, b"AMG", "a gossip message", SYNC_VERSION).ok()?;
        if r.u8("gossip type").ok()? != 0 {
            return None;
        }
        DocHeader::decode(r.var("document header", MAX_HEADER_BYTES).ok()?).ok()
    }

    /// Decodes and checks a gossip message.
    pub fn decode(bytes: &[u8]) -> Result<Self, SyncError> {
        too_large("gossip message", bytes.len(), MAX_GOSSIP_BYTES)?;
        let (mut r, _v) = Reader::open(bytes, b"AMG", "a gossip message", SYNC_VERSION)?;
        let g = match r.u8("gossip type")? {
            0 => {
                let (header, changes, certs) = read_doc_body(&mut r)?;
                Gossip::Announce(Announce {
                    header,
                    changes,
                    certs,
                })
            }
            1 => Gossip::Cert(read_cert(&mut r)?),
            t => return Err(unknown_tag("gossip type", t)),
        };
        r.finish()?;
        Ok(g)
    }
}

#[cfg(test)]
mod tests;
