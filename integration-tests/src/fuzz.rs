//! The bodies of Allmende's fuzz targets, shared by the cargo-fuzz targets in `fuzz/` (run
//! for minutes by `scripts/fuzz.sh`) and their short proptest versions in
//! `tests/fuzz_props.rs` (run by CI).
//!
//! Each target takes arbitrary bytes and panics only when it finds a bug: a decoder or
//! parser that panics, or a property that fails (an encoding that does not re-encode to
//! itself, a record the API accepts that a peer would refuse, …). Hostile input must give an
//! error, never a panic.
//!
//! | target | input | what is checked |
//! |---|---|---|
//! | [`wire`] | raw bytes, or a valid message with byte edits | every decoder of `wire.rs`/`sync.rs`; canonical re-encoding; decoded documents and certificates go through `Repo::ingest` |
//! | [`document`] | a small program of Automerge operations | changes a hostile but *authorised* peer could sign: verify, authorise, apply, index, catalog and integrity check on an in-memory SQLite store |
//! | [`publiccode`] | a `publiccode.yml` file | `publiccode::parse_bytes`; what it accepts validates and exports to a file that parses again |
//! | [`api_body`] | a JSON body | the four write bodies (product, deployment, rating, Nachnutzung report): what validates round-trips through a document and is accepted by a peer; search with the bytes as query text |
//! | [`config`] | a TOML file | `Config::parse` |

// A fuzz target reports a bug by panicking.
#![allow(clippy::panic)]

use std::sync::OnceLock;

use allmende_node::repo::Repo;
use allmende_node::store::{MemStore, SqliteStore};
use allmende_protocol::automerge::transaction::{CommitOptions, Transactable};
use allmende_protocol::automerge::{self, ActorId, AutoCommit, ObjId, ObjType, ROOT, ReadDoc};
use allmende_protocol::change::{MAX_CHANGE_BYTES, ReplicaId, SignedChange, actor_id};
use allmende_protocol::doc::{DocHeader, DocKind, Document, Record};
use allmende_protocol::identity::{
    Delegation, Keypair, Revocation, Scope, SignedDelegation, SignedRevocation,
};
use allmende_protocol::ids::OrgId;
use allmende_protocol::schema::{Deployment, Product, Rating, ReuseReport, UnixTime, Validate};
use allmende_protocol::sync::{
    self, Announce, Cert, Gossip, Inventory, Mode, Object, Range, RefusalCode, Request, Response,
    Want,
};

/// "Now" for every target: 2023-11-14.
pub const T0: i64 = 1_700_000_000;

/// A fuzz target: panics on a bug, returns on anything else.
pub type Target = fn(&[u8]);

/// Every target by name, as `scripts/fuzz.sh` and the fuzz crate name them.
pub const TARGETS: &[(&str, Target)] = &[
    ("wire", wire),
    ("document", document),
    ("publiccode", publiccode),
    ("api_body", api_body),
    ("config", config),
];

fn kp(seed: u8) -> Keypair {
    // A seed of 32 equal non-zero bytes is a valid key.
    match Keypair::from_secret_bytes(&[seed; 32]) {
        Ok(k) => k,
        Err(e) => unreachable!("fixed test key {seed}: {e}"),
    }
}

fn org(k: &Keypair) -> OrgId {
    OrgId::from_root_key(k.public())
}

fn delegation() -> SignedDelegation {
    let d = Delegation {
        issuer: org(&kp(1)),
        delegate: kp(2).public(),
        scope: Scope::all(),
        not_before: UnixTime(T0 - 1000),
        not_after: UnixTime(T0 + 100_000),
    };
    match d.sign(&kp(1)) {
        Ok(d) => d,
        Err(e) => unreachable!("fixed delegation: {e}"),
    }
}

