//! Stewardship: which values of a shared product entry a node shows, and which changes are
//! only proposals.
//!
//! Any key may write a product document ([`crate::auth`]): storage and replication treat
//! every change alike, so documents converge as before. What a node *shows* is resolved on
//! top, by [`resolve`], from the document's signed changes, the certificates and the
//! stewardship grants of the trust anchors the node follows. Nodes that hold the same changes
//! and certificates and follow the same anchors show the same entry.
//!
//! **The rule.**
//! 1. *Order.* The changes are replayed in causal order; changes that do not depend on each
//!    other go by (time, hash).
//! 2. *Stewards at time t.* The principal stewards are the creator (the document's owner),
//!    unless a followed anchor's grant with `replaces_creator` counts from t or earlier, and
//!    every organisation a followed anchor's grant names from t or earlier. The co-stewards
//!    are the `co_stewards` the entry shows at that point of the replay.
//! 3. *Steward changes.* A change whose signer speaks for a steward at the change's time (the
//!    organisation's key, or a key it delegated products to, [`Certificates::speaks_for`])
//!    sets the shown values of the fields it writes, and its `decision/<change hash>` fields
//!    accept or decline proposals. Only a principal steward changes `co_stewards`; a
//!    co-steward's write of it is a proposal.
//! 4. *History before stewardship.* A change made before [`EPOCH`] none of whose ancestors is
//!    from [`EPOCH`] on counts as a steward change of its author (the rule before stewardship
//!    was: any key). A change that depends on a later change is not history, whatever time it
//!    claims.
//! 5. *Proposals.* Every other change is a proposal: its field writes are shown as a diff,
//!    attributed to its signer and the organisation it acts for, and stay open until a
//!    steward change accepts (writing the values and `decision/<hash>` = `"accepted"`) or
//!    declines (`decision/<hash>` = `"declined"`) it.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use automerge::ChangeHash;
use serde::Serialize;

use crate::auth::Certificates;
use crate::doc::{DocError, DocKind, Document, Editor};
pub use crate::doc::{FieldEdit, ShownValues, diff_record};
use crate::ids::{DocId, OrgId, PublicKey};
use crate::schema::{Product, SchemaError, StewardGrant, UnixTime};

/// From this time on (2026-12-06 00:00 UTC) product changes by non-stewards are proposals.
pub const EPOCH: UnixTime = UnixTime(1_796_515_200);

/// Root keys of a product document that record a steward's decision on a proposal:
/// `decision/<hex of the proposal's change hash>`.
pub const DECISION_PREFIX: &str = "decision/";

/// The field naming co-stewards, which only principal stewards set.
const CO_STEWARDS: &str = "co_stewards";

/// The stewardship grants of the anchors a node follows, by product.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    by_product: HashMap<DocId, Vec<(OrgId, StewardGrant)>>,
}

impl Grants {
    /// No grants (a node that follows no anchor).
    pub fn new() -> Self {
        Self::default()
    }

    /// The grants in the trust documents of `anchors` among `docs`.
    pub fn from_documents<'a>(
        docs: impl IntoIterator<Item = &'a Document>,
        anchors: &[OrgId],
    ) -> Self {
        let mut g = Self::new();
        for d in docs {
            g.add_document(d, anchors);
        }
        g
    }

    /// Adds the grants of `doc` if it is the trust document of one of `anchors`.
    pub fn add_document(&mut self, doc: &Document, anchors: &[OrgId]) {
        let header = doc.header();
        if header.kind != DocKind::Trust || !anchors.contains(&header.owner) {
            return;
        }
        for (key, r) in doc.records::<StewardGrant>() {
            if let Ok(grant) = r
                && key == grant.key()
            {
                self.add(header.owner, grant);
            }
        }
    }

    /// Adds one anchor's grant.
    pub fn add(&mut self, anchor: OrgId, grant: StewardGrant) {
        let list = self.by_product.entry(grant.product).or_default();
        if !list.iter().any(|(a, g)| *a == anchor && *g == grant) {
            list.push((anchor, grant));
            list.sort_by_key(|(anchor, g)| (*anchor, g.org, g.since));
        }
    }

    /// The grants for `product`.
    pub fn for_product(&self, product: &DocId) -> &[(OrgId, StewardGrant)] {
        self.by_product.get(product).map_or(&[], Vec::as_slice)
    }

    /// Every product some grant names.
    pub fn products(&self) -> impl Iterator<Item = &DocId> {
        self.by_product.keys()
    }

    /// The products whose grants differ between `self` and `other`, sorted.
    pub fn differing(&self, other: &Grants) -> Vec<DocId> {
        let mut out: Vec<DocId> = self
            .products()
            .chain(other.products())
            .filter(|p| self.for_product(p) != other.for_product(p))
            .copied()
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// A steward's decision on a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The proposed values were taken over.
    Accepted,
    /// The proposal was turned down.
    Declined,
}

