//! A product's stewardship as the API and the web UI show it: its stewards, where each shown
//! value came from, the proposals with their diffs, and the history of every change. The rule
//! itself is [`allmende_protocol::stewardship`]; this module adds names and verified badges
//! from the index.

use std::collections::BTreeMap;

use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::stewardship::{Author, Decision, Resolution, Standing, StewardRole};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use utoipa::ToSchema;

use crate::query::{QueryError, verified_among};

/// Who made a change, as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuthorView {
    /// The signing key (64 hex).
    pub signer: String,
    /// The organisation it acted for (64 hex), when known.
    pub org: Option<String>,
    /// The organisation's name from its profile, when known.
    pub name: Option<String>,
    /// The organisation is attested by an anchor this node follows.
    pub verified: bool,
    /// The change's time (Unix seconds, as its author claims).
    pub at: i64,
    /// The change's hash (64 hex).
    pub change: String,
}

/// A steward of the entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StewardView {
    /// The organisation (64 hex).
    pub org: String,
    /// Its name from its profile, when known.
    pub name: Option<String>,
    /// Attested by a followed anchor.
    pub verified: bool,
    /// `creator`, `co_steward` or `granted` (by a trust anchor).
    pub role: String,
    /// The anchor that granted it (for `granted`).
    pub anchor: Option<String>,
    /// The anchor's grant took the creator's place.
    pub replaces_creator: bool,
}

/// Where a shown value came from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProvenanceView {
    /// The value.
    pub value: serde_json::Value,
    /// The change that set it.
    pub set_by: AuthorView,
    /// Whose proposal it was, when a steward set it by accepting one.
    pub proposed_by: Option<AuthorView>,
}

/// One field of a proposal: what is shown, what is proposed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldChangeView {
    /// The field.
    pub field: String,
    /// The shown value (`null` when unset).
    pub shown: serde_json::Value,
    /// The proposed value (`null` removes the field).
    pub proposed: serde_json::Value,
}

/// A proposal and its state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProposalView {
    /// Its id: the hash of the change that made it (64 hex).
    pub id: String,
    /// Who proposed, and when.
    pub author: AuthorView,
    /// No steward decided yet and accepting would still change something.
    pub open: bool,
    /// `accepted` or `declined`, when a steward decided.
    pub decision: Option<String>,
    /// Who decided.
    pub decided_by: Option<AuthorView>,
    /// The proposed fields, each with the value shown now: of an open proposal those that
    /// differ from what is shown, of a decided one every field it wrote.
    pub changes: Vec<FieldChangeView>,
}

/// One change in the entry's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryView {
    /// Who and when.
    pub author: AuthorView,
    /// `steward`, `co_steward`, `history` (before stewardship) or `proposal`.
    pub standing: String,
    /// The fields it wrote.
    pub fields: Vec<String>,
    /// The proposals it decided: id and `accepted` / `declined`.
    pub decided: Vec<(String, String)>,
}

/// A product's stewardship as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StewardshipView {
    /// The product id.
    pub id: String,
    /// The stewards now.
    pub stewards: Vec<StewardView>,
    /// Each shown field with its provenance.
    pub fields: BTreeMap<String, ProvenanceView>,
    /// The proposals, newest first; by unverified authors only when asked for.
    pub proposals: Vec<ProposalView>,
    /// Open proposals by unverified authors left out (`?unverified=true` lists them).
    pub hidden_unverified: usize,
    /// Every change, oldest first.
    pub history: Vec<HistoryView>,
}

fn decision_slug(d: Decision) -> &'static str {
    match d {
        Decision::Accepted => "accepted",
        Decision::Declined => "declined",
    }
}

fn standing_slug(s: Standing) -> &'static str {
    match s {
        Standing::Steward => "steward",
        Standing::CoSteward => "co_steward",
        Standing::History => "history",
        Standing::Proposal => "proposal",
    }
}

fn json(text: Option<&str>) -> serde_json::Value {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// Names and badges, each organisation looked up once.
struct Lookup<'a> {
    conn: &'a Connection,
    /// Which of the organisations named in the resolution a followed anchor attests, read in
    /// one pass over the attestations.
    verified: std::collections::HashSet<Vec<u8>>,
    seen: BTreeMap<OrgId, (Option<String>, bool)>,
}