fn revocation() -> SignedRevocation {
    let r = Revocation {
        issuer: kp(4).public(),
        subject: kp(4).public(),
        effective: UnixTime(T0 - 10),
        reason: "Schlüssel verloren".into(),
    };
    match r.sign(&kp(4)) {
        Ok(r) => r,
        Err(e) => unreachable!("fixed revocation: {e}"),
    }
}

/// Reads the fuzz input front to back; past its end every read gives zeros.
struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }
    fn i64(&mut self) -> i64 {
        let mut b = [0u8; 8];
        for x in &mut b {
            *x = self.byte();
        }
        i64::from_be_bytes(b)
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }
    fn string(&mut self) -> String {
        let n = usize::from(self.byte() % 48);
        String::from_utf8_lossy(self.take(n)).into_owned()
    }
}

// ---------------------------------------------------------------------------------------
// wire
// ---------------------------------------------------------------------------------------

/// Valid encodings of every wire object: the starting points of the mutating half of
/// [`wire`], and seeds for the fuzzer's corpus.
pub fn wire_samples() -> &'static [Vec<u8>] {
    static SAMPLES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let header = DocHeader::product(org(&kp(1)), [7; 16]);
        let changes = sample_changes(&header);
        let doc = Object::Doc {
            header,
            changes: changes.clone(),
            certs: vec![Cert::Delegation(delegation())],
        };
        let mut inv = Inventory::new();
        for i in 0u8..40 {
            inv.insert([i; 32], [i.wrapping_mul(7); 32]);
        }
        let ranges = vec![
            Range {
                lower: [0; 32],
                upper: Some([0x10; 32]),
                mode: Mode::IdList(vec![([1; 32], [2; 32]), ([3; 32], [4; 32])]),
            },
            Range {
                lower: [0x10; 32],
                upper: None,
                mode: Mode::Items(vec![([5; 32], [6; 32])]),
            },
        ];
        let mut out = vec![
            Request::Reconcile(sync::initiate(&inv)).encode(),
            Request::Reconcile(ranges.clone()).encode(),
            Request::Fetch(vec![Want {
                key: *header.id().as_bytes(),
                have: vec![changes[0].hash()],
            }])
            .encode(),
            Response::Reconcile(ranges).encode(),
            Response::Fetched(vec![
                doc,
                Object::Cert(Cert::Revocation(revocation())),
                Object::Missing([9; 32]),
            ])
            .encode(),
            Response::Refused {
                code: RefusalCode::Busy,
                message: "später".into(),
            }
            .encode(),
            Gossip::Announce(Announce {
                header,
                changes: changes.clone(),
                certs: vec![],
            })
            .encode(),
            Gossip::Cert(Cert::Delegation(delegation())).encode(),
            header.encode(),
            delegation().encode(),
            revocation().encode(),
        ];
        out.extend(changes.iter().map(SignedChange::encode));
        out
    })
}

fn sample_changes(header: &DocHeader) -> Vec<SignedChange> {
    let mut doc = Document::new(*header);
    let mut out = Vec::new();
    for (i, name) in ["Bauantrag Online", "Bauantrag Online 2"]
        .iter()
        .enumerate()
    {
        let p = crate::product(name);
        let r = doc.edit(&kp(1), ReplicaId([3; 16]), UnixTime(T0 + i as i64), |ed| {
            ed.put_root(&p)
        });
        if let Ok(Some(c)) = r {
            out.push(c);
        }
    }
    out
}

/// Wire messages: the first byte chooses between raw bytes and a valid sample with byte
/// edits (position, value) read from the rest.
pub fn wire(data: &[u8]) {
    let mut input = Input { data };
    let bytes = if input.byte() & 1 == 0 {
        input.data.to_vec()
    } else {
        let samples = wire_samples();
        let mut bytes = samples[usize::from(input.byte()) % samples.len()].clone();
        let cut = input.byte();
        while !input.is_empty() && !bytes.is_empty() {
            let at = usize::from(input.u16()) % bytes.len();
            bytes[at] = input.byte();
        }
        if cut > 200 {
            bytes.truncate(usize::from(cut - 200) * bytes.len() / 56);
        }
        bytes
    };
    decode_wire(&bytes);
}