impl Decision {
    /// The JSON text stored under `decision/<hash>`.
    pub fn json(self) -> &'static str {
        match self {
            Decision::Accepted => "\"accepted\"",
            Decision::Declined => "\"declined\"",
        }
    }

    fn parse(json: &str) -> Option<Self> {
        match json {
            "\"accepted\"" => Some(Decision::Accepted),
            "\"declined\"" => Some(Decision::Declined),
            _ => None,
        }
    }
}

/// Who made a change, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Author {
    /// The signing key.
    pub signer: PublicKey,
    /// The organisation it acted for: the steward it spoke for, or for others the
    /// organisation the certificates tie the key to.
    pub org: Option<OrgId>,
    /// The change's time.
    pub at: UnixTime,
    /// The change.
    #[serde(serialize_with = "hash_hex")]
    pub change: ChangeHash,
}

fn hash_hex<S: serde::Serializer>(h: &ChangeHash, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(h.0))
}

/// How a change counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// By a principal steward (the creator or an anchor's grantee).
    Steward,
    /// By a co-steward.
    CoSteward,
    /// Made before stewardship ([`EPOCH`]): accepted as it was.
    History,
    /// By someone else: a proposal.
    Proposal,
}

/// One change of the entry, as a wiki history lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// Who and when.
    pub author: Author,
    /// How it counted.
    pub standing: Standing,
    /// The fields it wrote.
    pub fields: Vec<String>,
    /// The proposals it decided (steward changes only).
    pub decided: Vec<(String, Decision)>,
}

/// A change by someone who is not a steward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Proposal {
    /// Who proposed, and when; `author.change` identifies the proposal.
    pub author: Author,
    /// The proposed field values.
    pub edits: Vec<FieldEdit>,
    /// A steward's decision, with who decided.
    pub decision: Option<(Decision, Author)>,
}

impl Proposal {
    /// The proposal's id: the hex of its change hash.
    pub fn id(&self) -> String {
        hex::encode(self.author.change.0)
    }

    /// The edits whose value differs from what `shown` shows now (what accepting would
    /// change).
    pub fn pending<'a>(&'a self, shown: &'a Resolution) -> impl Iterator<Item = &'a FieldEdit> {
        self.edits
            .iter()
            .filter(|e| shown.value(&e.field) != e.value.as_deref())
    }

    /// Open: nobody decided, and accepting would still change something.
    pub fn is_open(&self, shown: &Resolution) -> bool {
        self.decision.is_none() && self.pending(shown).next().is_some()
    }
}

/// A shown value and its provenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shown {
    /// The JSON text.
    pub value: String,
    /// The change that set it.
    pub set_by: Author,
    /// Whose proposal it was, when a steward set it by accepting one.
    pub proposed_by: Option<Author>,
}

/// A steward of the entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Steward {
    /// The organisation.
    pub org: OrgId,
    /// How it became one.
    pub role: StewardRole,
}

/// How an organisation became steward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum StewardRole {
    /// It created the entry.
    Creator,
    /// A principal steward named it.
    CoSteward,
    /// A followed trust anchor made it steward.
    Granted {
        /// The anchor.
        anchor: OrgId,
        /// It took the creator's place.
        replaces_creator: bool,
    },
}

