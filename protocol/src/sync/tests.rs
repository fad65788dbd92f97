use std::collections::BTreeSet;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ROOT};
use proptest::prelude::*;

use super::*;
use crate::change::{ReplicaId, actor_id};
use crate::identity::{CertError, Delegation, Keypair, Revocation, Scope};
use crate::ids::OrgId;
use crate::schema::UnixTime;

// ---------------------------------------------------------------------------------------
// Helpers

fn sha(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// A key whose first byte is `b`, the rest zero.
fn k(b: u8) -> Key {
    let mut k = [0u8; 32];
    k[0] = b;
    k
}

fn fp_range(lower: Key, upper: Option<Key>) -> Range {
    Range {
        lower,
        upper,
        mode: Mode::Fingerprint([0; 16]),
    }
}

fn random_key(seed: u64, i: u64) -> Key {
    sha(&[b"key", &seed.to_be_bytes(), &i.to_be_bytes()])
}

fn value(seed: u64, i: u64, variant: u8) -> Value {
    sha(&[b"value", &seed.to_be_bytes(), &i.to_be_bytes(), &[variant]])
}

fn random_inventory(seed: u64, n: u64) -> Inventory {
    (0..n)
        .map(|i| (random_key(seed, i), value(seed, i, 0)))
        .collect()
}

/// The keys where `peer` has an item that `me` lacks or holds with another value.
fn expected_need(me: &Inventory, peer: &Inventory) -> BTreeSet<Key> {
    peer.iter()
        .filter(|(k, v)| me.get(k) != Some(v))
        .map(|(k, _)| *k)
        .collect()
}

#[derive(Debug, Default)]
struct Session {
    need_a: Vec<Key>,
    need_b: Vec<Key>,
    messages: usize,
    bytes: usize,
    largest: usize,
}

impl Session {
    /// Encodes a message as it travels (A sends requests, B sends responses), checks that
    /// it decodes to itself and fits, and counts it.
    fn record(&mut self, ranges: &[Range], from_a: bool, lim: &Limits) {
        assert!(ranges.len() <= lim.max_ranges);
        let as_request = Request::Reconcile(ranges.to_vec()).encode();
        assert!(
            as_request.len() <= lim.max_bytes,
            "{} > {}",
            as_request.len(),
            lim.max_bytes
        );
        let len = if from_a {
            assert_eq!(
                Request::decode(&as_request).unwrap(),
                Request::Reconcile(ranges.to_vec())
            );
            as_request.len()
        } else {
            let bytes = Response::Reconcile(ranges.to_vec()).encode();
            assert_eq!(
                Response::decode(&bytes).unwrap(),
                Response::Reconcile(ranges.to_vec())
            );
            bytes.len()
        };
        self.messages += 1;
        self.bytes += len;
        self.largest = self.largest.max(len);
    }
}

/// A runs `initiate`; then B and A alternately `respond` until a reply is empty.
fn session(a: &Inventory, b: &Inventory, lim: Limits, max_messages: usize) -> Session {
    let mut s = Session::default();
    let mut msg = initiate_with(a, lim);
    s.record(&msg, true, &lim);
    let mut at_b = true;
    loop {
        let (inv, need) = if at_b {
            (b, &mut s.need_b)
        } else {
            (a, &mut s.need_a)
        };
        let step = respond_with(inv, &msg, lim).unwrap();
        let peer = if at_b { a } else { b };
        for (key, value) in &step.need {
            assert_eq!(
                peer.get(key),
                Some(value),
                "a need carries the peer's value"
            );
        }
        need.extend(step.need.into_iter().map(|(key, _)| key));
        if step.reply.is_empty() {
            break;
        }
        s.record(&step.reply, !at_b, &lim);
        assert!(
            s.messages <= max_messages,
            "session did not end within {max_messages} messages"
        );
        msg = step.reply;
        at_b = !at_b;
    }
    s
}

fn check_session(a: &Inventory, b: &Inventory, lim: Limits, max_messages: usize) -> Session {
    let s = session(a, b, lim, max_messages);
    let set_a: BTreeSet<Key> = s.need_a.iter().copied().collect();
    let set_b: BTreeSet<Key> = s.need_b.iter().copied().collect();
    assert_eq!(set_a, expected_need(a, b), "A's need");
    assert_eq!(set_b, expected_need(b, a), "B's need");
    s
}

/// Smallest `k ≥ 1` with `16^k ≥ n`.
fn ceil_log16(n: usize) -> usize {
    let mut k = 1;
    let mut p = 16usize;
    while p < n {
        p *= 16;
        k += 1;
    }
    k
}

#[derive(Debug, Clone)]
struct Pair {
    seed: u64,
    shared: u64,
    only_a: u64,
    only_b: u64,
    changed: u64,
    clustered: bool,
    edges: u8,
}

impl Pair {
    fn key(&self, i: u64) -> Key {
        if self.clustered {
            // Long common prefixes and trailing zeros: exercises separators and bounds.
            let mut k = [0x5a; 32];
            k[24..].copy_from_slice(&(i * 64).to_be_bytes());
            k
        } else {
            random_key(self.seed, i)
        }
    }

    fn build(&self) -> (Inventory, Inventory) {
        let mut a = Inventory::new();
        let mut b = Inventory::new();
        let mut i = 0u64;
        for _ in 0..self.shared {
            let v = if i.is_multiple_of(7) {
                CERT_VALUE
            } else {
                value(self.seed, i, 0)
            };
            a.insert(self.key(i), v);
            b.insert(self.key(i), v);
            i += 1;
        }
        for _ in 0..self.only_a {
            a.insert(self.key(i), value(self.seed, i, 0));
            i += 1;
        }
        for _ in 0..self.only_b {
            b.insert(self.key(i), value(self.seed, i, 0));
            i += 1;
        }
        for _ in 0..self.changed {
            a.insert(self.key(i), value(self.seed, i, 1));
            b.insert(self.key(i), value(self.seed, i, 2));
            i += 1;
        }
        // The extreme keys of the key space.
        for (bit, on_a, key, variant) in [
            (1, true, [0u8; 32], 1),
            (2, false, [0u8; 32], 1),
            (4, true, [0xffu8; 32], 1),
            (8, false, [0xffu8; 32], 2),
        ] {
            if self.edges & bit != 0 {
                let inv = if on_a { &mut a } else { &mut b };
                inv.insert(key, value(self.seed, u64::MAX, variant));
            }
        }
        (a, b)
    }
}

fn pair_strategy(max_shared: u64, max_diff: u64) -> impl Strategy<Value = Pair> {
    (
        any::<u64>(),
        0..max_shared,
        prop_oneof![0..4u64, 0..max_diff],
        prop_oneof![0..4u64, 0..max_diff],
        prop_oneof![0..4u64, 0..max_diff / 4 + 1],
        any::<bool>(),
        any::<u8>(),
    )
        .prop_map(
            |(seed, shared, only_a, only_b, changed, clustered, edges)| Pair {
                seed,
                shared,
                only_a,
                only_b,
                changed,
                clustered,
                edges,
            },
        )
}

const TINY: Limits = Limits {
    branching: 4,
    threshold: 3,
    max_ranges: 12,
    max_idlist: 5,
    max_bytes: 1200,
};

// ---------------------------------------------------------------------------------------
// Digests and fingerprints

#[test]
fn heads_digest_ignores_order_and_duplicates() {
    let h1 = ChangeHash([1; 32]);
    let h2 = ChangeHash([2; 32]);
    let d = heads_digest(&[h2, h1]);
    assert_eq!(d, heads_digest(&[h1, h2]));
    assert_eq!(d, heads_digest(&[h1, h2, h1]));
    assert_eq!(
        d,
        sha(&[b"allmende/v1/heads\0", &[1; 32], &[2; 32]]),
        "the definition"
    );
    assert_ne!(d, heads_digest(&[h1]));
    assert_eq!(heads_digest(&[]), sha(&[b"allmende/v1/heads\0"]));
}

#[test]
fn cert_key_is_domain_separated() {
    assert_eq!(
        cert_key(b"abc"),
        sha(&[b"allmende/v1/cert\0", b"abc"]),
        "the definition"
    );
    assert_ne!(cert_key(b""), heads_digest(&[]));
    let c = Cert::Delegation(delegation());
    assert_eq!(c.key(), cert_key(&delegation().encode()));
}

#[test]
fn fingerprint_follows_its_definition() {
    // Empty set: count 0, sum 0.
    let empty = sha(&[b"allmende/v1/fp\0", &[0; 8], &[0; 32]]);
    assert_eq!(Inventory::new().fingerprint(&[0; 32], None), empty[..16]);
    // Two items: the sum of their hashes as 256-bit big-endian integers.
    let items = [([1u8; 32], [2u8; 32]), ([3u8; 32], [4u8; 32])];
    let h1 = sha(&[&items[0].0, &items[0].1]);
    let h2 = sha(&[&items[1].0, &items[1].1]);
    let mut sum = [0u8; 32];
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let s = u16::from(h1[i]) + u16::from(h2[i]) + carry;
        sum[i] = s as u8;
        carry = s >> 8;
    }
    let expected = sha(&[b"allmende/v1/fp\0", &2u64.to_be_bytes(), &sum]);
    let inv: Inventory = items.iter().copied().collect();
    assert_eq!(inv.fingerprint(&[0; 32], None), expected[..16]);
    // Independent of order.
    let rev: Vec<(&Key, &Value)> = items.iter().rev().map(|(k, v)| (k, v)).collect();
    assert_eq!(fingerprint(rev), expected[..16]);
    // A range holding only the first item.
    assert_eq!(
        inv.fingerprint(&[0; 32], Some(&[2; 32])),
        fingerprint([(&items[0].0, &items[0].1)])
    );
}