fn decode_wire(bytes: &[u8]) {
    // Every decoder that reads bytes from a peer; what decodes re-encodes to the same bytes.
    if let Ok(r) = Request::decode(bytes) {
        assert_eq!(r.encode(), bytes, "Request is not canonical");
    }
    if let Ok(r) = Response::decode(bytes) {
        assert_eq!(r.encode(), bytes, "Response is not canonical");
        if let Response::Fetched(objects) = r {
            for o in objects {
                match o {
                    Object::Doc {
                        header,
                        changes,
                        certs,
                    } => ingest(header, changes, certs),
                    Object::Cert(c) => ingest_certs(&mut mem_repo(), vec![c]),
                    Object::Missing(_) => {}
                    Object::Stored { .. } => panic!("decoding yielded a responder-only object"),
                }
            }
        }
    }
    if let Ok(g) = Gossip::decode(bytes) {
        assert_eq!(g.encode(), bytes, "Gossip is not canonical");
        match g {
            Gossip::Announce(a) => ingest(a.header, a.changes, a.certs),
            Gossip::Cert(c) => ingest_certs(&mut mem_repo(), vec![c]),
        }
    }
    if let Ok(c) = Cert::decode(bytes) {
        assert_eq!(c.encode(), bytes, "certificate is not canonical");
    }
    if let Ok(h) = DocHeader::decode(bytes) {
        assert_eq!(h.encode(), bytes, "DocHeader is not canonical");
    }
    if let Ok(c) = SignedChange::decode(bytes) {
        assert_eq!(c.encode(), bytes, "SignedChange is not canonical");
        let _ = c.time();
        let doc = c.doc();
        if let Ok(v) = c.clone().verify(doc) {
            assert_eq!(v.signed().hash(), c.hash());
        }
    }
    let _ = SignedDelegation::decode(bytes);
    let _ = SignedRevocation::decode(bytes);
}

fn mem_repo() -> Repo<MemStore> {
    match Repo::open(MemStore::new(), ReplicaId([9; 16])) {
        Ok(r) => r,
        Err(e) => unreachable!("an empty in-memory store opens: {e}"),
    }
}

fn ingest_certs<S: allmende_node::store::Store>(repo: &mut Repo<S>, certs: Vec<Cert>) {
    for c in certs {
        let _ = match c {
            Cert::Delegation(d) => repo.add_delegation(d),
            Cert::Revocation(r) => repo.add_revocation(r),
            Cert::Equivocation(p) => repo.add_equivocation(*p),
        };
    }
}

/// What a node does with a fetched or announced document: certificates first, then the
/// changes, all or nothing.
fn ingest(header: DocHeader, changes: Vec<SignedChange>, certs: Vec<Cert>) {
    let mut repo = mem_repo();
    ingest_certs(&mut repo, certs);
    if repo.ingest(header, changes, UnixTime(T0 + 60)).is_ok() {
        assert!(repo.catalog().is_ok(), "accepted changes break the catalog");
        assert!(
            repo.check_integrity().is_ok(),
            "accepted changes fail the integrity check"
        );
    }
}

// ---------------------------------------------------------------------------------------
// document
// ---------------------------------------------------------------------------------------

/// Field names of the schema and a few others, so that programs reach the record readers.
const KEYS: &[&str] = &[
    "name",
    "vendor",
    "kind",
    "description",
    "licence",
    "standards",
    "tasks",
    "categories",
    "repository",
    "website",
    "same_as",
    "vendor_org",
    "efa",
    "deployments",
    "ratings",
    "reuse_reports",
    "attestations",
    "product",
    "status",
    "operated_by",
    "integrations",
    "cost_once_eur",
    "cost_yearly_eur",
    "since",
    "scores",
    "recommend",
    "ags",
    "land",
    "population",
    "org",
    "anchor",
    "",
];