/// What a node shows of a product entry, with where each value came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Resolution {
    /// The shown fields, by name.
    pub fields: BTreeMap<String, Shown>,
    /// The stewards now (after every grant and the shown co-stewards).
    pub stewards: Vec<Steward>,
    /// Every proposal, oldest first.
    pub proposals: Vec<Proposal>,
    /// Every change, in the order of the replay.
    pub history: Vec<HistoryEntry>,
}

impl Resolution {
    /// The shown JSON text of `field`.
    pub fn value(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(|s| s.value.as_str())
    }

    /// The shown product; `None` when the entry has no fields, an error when the shown
    /// values do not make a valid product.
    pub fn product(&self) -> Option<Result<Product, SchemaError>> {
        product_of(
            self.fields
                .iter()
                .map(|(k, s)| (k.as_str(), s.value.as_str())),
        )
    }

    /// The product `edits` would make of the shown entry.
    pub fn with_edits(&self, edits: &[FieldEdit]) -> Option<Result<Product, SchemaError>> {
        let mut map: BTreeMap<&str, &str> = self
            .fields
            .iter()
            .map(|(k, s)| (k.as_str(), s.value.as_str()))
            .collect();
        for e in edits {
            match &e.value {
                Some(v) => map.insert(e.field.as_str(), v.as_str()),
                None => map.remove(e.field.as_str()),
            };
        }
        product_of(map.into_iter())
    }

    /// The writes that make the entry show `product`: each field whose JSON text differs
    /// from the shown one (fields of `product` left unset and omitted from its JSON are
    /// removed when shown).
    pub fn diff(&self, product: &Product) -> Result<Vec<FieldEdit>, SchemaError> {
        diff_record(|k| self.value(k), product)
    }

    /// The proposal with id `id` (hex of its change hash).
    pub fn proposal(&self, id: &str) -> Option<&Proposal> {
        self.proposals.iter().find(|p| p.id() == id)
    }

    /// Whether `org` is a steward now.
    pub fn is_steward(&self, org: OrgId) -> bool {
        self.stewards.iter().any(|s| s.org == org)
    }
}

impl ShownValues for Resolution {
    fn value(&self, field: &str) -> Option<&str> {
        Resolution::value(self, field)
    }
}

impl Editor<'_> {
    /// Records a steward's decision on the proposal made by change `proposal`.
    pub fn decide(&mut self, proposal: ChangeHash, decision: Decision) -> Result<(), DocError> {
        let key = format!("{DECISION_PREFIX}{}", hex::encode(proposal.0));
        self.put_product_text(&key, decision.json())
    }
}

fn product_of<'a>(
    fields: impl Iterator<Item = (&'a str, &'a str)>,
) -> Option<Result<Product, SchemaError>> {
    crate::doc::record_of_fields(fields)
}

/// One change, read for the replay (what [`StepCache`] keeps).
#[derive(Debug, Clone)]
struct Step {
    author: Author,
    deps: Vec<ChangeHash>,
    /// Root fields written, last write per field, in first-write order.
    fields: Vec<FieldEdit>,
    /// Decisions written: proposal hash → decision.
    decisions: Vec<(ChangeHash, Decision)>,
}

/// `None` for a change whose actor id does not start with a key (never stored: the actor is
/// checked against the signer when a change arrives, [`crate::change`]).
fn read_step(c: &automerge::Change) -> Option<Step> {
    use automerge::ExpandedChange;
    use automerge::legacy::{Key, ObjectId, OpType};
    let actor: [u8; 32] = c.actor_id().to_bytes().get(..32)?.try_into().ok()?;
    let signer = PublicKey::from_bytes(actor).ok()?;
    let expanded: ExpandedChange = c.decode();
    let mut fields: Vec<FieldEdit> = Vec::new();
    let mut decisions = Vec::new();
    for op in expanded.operations {
        if op.obj != ObjectId::Root {
            continue;
        }
        let Key::Map(key) = op.key else { continue };
        let value = match op.action {
            OpType::Put(automerge::ScalarValue::Str(s)) => Some(s.to_string()),
            OpType::Delete => None,
            _ => continue,
        };
        if let Some(hex) = key.strip_prefix(DECISION_PREFIX) {
            let hash = hex::decode(hex)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok());
            if let (Some(h), Some(d)) = (hash, value.as_deref().and_then(Decision::parse)) {
                decisions.retain(|(x, _)| *x != ChangeHash(h));
                decisions.push((ChangeHash(h), d));
            }
            continue;
        }
        match fields.iter_mut().find(|e| e.field == key.as_str()) {
            Some(e) => e.value = value,
            None => fields.push(FieldEdit {
                field: key.to_string(),
                value,
            }),
        }
    }
    Some(Step {
        author: Author {
            signer,
            org: None,
            at: UnixTime(c.timestamp()),
            change: c.hash(),
        },
        deps: c.deps().to_vec(),
        fields,
        decisions,
    })
}