#[test]
fn sum_carries_across_limbs_and_wraps() {
    let mut s = Sum::from_be_bytes(&[0xff; 32]);
    s.add(&Sum::from_be_bytes(&[0; 32]));
    assert_eq!(s.to_be_bytes(), [0xff; 32]);
    let mut one = [0u8; 32];
    one[31] = 1;
    s.add(&Sum::from_be_bytes(&one));
    assert_eq!(s.to_be_bytes(), [0; 32], "2^256 - 1 + 1 wraps to 0");
    let mut x = [0u8; 32];
    x[24] = 0xff;
    x[31] = 0xff;
    let mut s = Sum::from_be_bytes(&x);
    s.add(&Sum::from_be_bytes(&x));
    let mut expected = [0u8; 32];
    expected[23] = 1;
    expected[24] = 0xfe;
    expected[30] = 1;
    expected[31] = 0xfe;
    assert_eq!(s.to_be_bytes(), expected);
}

#[test]
fn inventory_basics() {
    let mut inv = Inventory::new();
    assert!(inv.is_empty());
    assert_eq!(inv.insert(k(1), [1; 32]), None);
    assert_eq!(inv.insert(k(1), [2; 32]), Some([1; 32]));
    inv.insert(k(0), [3; 32]);
    assert_eq!(inv.len(), 2);
    assert_eq!(inv.get(&k(1)), Some(&[2; 32]));
    let keys: Vec<Key> = inv.iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, vec![k(0), k(1)]);
    let before = inv.fingerprint(&[0; 32], None);
    assert_eq!(inv.remove(&k(1)), Some([2; 32]));
    assert_eq!(inv.remove(&k(1)), None);
    assert_ne!(inv.fingerprint(&[0; 32], None), before);
    inv.insert(k(1), [2; 32]);
    assert_eq!(inv.fingerprint(&[0; 32], None), before);
}