/// Values as the schema stores them (JSON text in a string), valid and not.
const VALUES: &[&str] = &[
    "\"Bauantrag Online\"",
    "\"Testhersteller GmbH\"",
    "\"software\"",
    "\"onlinedienst\"",
    "\"EUPL-1.2\"",
    "\"MIT OR Apache-2.0\"",
    "[\"XBau\",\"XÖV\"]",
    "[\"99009001001000\"]",
    "\"production\"",
    "{\"by\":\"self\"}",
    "{\"by\":\"provider\",\"org\":\"00\"}",
    "\"2023-04-01\"",
    "\"https://example.org/\"",
    "\"05315000\"",
    "5",
    "0",
    "-1",
    "18446744073709551615",
    "1e400",
    "null",
    "true",
    "[]",
    "{}",
    "\"\"",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    "\"\\u0000\"",
    "{\"functionality\":4,\"usability\":5}",
];

struct Writer {
    doc: AutoCommit,
    /// Objects created in this document (the root is always usable).
    objs: Vec<ObjId>,
}

impl Writer {
    fn new(signer: Keypair, replica: u8) -> Self {
        let actor = actor_id(&signer.public(), &ReplicaId([replica; 16]));
        let mut doc = AutoCommit::new();
        doc.set_actor(ActorId::from(actor.as_slice()));
        Writer {
            doc,
            objs: Vec::new(),
        }
    }

    fn obj(&self, input: &mut Input<'_>) -> ObjId {
        let i = usize::from(input.byte());
        if i == 0 || self.objs.is_empty() {
            ROOT
        } else {
            self.objs[(i - 1) % self.objs.len()].clone()
        }
    }

    /// One operation; errors (a map key on a list, …) are fine: the program goes on.
    fn step(&mut self, input: &mut Input<'_>) {
        let op = input.byte() % 12;
        let obj = self.obj(input);
        let is_seq = matches!(
            self.doc.object_type(&obj),
            Ok(ObjType::List | ObjType::Text)
        );
        let key = KEYS[usize::from(input.byte()) % KEYS.len()];
        let index = {
            let len = self.doc.length(&obj);
            usize::from(input.byte()) % (len + 1)
        };
        match op {
            0 | 1 => {
                let v = if op == 0 {
                    VALUES[usize::from(input.byte()) % VALUES.len()].to_owned()
                } else {
                    input.string()
                };
                let _ = if is_seq {
                    self.doc.insert(&obj, index, v)
                } else {
                    self.doc.put(&obj, key, v)
                };
            }
            2 => {
                let v: automerge::ScalarValue = match input.byte() % 8 {
                    0 => automerge::ScalarValue::Int(input.i64()),
                    1 => automerge::ScalarValue::Uint(input.i64() as u64),
                    2 => automerge::ScalarValue::F64(f64::from_bits(input.i64() as u64)),
                    3 => automerge::ScalarValue::Boolean(input.byte() & 1 == 1),
                    4 => automerge::ScalarValue::Null,
                    5 => automerge::ScalarValue::Bytes(input.take(16).to_vec()),
                    6 => automerge::ScalarValue::Counter(input.i64().into()),
                    _ => automerge::ScalarValue::Timestamp(input.i64()),
                };
                let _ = if is_seq {
                    self.doc.insert(&obj, index, v)
                } else {
                    self.doc.put(&obj, key, v)
                };
            }
            3..=5 => {
                let t = match op {
                    3 => ObjType::Map,
                    4 => ObjType::List,
                    _ => ObjType::Text,
                };
                let r = if is_seq {
                    self.doc.insert_object(&obj, index, t)
                } else {
                    self.doc.put_object(&obj, key, t)
                };
                if let Ok(id) = r {
                    self.objs.push(id);
                }
            }
            6 => {
                let _ = if is_seq {
                    self.doc.delete(&obj, index)
                } else {
                    self.doc.delete(&obj, key)
                };
            }
            7 => {
                let text = input.string();
                let del = isize::from(input.byte() % 4);
                let _ = self.doc.splice_text(&obj, index, del, &text);
            }
            8 => {
                let by = i64::from(input.byte() as i8);
                let _ = self.doc.increment(&obj, key, by);
            }
            _ => {
                let time = match input.byte() % 4 {
                    0 => T0,
                    1 => 0,
                    2 => T0 + 10_000_000,
                    // Negative and far-future times too, within ±2^61: Automerge 0.12
                    // delta-encodes a document's change times in i64, so merging two writers'
                    // changes at i64::MIN and i64::MAX overflows inside Automerge here, in the
                    // generator, before the node sees them. Times before 1970 are refused by
                    // the node (`AuthError::BeforeEpoch`; `tests/repo_rejections.rs` sends one at
                    // i64::MIN).
                    _ => input.i64() >> 2,
                };
                self.doc
                    .commit_with(CommitOptions::default().with_time(time));
            }
        }
    }
}