/// The steps in replay order: causal, independent ones by (time, hash).
fn replay_order(steps: &[Step]) -> Vec<usize> {
    let index: HashMap<ChangeHash, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.author.change, i))
        .collect();
    let mut waiting = vec![0usize; steps.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); steps.len()];
    for (i, s) in steps.iter().enumerate() {
        for d in &s.deps {
            if let Some(&j) = index.get(d) {
                waiting[i] += 1;
                dependents[j].push(i);
            }
        }
    }
    let key = |i: usize| Reverse((steps[i].author.at, steps[i].author.change.0, i));
    let mut ready: BinaryHeap<_> = (0..steps.len())
        .filter(|&i| waiting[i] == 0)
        .map(key)
        .collect();
    let mut order = Vec::with_capacity(steps.len());
    while let Some(Reverse((_, _, i))) = ready.pop() {
        order.push(i);
        for &j in &dependents[i] {
            waiting[j] -= 1;
            if waiting[j] == 0 {
                ready.push(key(j));
            }
        }
    }
    order
}

/// Resolves what a node shows of the product whose document was created by `creator`, from
/// its `changes` (every change of the document), the certificates and the grants of the
/// followed anchors for this product.
pub fn resolve(
    creator: OrgId,
    changes: &[automerge::Change],
    certs: &Certificates,
    grants: &[(OrgId, StewardGrant)],
) -> Resolution {
    let steps: Vec<Step> = changes.iter().filter_map(read_step).collect();
    resolve_steps(creator, &steps, certs, grants)
}