#[test]
fn separator_is_short_and_between() {
    let a = k(0x10);
    let mut b = k(0x10);
    b[5] = 7;
    b[9] = 1;
    let s = separator(&a, &b);
    assert!(a < s && s <= b);
    assert_eq!(&s[..6], &b[..6]);
    assert_eq!(&s[6..], &[0; 26]);
    assert_eq!(separator(&k(1), &k(2)), k(2));
}

// ---------------------------------------------------------------------------------------
// Reconciliation

#[test]
fn equal_inventories_end_after_one_message() {
    for n in [0, 5, 16, 17, 3000] {
        let a = random_inventory(1, n);
        let s = check_session(&a, &a.clone(), LIMITS, 1);
        assert_eq!(s.messages, 1);
        assert!(s.need_a.is_empty() && s.need_b.is_empty());
    }
}

#[test]
fn differing_fingerprint_is_split_covering_the_range_exactly() {
    let inv = random_inventory(2, 1000);
    for (lower, upper) in [([0u8; 32], None), (k(0x20), Some(k(0xc0)))] {
        let step = respond(&inv, &[fp_range(lower, upper)]).unwrap();
        assert!(step.need.is_empty());
        assert_eq!(step.reply.len(), BRANCHING);
        assert_eq!(step.reply[0].lower, lower);
        assert_eq!(step.reply[BRANCHING - 1].upper, upper);
        for w in step.reply.windows(2) {
            assert_eq!(w[0].upper, Some(w[1].lower), "sub-ranges are contiguous");
        }
        let in_range = |key: &Key| *key >= lower && upper.is_none_or(|u| *key < u);
        let total = inv.iter().filter(|(key, _)| in_range(key)).count();
        for r in &step.reply {
            let Mode::Fingerprint(fp) = r.mode else {
                panic!("expected fingerprints")
            };
            assert_eq!(fp, inv.fingerprint(&r.lower, r.upper.as_ref()));
            let count = inv
                .iter()
                .filter(|(key, _)| {
                    **key >= r.lower && r.upper.is_none_or(|u| **key < u) && in_range(key)
                })
                .count();
            assert!(
                count.abs_diff(total / BRANCHING) <= 1,
                "split by item count"
            );
        }
    }
}

#[test]
fn small_range_is_answered_with_the_id_list() {
    let inv: Inventory = [(k(1), [1; 32]), (k(2), [2; 32])].into_iter().collect();
    let step = respond(&inv, &[fp_range([0; 32], Some(k(9)))]).unwrap();
    assert_eq!(
        step.reply,
        vec![Range {
            lower: [0; 32],
            upper: Some(k(9)),
            mode: Mode::IdList(vec![(k(1), [1; 32]), (k(2), [2; 32])]),
        }]
    );
    // The peer holds k(2) with another value and k(3), lacks k(1).
    let peer: Inventory = [(k(2), [7; 32]), (k(3), [3; 32])].into_iter().collect();
    let answer = respond(&peer, &step.reply).unwrap();
    assert_eq!(answer.need, vec![(k(1), [1; 32]), (k(2), [2; 32])]);
    assert_eq!(answer.reply.len(), 1);
    assert_eq!(
        answer.reply[0].mode,
        Mode::Items(vec![(k(2), [7; 32]), (k(3), [3; 32])])
    );
    let last = respond(&inv, &answer.reply).unwrap();
    assert_eq!(last.need, vec![(k(2), [7; 32]), (k(3), [3; 32])]);
    assert!(last.reply.is_empty(), "items are final");
}

#[test]
fn empty_side_learns_everything_at_once() {
    let full = random_inventory(3, 500);
    let empty = Inventory::new();
    let s = check_session(&empty, &full, LIMITS, 3);
    assert_eq!(s.messages, 2, "IdList([]) then Items");
    let s = check_session(&full, &empty, LIMITS, 4);
    assert_eq!(s.messages, 3, "fingerprint, IdList([]), Items");
}

#[test]
fn large_difference_is_cut_to_fit_the_message_limit() {
    // 20,000 items of 64 bytes do not fit into one 1 MiB message.
    let full = random_inventory(4, 20_000);
    let empty = Inventory::new();
    let s = check_session(&full, &empty, LIMITS, 10);
    assert!(s.largest <= MAX_REQUEST_BYTES);
    assert!(s.messages > 3, "the items took more than one message");
    assert_eq!(s.need_b.len(), 20_000, "no key twice");
}