impl<'a> Lookup<'a> {
    fn new(
        conn: &'a Connection,
        resolution: &Resolution,
        anchors: &[OrgId],
    ) -> Result<Self, QueryError> {
        let authors = resolution
            .fields
            .values()
            .flat_map(|s| std::iter::once(&s.set_by).chain(&s.proposed_by))
            .chain(resolution.proposals.iter().flat_map(|p| {
                std::iter::once(&p.author).chain(p.decision.as_ref().map(|(_, by)| by))
            }))
            .chain(resolution.history.iter().map(|h| &h.author))
            .filter_map(|a| a.org);
        let mut orgs: Vec<Vec<u8>> = resolution
            .stewards
            .iter()
            .map(|s| s.org)
            .chain(authors)
            .map(|o| o.as_bytes().to_vec())
            .collect();
        orgs.sort();
        orgs.dedup();
        Ok(Self {
            conn,
            verified: verified_among(conn, anchors, &orgs)?,
            seen: BTreeMap::new(),
        })
    }

    fn org(&mut self, org: OrgId) -> Result<(Option<String>, bool), QueryError> {
        if let Some(v) = self.seen.get(&org) {
            return Ok(v.clone());
        }
        let name: Option<String> = self
            .conn
            .query_row(
                "SELECT name FROM idx_org WHERE org = ?1 LIMIT 1",
                [org.as_bytes().as_slice()],
                |r| r.get(0),
            )
            .optional()?;
        let verified = self.verified.contains(org.as_bytes().as_slice());
        self.seen.insert(org, (name.clone(), verified));
        Ok((name, verified))
    }

    fn author(&mut self, a: &Author) -> Result<AuthorView, QueryError> {
        let (name, verified) = match a.org {
            Some(o) => self.org(o)?,
            None => (None, false),
        };
        Ok(AuthorView {
            signer: a.signer.to_hex(),
            org: a.org.map(|o| format!("{o:#}")),
            name,
            verified,
            at: a.at.0,
            change: hex::encode(a.change.0),
        })
    }
}

/// The view of `resolution` for product `id`: names and badges from `conn`, verified meaning
/// attested by one of `anchors` (a node in open mode verifies nobody). Open proposals by
/// unverified authors are counted, and listed only with `unverified`.
pub fn view(
    conn: &Connection,
    id: DocId,
    resolution: &Resolution,
    anchors: &[OrgId],
    unverified: bool,
) -> Result<StewardshipView, QueryError> {
    let mut look = Lookup::new(conn, resolution, anchors)?;
    let mut stewards = Vec::new();
    for s in &resolution.stewards {
        let (name, verified) = look.org(s.org)?;
        let (role, anchor, replaces_creator) = match s.role {
            StewardRole::Creator => ("creator", None, false),
            StewardRole::CoSteward => ("co_steward", None, false),
            StewardRole::Granted {
                anchor,
                replaces_creator,
            } => ("granted", Some(format!("{anchor:#}")), replaces_creator),
        };
        stewards.push(StewardView {
            org: format!("{:#}", s.org),
            name,
            verified,
            role: role.to_owned(),
            anchor,
            replaces_creator,
        });
    }
    let mut fields = BTreeMap::new();
    for (k, shown) in &resolution.fields {
        fields.insert(
            k.clone(),
            ProvenanceView {
                value: json(Some(&shown.value)),
                set_by: look.author(&shown.set_by)?,
                proposed_by: shown
                    .proposed_by
                    .as_ref()
                    .map(|a| look.author(a))
                    .transpose()?,
            },
        );
    }
    let mut proposals = Vec::new();
    let mut hidden_unverified = 0;
    for p in resolution.proposals.iter().rev() {
        let author = look.author(&p.author)?;
        let open = p.is_open(resolution);
        if !author.verified && !unverified {
            hidden_unverified += usize::from(open);
            continue;
        }
        // An open proposal shows what accepting it would change; a decided one all it wrote.
        let edits: Vec<_> = if open {
            p.pending(resolution).collect()
        } else {
            p.edits.iter().collect()
        };
        let changes = edits
            .into_iter()
            .map(|e| FieldChangeView {
                field: e.field.clone(),
                shown: json(resolution.value(&e.field)),
                proposed: json(e.value.as_deref()),
            })
            .collect();
        let (decision, decided_by) = match &p.decision {
            Some((d, by)) => (Some(decision_slug(*d).to_owned()), Some(look.author(by)?)),
            None => (None, None),
        };
        proposals.push(ProposalView {
            id: p.id(),
            author,
            open,
            decision,
            decided_by,
            changes,
        });
    }
    let mut history = Vec::new();
    for h in &resolution.history {
        history.push(HistoryView {
            author: look.author(&h.author)?,
            standing: standing_slug(h.standing).to_owned(),
            fields: h.fields.clone(),
            decided: h
                .decided
                .iter()
                .map(|(id, d)| (id.clone(), decision_slug(*d).to_owned()))
                .collect(),
        });
    }
    Ok(StewardshipView {
        id: format!("{id:#}"),
        stewards,
        fields,
        proposals,
        hidden_unverified,
        history,
    })
}