fn resolve_steps(
    creator: OrgId,
    steps: &[Step],
    certs: &Certificates,
    grants: &[(OrgId, StewardGrant)],
) -> Resolution {
    let order = replay_order(steps);
    let mut out = Resolution::default();
    let mut post_epoch: HashMap<ChangeHash, bool> = HashMap::with_capacity(steps.len());
    let mut decisions: HashMap<ChangeHash, (Decision, Author)> = HashMap::new();
    // The co-stewards shown so far, parsed again only when a write of them counts.
    let mut co: Vec<OrgId> = Vec::new();
    for i in order {
        let mut step = steps[i].clone();
        let at = step.author.at;
        let later = at >= EPOCH
            || step
                .deps
                .iter()
                .any(|d| post_epoch.get(d).copied().unwrap_or(false));
        post_epoch.insert(step.author.change, later);

        let principal = principals_at(creator, grants, at)
            .into_iter()
            .find(|o| certs.speaks_for(step.author.signer, *o, DocKind::Product, at));
        let co_steward = principal.is_none().then(|| {
            co.iter()
                .copied()
                .find(|o| certs.speaks_for(step.author.signer, *o, DocKind::Product, at))
        });
        let (standing, org) = match (principal, co_steward.flatten()) {
            (Some(o), _) => (Standing::Steward, Some(o)),
            (None, Some(o)) => (Standing::CoSteward, Some(o)),
            (None, None) if !later => (
                Standing::History,
                certs.acting_for(step.author.signer, DocKind::Product, at),
            ),
            (None, None) => (
                Standing::Proposal,
                certs.acting_for(step.author.signer, DocKind::Product, at),
            ),
        };
        step.author.org = org;
        let author = step.author;

        // Which writes count, which are proposed.
        let mut proposed = Vec::new();
        let mut applied = Vec::new();
        for e in step.fields {
            let counts = match standing {
                Standing::Steward | Standing::History => true,
                Standing::CoSteward => e.field != CO_STEWARDS,
                Standing::Proposal => false,
            };
            if counts {
                applied.push(e);
            } else {
                proposed.push(e);
            }
        }
        let decided: Vec<(ChangeHash, Decision)> = match standing {
            Standing::Steward | Standing::CoSteward => step.decisions,
            Standing::History | Standing::Proposal => Vec::new(),
        };
        let accepted_here: Vec<ChangeHash> = decided
            .iter()
            .filter(|(_, d)| *d == Decision::Accepted)
            .map(|(h, _)| *h)
            .collect();
        for e in &applied {
            match &e.value {
                Some(v) => {
                    let proposed_by = out
                        .proposals
                        .iter()
                        .filter(|p| accepted_here.contains(&p.author.change))
                        .find(|p| {
                            p.edits
                                .iter()
                                .any(|x| x.field == e.field && x.value == e.value)
                        })
                        .map(|p| p.author);
                    out.fields.insert(
                        e.field.clone(),
                        Shown {
                            value: v.clone(),
                            set_by: author,
                            proposed_by,
                        },
                    );
                }
                None => {
                    out.fields.remove(&e.field);
                }
            }
        }
        if applied.iter().any(|e| e.field == CO_STEWARDS) {
            co = co_stewards(&out);
        }
        for (h, d) in &decided {
            decisions.insert(*h, (*d, author));
        }
        let mut fields: Vec<String> = applied.iter().map(|e| e.field.clone()).collect();
        fields.extend(proposed.iter().map(|e| e.field.clone()));
        out.history.push(HistoryEntry {
            author,
            standing: if applied.is_empty() && !proposed.is_empty() {
                Standing::Proposal
            } else {
                standing
            },
            fields,
            decided: decided
                .iter()
                .map(|(h, d)| (hex::encode(h.0), *d))
                .collect(),
        });
        if !proposed.is_empty() {
            out.proposals.push(Proposal {
                author,
                edits: proposed,
                decision: None,
            });
        }
    }
    for p in &mut out.proposals {
        p.decision = decisions.get(&p.author.change).copied();
    }
    out.stewards = stewards_now(creator, grants, &co_stewards(&out));
    out
}

/// The principal stewards at `at`: the creator unless a grant replaced it, and every grantee.
fn principals_at(creator: OrgId, grants: &[(OrgId, StewardGrant)], at: UnixTime) -> Vec<OrgId> {
    let mut out = Vec::new();
    if !grants
        .iter()
        .any(|(_, g)| g.replaces_creator && g.since <= at)
    {
        out.push(creator);
    }
    for (_, g) in grants {
        if g.since <= at && !out.contains(&g.org) {
            out.push(g.org);
        }
    }
    out
}

fn co_stewards(r: &Resolution) -> Vec<OrgId> {
    r.value(CO_STEWARDS)
        .and_then(|t| serde_json::from_str::<Vec<OrgId>>(t).ok())
        .unwrap_or_default()
}

fn stewards_now(creator: OrgId, grants: &[(OrgId, StewardGrant)], co: &[OrgId]) -> Vec<Steward> {
    let mut out = Vec::new();
    if !grants.iter().any(|(_, g)| g.replaces_creator) {
        out.push(Steward {
            org: creator,
            role: StewardRole::Creator,
        });
    }
    for (anchor, g) in grants {
        if !out.iter().any(|s| s.org == g.org) {
            out.push(Steward {
                org: g.org,
                role: StewardRole::Granted {
                    anchor: *anchor,
                    replaces_creator: g.replaces_creator,
                },
            });
        }
    }
    for o in co {
        if !out.iter().any(|s| s.org == *o) {
            out.push(Steward {
                org: *o,
                role: StewardRole::CoSteward,
            });
        }
    }
    out
}