/// Documents from a hostile but authorised peer: a program of Automerge operations by two
/// writers (chosen keys: the owner, its delegate, a stranger, a revoked key), merged at
/// will, signed and ingested like a catch-up into a map store and, for one in eight, in-memory SQLite.
pub fn document(data: &[u8]) {
    let mut input = Input { data };
    let owner = kp(1);
    let first = input.byte();
    let kind = DocKind::ALL[usize::from(first) % DocKind::ALL.len()];
    let with_sqlite = first >= 224;
    let header = if kind == DocKind::Product {
        DocHeader::product(org(&owner), [input.byte(); 16])
    } else {
        DocHeader::singleton(kind, org(&owner))
    };
    let signer = |b: u8| match b % 4 {
        0 => kp(1),
        1 => kp(2),
        2 => kp(3),
        _ => kp(4),
    };
    let mut a = Writer::new(signer(input.byte()), 1);
    let mut b = Writer::new(signer(input.byte()), 2);
    let mut steps = 0;
    while !input.is_empty() && steps < 256 {
        steps += 1;
        match input.byte() % 8 {
            0 => {
                let _ = a.doc.merge(&mut b.doc);
            }
            1 => {
                let _ = b.doc.merge(&mut a.doc);
            }
            2..=4 => b.step(&mut input),
            _ => a.step(&mut input),
        }
    }
    a.doc.commit_with(CommitOptions::default().with_time(T0));
    b.doc.commit_with(CommitOptions::default().with_time(T0));
    let _ = a.doc.merge(&mut b.doc);
    let keys = [kp(1), kp(2), kp(3), kp(4)];
    let mut signed = Vec::new();
    for change in a.doc.get_changes(&[]) {
        if change.raw_bytes().len() > MAX_CHANGE_BYTES {
            return;
        }
        let actor = change.actor_id().to_bytes();
        let Some(key) = keys
            .iter()
            .find(|k| actor.get(..32) == Some(&k.public().as_bytes()[..]))
        else {
            unreachable!("every actor is one of the writers");
        };
        let c = SignedChange::sign(key, header.id(), change);
        // The envelope round-trips, and so does the change inside it.
        let bytes = c.encode();
        match SignedChange::decode(&bytes) {
            Ok(d) => assert_eq!(d.encode(), bytes, "signed change does not round-trip"),
            Err(e) => panic!("a change this node signed does not decode: {e}"),
        }
        signed.push(c);
    }
    // An in-memory map store for every program; SQLite (with its index tables, full-text
    // search and rebuild) for about one accepted program in eight, as opening it per run costs
    // far more than the rest.
    let mut repo = mem_repo();
    if !ingest_program(&mut repo, header, signed.clone()) {
        return;
    }
    if let Ok(Some(mut doc)) = repo.document(&header.id()) {
        let shown = allmende_protocol::stewardship::Context {
            certs: repo.certificates(),
            grants: repo.grants(),
            cache: None,
        };
        let _ = allmende_node::index::rows(&mut doc, &shown);
        // Resolving a product replays every change of it (`stewardship`): no panic either.
        let _ = repo.stewardship(&header.id());
    }
    if !with_sqlite {
        return;
    }
    let store = match SqliteStore::open_in_memory() {
        Ok(s) => s,
        Err(e) => unreachable!("in-memory SQLite: {e}"),
    };
    let mut repo = match Repo::open(store, ReplicaId([9; 16])) {
        Ok(r) => r,
        Err(e) => unreachable!("an empty store opens: {e}"),
    };
    assert!(
        ingest_program(&mut repo, header, signed),
        "SQLite refuses what the map store accepted"
    );
    // The index a node serves from stays readable.
    let r = allmende_node::query::search(
        repo.store().connection(),
        &allmende_node::query::SearchQuery {
            q: Some("Bauantrag".into()),
            limit: 10,
            ..Default::default()
        },
    );
    assert!(r.is_ok(), "search over accepted data fails: {r:?}");
    assert!(repo.rebuild_index().is_ok());
}