#[test]
fn bytes_grow_with_the_difference_not_the_catalog() {
    let mut measured = Vec::new();
    for n in [1_000u64, 10_000, 100_000] {
        let a = random_inventory(5, n);
        // One item missing on B; one item with another value on B.
        let mut missing = a.clone();
        missing.remove(&random_key(5, n / 3));
        let mut changed = a.clone();
        changed.insert(random_key(5, n / 2), [9; 32]);
        let mut sizes = Vec::new();
        for b in [&missing, &changed] {
            let s = check_session(&a, b, LIMITS, 2 * ceil_log16(n as usize) + 4);
            let everything = n as usize * 64;
            assert!(
                s.bytes * 20 < everything,
                "{} bytes for n = {n}: not below 5% of {everything}",
                s.bytes
            );
            sizes.push((s.bytes, s.messages));
        }
        eprintln!(
            "n = {n}: (bytes, messages) missing {:?}, changed {:?}",
            sizes[0], sizes[1]
        );
        measured.push(sizes);
    }
    for w in measured.windows(2) {
        for (small, large) in w[0].iter().zip(&w[1]) {
            // Ten times the catalog costs at most a couple of extra rounds, not ten times
            // the bytes.
            assert!(large.0 < 2 * small.0, "{measured:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Each side ends up needing exactly what the other has and it lacks, within the
    /// logarithmic number of rounds.
    #[test]
    fn session_finds_exactly_the_difference(pair in pair_strategy(2000, 2000)) {
        let (a, b) = pair.build();
        let n = a.len().max(b.len());
        let bound = 2 * ceil_log16(n) + 4;
        let s = check_session(&a, &b, LIMITS, bound);
        // Without cuts, nothing is reported twice.
        let set_a: BTreeSet<Key> = s.need_a.iter().copied().collect();
        let set_b: BTreeSet<Key> = s.need_b.iter().copied().collect();
        prop_assert_eq!(set_a.len(), s.need_a.len());
        prop_assert_eq!(set_b.len(), s.need_b.len());
        // Symmetric: B initiating finds the same.
        check_session(&b, &a, LIMITS, bound);
    }

    /// With tiny limits replies are cut all the time; sessions still end with the exact
    /// difference and every message within the limits.
    #[test]
    fn session_under_tiny_limits_still_converges(pair in pair_strategy(300, 300)) {
        let (a, b) = pair.build();
        check_session(&a, &b, TINY, 5000);
        check_session(&b, &a, TINY, 5000);
    }
}

#[test]
fn tiny_limits_with_everything_different() {
    let a = random_inventory(6, 400);
    let b: Inventory = a.iter().map(|(k, _)| (*k, [1; 32])).collect();
    let s = check_session(&a, &b, TINY, 5000);
    assert!(s.largest <= TINY.max_bytes);
    let s = check_session(&a, &Inventory::new(), TINY, 5000);
    assert!(s.messages > 10);
}

// ---------------------------------------------------------------------------------------
// Validation

fn refused(ranges: &[Range]) -> String {
    match respond(&random_inventory(7, 50), ranges) {
        Err(SyncError::Invalid(reason)) => reason,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn respond_refuses_malformed_ranges() {
    let items = |keys: &[Key]| keys.iter().map(|k| (*k, [0u8; 32])).collect::<Vec<_>>();
    let r = |lower: Key, upper: Option<Key>, mode: Mode| Range { lower, upper, mode };

    assert!(refused(&[fp_range(k(5), Some(k(6))), fp_range(k(1), Some(k(2)))]).contains("range 1"));
    assert!(
        refused(&[fp_range(k(1), Some(k(5))), fp_range(k(3), Some(k(8)))]).contains("overlaps")
    );
    refused(&[fp_range(k(3), Some(k(3)))]);
    refused(&[fp_range(k(4), Some(k(3)))]);
    refused(&[fp_range(k(1), None), fp_range(k(3), Some(k(4)))]);
    refused(&[fp_range(k(1), None), fp_range(k(3), None)]);
    // Unsorted and duplicate item lists.
    refused(&[r(k(0), None, Mode::IdList(items(&[k(3), k(2)])))]);
    refused(&[r(k(0), None, Mode::IdList(items(&[k(2), k(2)])))]);
    refused(&[r(k(0), None, Mode::Items(items(&[k(3), k(2)])))]);
    // Items outside their range.
    assert!(refused(&[r(k(2), Some(k(5)), Mode::IdList(items(&[k(1)])))]).contains("outside"));
    refused(&[r(k(2), Some(k(5)), Mode::IdList(items(&[k(5)])))]);
    refused(&[r(k(2), Some(k(5)), Mode::Items(items(&[k(4), k(6)])))]);
    // Too many ranges, too many items.
    let many: Vec<Range> = (0..=MAX_RANGES as u32)
        .map(|i| {
            let mut lower = [0u8; 32];
            lower[..4].copy_from_slice(&(2 * i).to_be_bytes());
            let mut upper = lower;
            upper[3] += 1;
            fp_range(lower, Some(upper))
        })
        .collect();
    assert!(refused(&many).contains("limit"));
    respond(&Inventory::new(), &many[..MAX_RANGES]).unwrap();
    let long: Vec<(Key, Value)> = (0..=MAX_IDLIST as u32)
        .map(|i| (random_key(8, u64::from(i)), [0; 32]))
        .collect::<BTreeMap<_, _>>()
        .into_iter()
        .collect();
    refused(&[r(k(0), None, Mode::IdList(long.clone()))]);
    respond(
        &Inventory::new(),
        &[r(k(0), None, Mode::IdList(long[1..].to_vec()))],
    )
    .unwrap();
    // Well-formed edge cases pass: adjacent ranges, empty lists, the full key space.
    respond(
        &Inventory::new(),
        &[
            fp_range(k(0), Some(k(1))),
            r(k(1), Some(k(2)), Mode::Items(vec![])),
            r(k(2), None, Mode::IdList(items(&[k(2), [0xff; 32]]))),
        ],
    )
    .unwrap();
    respond(&Inventory::new(), &[]).unwrap();
}

// ---------------------------------------------------------------------------------------
// Messages

fn kp(seed: u8) -> Keypair {
    Keypair::from_secret_bytes(&[seed; 32]).unwrap()
}

fn org(seed: u8) -> OrgId {
    OrgId::from_root_key(kp(seed).public())
}

fn delegation() -> SignedDelegation {
    Delegation {
        issuer: org(1),
        delegate: kp(2).public(),
        scope: Scope::all(),
        not_before: UnixTime(100),
        not_after: UnixTime(200),
    }
    .sign(&kp(1))
    .unwrap()
}

fn revocation() -> SignedRevocation {
    Revocation {
        issuer: kp(2).public(),
        subject: kp(2).public(),
        effective: UnixTime(150),
        reason: "Schlüssel verloren".into(),
    }
    .sign(&kp(2))
    .unwrap()
}

fn header() -> DocHeader {
    DocHeader::product(org(1), [7; 16])
}

/// Two signed changes of [`header`]'s document, the second depending on the first.
fn changes(header: &DocHeader) -> Vec<SignedChange> {
    let mut doc = AutoCommit::new();
    doc.set_actor(ActorId::from(
        actor_id(&kp(1).public(), &ReplicaId([3; 16])).as_slice(),
    ));
    let mut out = Vec::new();
    for (i, text) in ["\"XBau\"", "\"XBau-Antragsdienst\""].iter().enumerate() {
        doc.put(ROOT, "name", *text).unwrap();
        let hash = doc
            .commit_with(CommitOptions::default().with_time(1_700_000_000 + i as i64))
            .unwrap();
        let change = doc.get_change_by_hash(&hash).unwrap();
        out.push(SignedChange::sign(&kp(1), header.id(), change));
    }
    out
}

fn doc_object() -> Object {
    Object::Doc {
        header: header(),
        changes: changes(&header()),
        certs: vec![
            Cert::Delegation(delegation()),
            Cert::Revocation(revocation()),
        ],
    }
}

fn sample_ranges() -> Vec<Range> {
    let mut bound = [0u8; 32];
    bound[..3].copy_from_slice(&[0x12, 0x00, 0x34]);
    vec![
        fp_range([0; 32], Some(k(0x10))),
        Range {
            lower: k(0x10),
            upper: Some(bound),
            mode: Mode::IdList(vec![(k(0x11), [1; 32]), ([0x11; 32], [2; 32])]),
        },
        Range {
            lower: k(0x40),
            upper: Some([0xfe; 32]),
            mode: Mode::Items(vec![]),
        },
        Range {
            lower: [0xff; 32],
            upper: None,
            mode: Mode::Fingerprint([9; 16]),
        },
    ]
}

fn sample_requests() -> Vec<Request> {
    vec![
        Request::Reconcile(vec![]),
        Request::Reconcile(sample_ranges()),
        Request::Reconcile(initiate(&random_inventory(9, 100))),
        Request::Fetch(vec![]),
        Request::Fetch(vec![
            Want {
                key: [1; 32],
                have: vec![],
            },
            Want {
                key: [2; 32],
                have: vec![ChangeHash([3; 32]), ChangeHash([4; 32])],
            },
        ]),
    ]
}

fn sample_responses() -> Vec<Response> {
    vec![
        Response::Reconcile(sample_ranges()),
        Response::Fetched(vec![]),
        Response::Fetched(vec![
            doc_object(),
            Object::Doc {
                header: DocHeader::singleton(crate::doc::DocKind::Profile, org(2)),
                changes: vec![],
                certs: vec![],
            },
            Object::Cert(Cert::Revocation(revocation())),
            Object::Missing([5; 32]),
        ]),
        Response::Refused {
            code: RefusalCode::RateLimited,
            message: "zu viele Anfragen".into(),
        },
        Response::Refused {
            code: RefusalCode::TooLarge,
            message: String::new(),
        },
        Response::Refused {
            code: RefusalCode::Malformed,
            message: "x".into(),
        },
        Response::Refused {
            code: RefusalCode::Busy,
            message: "ä".into(),
        },
    ]
}

fn sample_gossip() -> Vec<Gossip> {
    vec![
        Gossip::Announce(Announce {
            header: header(),
            changes: changes(&header()),
            certs: vec![Cert::Delegation(delegation())],
        }),
        Gossip::Announce(Announce {
            header: header(),
            changes: vec![],
            certs: vec![],
        }),
        Gossip::Cert(Cert::Delegation(delegation())),
        Gossip::Cert(Cert::Revocation(revocation())),
    ]
}

/// Every encoding of the samples, with a decoder that reports only success or failure.
type Check = fn(&[u8]) -> Result<(), SyncError>;

fn all_encodings() -> &'static [(Vec<u8>, Check)] {
    static ENCODINGS: std::sync::OnceLock<Vec<(Vec<u8>, Check)>> = std::sync::OnceLock::new();
    ENCODINGS.get_or_init(encode_samples)
}

fn encode_samples() -> Vec<(Vec<u8>, Check)> {
    let mut out: Vec<(Vec<u8>, Check)> = Vec::new();
    for r in sample_requests() {
        out.push((r.encode(), |b| Request::decode(b).map(drop)));
    }
    for r in sample_responses() {
        out.push((r.encode(), |b| Response::decode(b).map(drop)));
    }
    for g in sample_gossip() {
        out.push((g.encode(), |b| Gossip::decode(b).map(drop)));
    }
    out
}

#[test]
fn messages_round_trip() {
    for r in sample_requests() {
        assert_eq!(Request::decode(&r.encode()).unwrap(), r);
    }
    for r in sample_responses() {
        assert_eq!(Response::decode(&r.encode()).unwrap(), r);
    }
    for g in sample_gossip() {
        assert_eq!(Gossip::decode(&g.encode()).unwrap(), g);
    }
    for c in [
        Cert::Delegation(delegation()),
        Cert::Revocation(revocation()),
    ] {
        assert_eq!(Cert::decode(&c.encode()).unwrap(), c);
    }
    assert_eq!(doc_object().key(), *header().id().as_bytes());
    assert_eq!(Object::Missing([5; 32]).key(), [5; 32]);
    assert_eq!(
        Object::Cert(Cert::Revocation(revocation())).key(),
        cert_key(&revocation().encode())
    );
}

#[test]
fn encodings_are_pinned() {
    // A reconciliation request: magic, version, tag, count, then per range the flags, the
    // bounds with their trailing zeros removed, and the payload.
    let bytes = Request::Reconcile(vec![
        Range {
            lower: [0; 32],
            upper: Some(k(0x12)),
            mode: Mode::Fingerprint([7; 16]),
        },
        Range {
            lower: k(0x12),
            upper: None,
            mode: Mode::IdList(vec![([0xaa; 32], [0xbb; 32])]),
        },
        Range {
            lower: [0xff; 32],
            upper: None,
            mode: Mode::Items(vec![]),
        },
    ])
    .encode();
    let mut expected = b"AMQ\x01\x00\x00\x00\x00\x03".to_vec();
    expected.extend_from_slice(&[0x04, 0x01, 0x12]);
    expected.extend_from_slice(&[7; 16]);
    expected.extend_from_slice(&[0x0d, 0, 0, 0, 1]);
    expected.extend_from_slice(&[0xaa; 32]);
    expected.extend_from_slice(&[0xbb; 32]);
    expected.extend_from_slice(&[0x0a, 32]);
    expected.extend_from_slice(&[0xff; 32]);
    expected.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(hex::encode(&bytes), hex::encode(&expected));

    let bytes = Request::Fetch(vec![Want {
        key: [1; 32],
        have: vec![ChangeHash([2; 32])],
    }])
    .encode();
    let mut expected = b"AMQ\x01\x01\x00\x00\x00\x01".to_vec();
    expected.extend_from_slice(&[1; 32]);
    expected.extend_from_slice(&[0, 0, 0, 1]);
    expected.extend_from_slice(&[2; 32]);
    assert_eq!(bytes, expected);

    let bytes = Response::Refused {
        code: RefusalCode::Malformed,
        message: "abc".into(),
    }
    .encode();
    assert_eq!(bytes, b"AMP\x01\x02\x02\x00\x00\x00\x03abc");

    let bytes = Response::Fetched(vec![
        Object::Missing([5; 32]),
        Object::Cert(Cert::Delegation(delegation())),
    ])
    .encode();
    let d = delegation().encode();
    let mut expected = b"AMP\x01\x01\x00\x00\x00\x02\x02".to_vec();
    expected.extend_from_slice(&[5; 32]);
    expected.push(1);
    expected.extend_from_slice(&(d.len() as u32).to_be_bytes());
    expected.extend_from_slice(&d);
    assert_eq!(bytes, expected);

    let bytes = Gossip::Announce(Announce {
        header: header(),
        changes: changes(&header()),
        certs: vec![],
    })
    .encode();
    let h = header().encode();
    let mut expected = b"AMG\x01\x00".to_vec();
    expected.extend_from_slice(&(h.len() as u32).to_be_bytes());
    expected.extend_from_slice(&h);
    expected.extend_from_slice(&[0, 0, 0, 2]);
    for c in changes(&header()) {
        let c = c.encode();
        expected.extend_from_slice(&(c.len() as u32).to_be_bytes());
        expected.extend_from_slice(&c);
    }
    expected.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(bytes, expected);
}

#[test]
fn refusal_messages_are_cut_at_a_character_boundary() {
    let long = "ä".repeat(MAX_REFUSAL_BYTES); // 2 bytes each
    let r = Response::Refused {
        code: RefusalCode::Busy,
        message: long,
    };
    let Response::Refused { message, .. } = Response::decode(&r.encode()).unwrap() else {
        panic!("expected a refusal")
    };
    assert_eq!(message, "ä".repeat(MAX_REFUSAL_BYTES / 2));
    let odd = format!("a{}", "ä".repeat(MAX_REFUSAL_BYTES));
    let r = Response::Refused {
        code: RefusalCode::Busy,
        message: odd,
    };
    let Response::Refused { message, .. } = Response::decode(&r.encode()).unwrap() else {
        panic!("expected a refusal")
    };
    assert_eq!(message.len(), MAX_REFUSAL_BYTES - 1);
}

fn decode_error(result: Result<(), SyncError>) -> DecodeError {
    match result {
        Err(SyncError::Decode(e)) => e,
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[test]
fn decoders_refuse_truncation_trailing_bytes_and_unknown_versions() {
    for (bytes, decode) in all_encodings() {
        decode(bytes).unwrap();
        for end in 0..bytes.len() {
            assert!(
                decode(&bytes[..end]).is_err(),
                "prefix of {end} bytes accepted"
            );
        }
        let mut long = bytes.to_vec();
        long.push(0);
        assert_eq!(decode_error(decode(&long)), DecodeError::TrailingBytes(1));
        for version in [0u8, 2, 255] {
            let mut v = bytes.to_vec();
            v[3] = version;
            assert!(matches!(
                decode_error(decode(&v)),
                DecodeError::UnknownVersion { found, known: 1, .. } if found == version
            ));
        }
        let mut m = bytes.to_vec();
        m[2] ^= 0x20;
        assert!(matches!(
            decode_error(decode(&m)),
            DecodeError::BadMagic { .. }
        ));
    }
    // One message type is not another.
    let req = Request::Fetch(vec![]).encode();
    assert!(Response::decode(&req).is_err());
    assert!(Gossip::decode(&req).is_err());
}

#[test]
fn decoders_refuse_unknown_tags() {
    let unknown = |r: Result<(), SyncError>| {
        assert!(
            matches!(
                decode_error(r),
                DecodeError::Invalid { ref reason, .. } if reason.starts_with("unknown tag")
            ),
            "not refused as an unknown tag"
        )
    };
    unknown(Request::decode(b"AMQ\x01\x02").map(drop));
    unknown(Response::decode(b"AMP\x01\x03").map(drop));
    unknown(Gossip::decode(b"AMG\x01\x02").map(drop));
    unknown(Response::decode(b"AMP\x01\x01\x00\x00\x00\x01\x03").map(drop));
    unknown(Response::decode(b"AMP\x01\x02\x04\x00\x00\x00\x00").map(drop));
    // Range flags: mode 3, and a bit beyond the known ones.
    unknown(Request::decode(b"AMQ\x01\x00\x00\x00\x00\x01\x0b").map(drop));
    unknown(Request::decode(b"AMQ\x01\x00\x00\x00\x00\x01\x0f").map(drop));
    unknown(Request::decode(b"AMQ\x01\x00\x00\x00\x00\x01\x10").map(drop));
    // A certificate with an unknown magic.
    let mut g = b"AMG\x01\x01\x00\x00\x00\x04".to_vec();
    g.extend_from_slice(b"AMX\x01");
    assert!(matches!(
        decode_error(Gossip::decode(&g).map(drop)),
        DecodeError::BadMagic { .. }
    ));
}

#[test]
fn decoders_refuse_oversized_input_lengths_and_counts() {
    // Whole messages over their limit, refused before anything else is looked at.
    for (len, decode, max) in [
        (
            MAX_REQUEST_BYTES + 1,
            (|b| Request::decode(b).map(drop)) as Check,
            MAX_REQUEST_BYTES,
        ),
        (
            MAX_RESPONSE_BYTES + 1,
            |b| Response::decode(b).map(drop),
            MAX_RESPONSE_BYTES,
        ),
        (
            MAX_GOSSIP_BYTES + 1,
            |b| Gossip::decode(b).map(drop),
            MAX_GOSSIP_BYTES,
        ),
    ] {
        assert!(matches!(
            decode_error(decode(&vec![0; len])),
            DecodeError::TooLarge { len: l, max: m, .. } if l == len && m == max
        ));
    }
    // Length prefixes over their field's limit.
    let too_large =
        |r: Result<(), SyncError>| assert!(matches!(decode_error(r), DecodeError::TooLarge { .. }));
    too_large(Gossip::decode(b"AMG\x01\x01\xff\xff\xff\xff").map(drop));
    let mut refusal = b"AMP\x01\x02\x00".to_vec();
    refusal.extend_from_slice(&(MAX_REFUSAL_BYTES as u32 + 1).to_be_bytes());
    refusal.extend_from_slice(&vec![b'a'; MAX_REFUSAL_BYTES + 1]);
    too_large(Response::decode(&refusal).map(drop));
    // A change length over the limit inside an announcement.
    let h = header().encode();
    let mut g = b"AMG\x01\x00".to_vec();
    g.extend_from_slice(&(h.len() as u32).to_be_bytes());
    g.extend_from_slice(&h);
    g.extend_from_slice(&[0, 0, 0, 1]);
    g.extend_from_slice(&(MAX_SIGNED_CHANGE_BYTES as u32 + 1).to_be_bytes());
    too_large(Gossip::decode(&g).map(drop));
    // A bound longer than a key.
    too_large(Request::decode(b"AMQ\x01\x00\x00\x00\x00\x01\x00\x21").map(drop));

    // Counts over their limits.
    let over = |r: Result<(), SyncError>| {
        assert!(
            matches!(
                decode_error(r),
                DecodeError::Invalid { ref reason, .. } if reason.contains("exceed the limit")
            ),
            "count not refused"
        )
    };
    let want = |n: usize| Want {
        key: [1; 32],
        have: vec![ChangeHash([2; 32]); n],
    };
    over(Request::decode(&Request::Fetch(vec![want(0); MAX_WANTS + 1]).encode()).map(drop));
    Request::decode(&Request::Fetch(vec![want(0); MAX_WANTS]).encode()).unwrap();
    over(Request::decode(&Request::Fetch(vec![want(MAX_HAVE + 1)]).encode()).map(drop));
    Request::decode(&Request::Fetch(vec![want(MAX_HAVE)]).encode()).unwrap();
    let ranges: Vec<Range> = (0..=MAX_RANGES as u32)
        .map(|i| {
            let mut lower = [0u8; 32];
            lower[..4].copy_from_slice(&(i + 1).to_be_bytes());
            fp_range(lower, None)
        })
        .collect();
    over(Request::decode(&Request::Reconcile(ranges).encode()).map(drop));
    let items: Vec<(Key, Value)> = (0..=MAX_IDLIST as u32)
        .map(|i| {
            let mut key = [0u8; 32];
            key[..4].copy_from_slice(&i.to_be_bytes());
            (key, [0; 32])
        })
        .collect();
    let list = |items: Vec<(Key, Value)>| {
        Response::Reconcile(vec![Range {
            lower: [0; 32],
            upper: None,
            mode: Mode::Items(items),
        }])
        .encode()
    };
    over(Response::decode(&list(items.clone())).map(drop));
    Response::decode(&list(items[1..].to_vec())).unwrap();
    let mut fetched = b"AMP\x01\x01".to_vec();
    fetched.extend_from_slice(&(MAX_OBJECTS as u32 + 1).to_be_bytes());
    over(Response::decode(&fetched).map(drop));
    let mut g = b"AMG\x01\x00".to_vec();
    g.extend_from_slice(&(h.len() as u32).to_be_bytes());
    g.extend_from_slice(&h);
    g.extend_from_slice(&(MAX_DOC_CHANGES as u32 + 1).to_be_bytes());
    over(Gossip::decode(&g).map(drop));
    let mut g = b"AMG\x01\x00".to_vec();
    g.extend_from_slice(&(h.len() as u32).to_be_bytes());
    g.extend_from_slice(&h);
    g.extend_from_slice(&[0, 0, 0, 0]);
    g.extend_from_slice(&(MAX_DOC_CERTS as u32 + 1).to_be_bytes());
    over(Gossip::decode(&g).map(drop));
}

#[test]
fn decoders_refuse_non_canonical_and_invalid_content() {
    // A bound with a trailing zero byte.
    let r = Request::decode(b"AMQ\x01\x00\x00\x00\x00\x01\x08\x02\x05\x00");
    assert!(matches!(
        r,
        Err(SyncError::Decode(DecodeError::Invalid { ref reason, .. })) if reason.contains("canonical")
    ));
    // A lower bound spelt out where it should be omitted (the zero key, first range).
    let r = Request::decode(b"AMQ\x01\x00\x00\x00\x00\x01\x08\x00");
    assert!(matches!(
        r,
        Err(SyncError::Decode(DecodeError::Invalid { ref reason, .. })) if reason.contains("canonical")
    ));
    // Well-formed but unsorted ranges.
    let bytes =
        Request::Reconcile(vec![fp_range(k(5), Some(k(6))), fp_range(k(1), Some(k(2)))]).encode();
    assert!(matches!(
        Request::decode(&bytes),
        Err(SyncError::Invalid(_))
    ));
    // A change of another document than the header's.
    let other = DocHeader::product(org(1), [8; 16]);
    let bytes = Gossip::Announce(Announce {
        header: header(),
        changes: changes(&other),
        certs: vec![],
    })
    .encode();
    assert!(matches!(Gossip::decode(&bytes), Err(SyncError::Invalid(_))));
    // A certificate whose signature does not verify.
    let mut d = delegation();
    d.signature[0] ^= 1;
    let bytes = Gossip::Cert(Cert::Delegation(d)).encode();
    assert!(matches!(
        Gossip::decode(&bytes),
        Err(SyncError::Cert(CertError::BadSignature))
    ));
    // A change whose bytes were altered.
    let Gossip::Announce(a) = &sample_gossip()[0] else {
        panic!("expected an announcement")
    };
    let mut bytes = Gossip::Announce(a.clone()).encode();
    let last_change = a.changes[1].encode();
    let pos = bytes
        .windows(last_change.len())
        .position(|w| w == last_change)
        .unwrap();
    bytes[pos + last_change.len() - 1] ^= 0x55;
    assert!(matches!(Gossip::decode(&bytes), Err(SyncError::Change(_))));
    // A refusal message that is not UTF-8.
    assert!(Response::decode(b"AMP\x01\x02\x00\x00\x00\x00\x01\xff").is_err());
}

fn decode_all(bytes: &[u8]) {
    let _ = Request::decode(bytes);
    let _ = Response::decode(bytes);
    let _ = Gossip::decode(bytes);
    let _ = Cert::decode(bytes);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// No input makes a decoder panic.
    #[test]
    fn arbitrary_bytes_never_panic(
        prefix in prop::sample::select(vec![&b""[..], b"AMQ\x01", b"AMP\x01", b"AMG\x01",
            b"AMQ\x01\x00", b"AMQ\x01\x01", b"AMP\x01\x01", b"AMG\x01\x00"]),
        body in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        let bytes = [prefix, &body].concat();
        decode_all(&bytes);
    }

    /// Neither do valid messages with a few bytes changed, and whatever still decodes
    /// re-encodes to the same bytes (encodings are canonical).
    #[test]
    fn mutated_messages_never_panic(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let encodings = all_encodings();
        let (mut bytes, _) = encodings[which.index(encodings.len())].clone();
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        decode_all(&bytes);
        if let Ok(r) = Request::decode(&bytes) {
            prop_assert_eq!(r.encode(), bytes.clone());
        }
        if let Ok(r) = Response::decode(&bytes) {
            prop_assert_eq!(r.encode(), bytes.clone());
        }
        if let Ok(g) = Gossip::decode(&bytes) {
            prop_assert_eq!(g.encode(), bytes);
        }
    }
}

/// The stored bytes of a document's changes go on the wire exactly as the decoded changes do,
/// and come back as an ordinary document.
#[test]
fn a_stored_object_encodes_like_the_document_it_holds() {
    let stored = Object::Stored {
        header: header(),
        changes: changes(&header())
            .iter()
            .map(SignedChange::encode)
            .collect(),
        certs: vec![Cert::Delegation(delegation())],
    };
    let decoded = Object::Doc {
        header: header(),
        changes: changes(&header()),
        certs: vec![Cert::Delegation(delegation())],
    };
    assert_eq!(stored.key(), decoded.key());
    let bytes = Response::Fetched(vec![stored]).encode();
    assert_eq!(bytes, Response::Fetched(vec![decoded.clone()]).encode());
    let Response::Fetched(back) = Response::decode(&bytes).unwrap() else {
        panic!("a fetch answer");
    };
    match &back[..] {
        [Object::Doc { changes, .. }] => assert_eq!(changes.len(), 2),
        o => panic!("expected one document, got {o:?}"),
    }
    assert_eq!(back, vec![decoded]);
}

#[test]
fn an_announcement_shows_its_header_without_being_decoded() {
    for g in sample_gossip() {
        let bytes = g.encode();
        let expected = match &g {
            Gossip::Announce(a) => Some(a.header),
            Gossip::Cert(_) => None,
        };
        assert_eq!(Gossip::peek_header(&bytes), expected);
        // Truncated inside the header, wrong magic, oversized: nothing.
        assert_eq!(Gossip::peek_header(&bytes[..6.min(bytes.len())]), None);
        let mut other = bytes.clone();
        other[0] = b'X';
        assert_eq!(Gossip::peek_header(&other), None);
    }
    // A forged change behind a valid header still shows the header: peeking decides only
    // what not to pay for, never what to keep.
    let g = sample_gossip().remove(0);
    let mut bytes = g.encode();
    let last = bytes.len() - 40;
    bytes[last] ^= 1;
    assert!(Gossip::decode(&bytes).is_err());
    assert_eq!(Gossip::peek_header(&bytes), Some(header()));
    assert_eq!(Gossip::peek_header(&vec![0; MAX_GOSSIP_BYTES + 1]), None);
}