/// What resolving needs besides the document: the certificates, the followed anchors'
/// grants, and optionally a [`StepCache`].
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The certificates known.
    pub certs: &'a Certificates,
    /// The grants of the followed anchors.
    pub grants: &'a Grants,
    /// Changes read before, if kept.
    pub cache: Option<&'a StepCache>,
}

impl Context<'_> {
    /// What the node shows of the product `doc`.
    pub fn resolve(&self, doc: &mut Document) -> Resolution {
        match self.cache {
            Some(c) => c.resolve(doc, self.certs, self.grants),
            None => resolve_document(doc, self.certs, self.grants),
        }
    }
}

/// [`resolve`] for a product document.
pub fn resolve_document(doc: &mut Document, certs: &Certificates, grants: &Grants) -> Resolution {
    let creator = doc.header().owner;
    let id = doc.id();
    let changes = doc.all_changes();
    resolve(creator, &changes, certs, grants.for_product(&id))
}

/// The changes of recently resolved products, read once: resolving a product then reads only
/// the changes added since from Automerge (reading every change was most of the cost: about
/// 5 µs a change) and replays the kept ones in memory. Bounded in documents and in changes;
/// the least recently used go first. What it keeps depends on the changes alone, never on
/// certificates or grants, so it never needs to be told about those.
#[derive(Debug)]
pub struct StepCache {
    inner: std::sync::Mutex<CacheInner>,
    max_docs: usize,
    max_steps: usize,
}

#[derive(Debug, Default)]
struct CacheInner {
    docs: HashMap<DocId, CachedSteps>,
    /// Least recently used first.
    order: std::collections::VecDeque<DocId>,
    steps: usize,
}

#[derive(Debug)]
struct CachedSteps {
    heads: Vec<ChangeHash>,
    steps: Vec<Step>,
}

impl Default for StepCache {
    fn default() -> Self {
        Self::new(256, 200_000)
    }
}

impl StepCache {
    /// A cache of at most `max_docs` products and `max_steps` changes in all.
    pub fn new(max_docs: usize, max_steps: usize) -> Self {
        Self {
            inner: std::sync::Mutex::new(CacheInner::default()),
            max_docs,
            max_steps,
        }
    }

    /// [`resolve_document`], reading from Automerge only the changes not kept already. Kept
    /// changes count only while every head they had is still in the document: a document
    /// rebuilt without some changes (a revocation, a fork) lost a head too, and is read anew.
    pub fn resolve(&self, doc: &mut Document, certs: &Certificates, grants: &Grants) -> Resolution {
        let id = doc.id();
        let creator = doc.header().owner;
        let heads = doc.heads();
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let kept = inner.docs.remove(&id);
        inner.order.retain(|d| *d != id);
        if let Some(c) = &kept {
            inner.steps -= c.steps.len();
        }
        let entry = match kept {
            Some(mut c) if c.heads.iter().all(|h| doc.has_change(h)) => {
                if c.heads != heads {
                    let new = doc.changes_after(&c.heads);
                    c.steps.extend(new.iter().filter_map(read_step));
                    c.heads = heads;
                }
                c
            }
            // Not kept, or kept from a version of the document that lost a head since.
            _ => CachedSteps {
                heads,
                steps: doc.all_changes().iter().filter_map(read_step).collect(),
            },
        };
        let resolution = resolve_steps(creator, &entry.steps, certs, grants.for_product(&id));
        if entry.steps.len() <= self.max_steps {
            while inner.docs.len() >= self.max_docs
                || inner.steps + entry.steps.len() > self.max_steps
            {
                let Some(old) = inner.order.pop_front() else {
                    break;
                };
                if let Some(c) = inner.docs.remove(&old) {
                    inner.steps -= c.steps.len();
                }
            }
            inner.steps += entry.steps.len();
            inner.order.push_back(id);
            inner.docs.insert(id, entry);
        }
        resolution
    }

    /// Forgets what is kept of `doc`.
    pub fn forget(&self, doc: &DocId) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = inner.docs.remove(doc) {
            inner.steps -= c.steps.len();
        }
        inner.order.retain(|d| d != doc);
    }
}