/// Ingests a program's changes as a catch-up would (certificates first; a few single changes
/// out of order, then the batch) and checks the store; returns whether the batch was accepted.
fn ingest_program<S: allmende_node::store::Store>(
    repo: &mut Repo<S>,
    header: DocHeader,
    signed: Vec<SignedChange>,
) -> bool {
    let _ = repo.add_delegation(delegation());
    let _ = repo.add_revocation(revocation());
    // Reversed single changes first: every one but the first waits for its dependencies
    // and is refused; then the whole batch.
    for c in signed.iter().rev().take(3) {
        let _ = repo.ingest(header, vec![c.clone()], UnixTime(T0 + 60));
    }
    let accepted = repo.ingest(header, signed, UnixTime(T0 + 60)).is_ok();
    let catalog = repo.catalog();
    assert!(
        catalog.is_ok(),
        "stored changes break the catalog: {catalog:?}"
    );
    let check = repo.check_integrity();
    assert!(
        check.is_ok(),
        "stored changes fail the integrity check: {check:?}"
    );
    accepted
}

// ---------------------------------------------------------------------------------------
// publiccode.yml
// ---------------------------------------------------------------------------------------

/// `publiccode.yml` import: never a panic; what it accepts is a valid product whose 0.4
/// export parses again.
pub fn publiccode(data: &[u8]) {
    let Ok(parsed) = allmende_node::publiccode::parse_bytes(data) else {
        return;
    };
    assert!(
        parsed.product.validate().is_ok(),
        "the import produced an invalid product: {:?}",
        parsed.product
    );
    let id = DocHeader::product(org(&kp(1)), [1; 16]).id();
    let exported = allmende_node::publiccode::export(&parsed.product, &id);
    let again = allmende_node::publiccode::parse(&exported);
    assert!(
        again.is_ok(),
        "the export of an imported file does not parse: {again:?}\n{exported}"
    );
}

// ---------------------------------------------------------------------------------------
// API bodies
// ---------------------------------------------------------------------------------------

/// The JSON bodies of the write endpoints, each parsed as `http.rs` does (serde, then
/// `validate`). What is accepted survives a JSON round trip, is stored by the node's own
/// editor, reads back equal, and is accepted by a peer. The bytes are also used as search
/// text, which must never fail.
pub fn api_body(data: &[u8]) {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 5 {
        0 => body_round_trip::<Product>(body, None),
        1 => body_round_trip::<Deployment>(body, Some("k1")),
        2 => body_round_trip::<Rating>(body, Some("k2")),
        3 => body_round_trip::<ReuseReport>(body, Some("k3")),
        _ => search_text(body),
    }
}

fn body_round_trip<T>(body: &[u8], key: Option<&str>)
where
    T: Record + PartialEq + std::fmt::Debug + Clone,
{
    let Ok(record) = serde_json::from_slice::<T>(body) else {
        return;
    };
    if record.validate().is_err() {
        return;
    }
    let json = match serde_json::to_vec(&record) {
        Ok(j) => j,
        Err(e) => panic!("a valid record does not serialise: {e}"),
    };
    match serde_json::from_slice::<T>(&json) {
        Ok(back) => assert_eq!(back, record, "JSON round trip changed the record"),
        Err(e) => panic!("a record's own JSON does not parse: {e}"),
    }
    let owner = kp(1);
    let header = if T::KIND == DocKind::Product {
        DocHeader::product(org(&owner), [2; 16])
    } else {
        DocHeader::singleton(T::KIND, org(&owner))
    };
    let mut doc = Document::new(header);
    let r = record.clone();
    let edit = doc.edit(&owner, ReplicaId([5; 16]), UnixTime(T0), |ed| match key {
        None => ed.put_root(&r),
        Some(k) => ed.put(k, &r),
    });
    let change = match edit {
        Ok(Some(c)) => c,
        // Too large for one change: refused before anything is stored.
        Err(allmende_protocol::doc::DocError::TooLarge { .. }) => return,
        other => panic!("a valid record is not stored: {other:?}"),
    };
    let read: Option<T> = match key {
        None => doc.root::<T>().and_then(Result::ok),
        Some(k) => doc
            .records::<T>()
            .into_iter()
            .find(|(rk, _)| rk == k)
            .and_then(|(_, r)| r.ok()),
    };
    assert_eq!(
        read.as_ref(),
        Some(&record),
        "the stored record reads back differently"
    );
    let _ = allmende_node::index::rows(
        &mut doc,
        &allmende_protocol::stewardship::Context {
            certs: &Default::default(),
            grants: &Default::default(),
            cache: None,
        },
    );
    // A peer accepts what this node's API accepted.
    let mut peer = mem_repo();
    let r = peer.ingest(header, vec![change], UnixTime(T0 + 60));
    assert!(r.is_ok(), "a peer refuses a record the API accepted: {r:?}");
}

fn search_text(body: &[u8]) {
    static STORE: OnceLock<std::sync::Mutex<Repo<SqliteStore>>> = OnceLock::new();
    let repo = STORE.get_or_init(|| {
        let store = match SqliteStore::open_in_memory() {
            Ok(s) => s,
            Err(e) => unreachable!("in-memory SQLite: {e}"),
        };
        let mut repo = match Repo::open(store, ReplicaId([9; 16])) {
            Ok(r) => r,
            Err(e) => unreachable!("an empty store opens: {e}"),
        };
        let key = kp(1);
        for (i, name) in [
            "Bauantrag Online",
            "Straßenverkehrsamt Portal",
            "XÖV-Dienst",
        ]
        .iter()
        .enumerate()
        {
            let p = crate::product(name);
            let header = DocHeader::product(org(&key), [i as u8; 16]);
            let _ = repo.edit(&key, header, UnixTime(T0), |ed| ed.put_root(&p));
        }
        std::sync::Mutex::new(repo)
    });
    let Ok(repo) = repo.lock() else {
        return;
    };
    let q = String::from_utf8_lossy(body).into_owned();
    let r = allmende_node::query::search(
        repo.store().connection(),
        &allmende_node::query::SearchQuery {
            q: Some(q.clone()),
            limit: 10,
            ..Default::default()
        },
    );
    assert!(r.is_ok(), "search for {q:?} fails: {r:?}");
}

// ---------------------------------------------------------------------------------------
// config
// ---------------------------------------------------------------------------------------

/// The TOML configuration parser: an error, never a panic.
pub fn config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = allmende_node::config::Config::parse(text, std::path::Path::new("fuzz.toml"));
    }
}
