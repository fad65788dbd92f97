//! `publiccode.yml` import and export: the metadata file that Open CoDE, the EU OSS catalogue
//! and Developers Italia read, mapped onto the catalog's [`Product`].
//!
//! ```text
//!   publiccode.yml text ─► load (YAML events → small tree with lines) ─► read (map the keys,
//!   collect warnings) ─► Parsed { product, used_by, url, warnings }
//!        └─► import: product_nonce(url or name) → DocHeader::product(org, nonce)
//!                    → one Repo::edit (put_root)              (created / updated / unchanged)
//!   Product ─► export ─► publiccode.yml 0.4 text
//! ```
//!
//! # What is read, and how messy files are treated
//!
//! Versions 0.2 to 0.7 are read by the same rules (the keys this importer maps did not change
//! between them); an unquoted version such as `0.4`, which YAML reads as a number, is
//! accepted with a warning, and an unknown or missing version is a warning, not a refusal.
//! A file that is not YAML, is empty, or does not hold a mapping at its top is refused with
//! the YAML error and its line ([`PubliccodeError::Yaml`]); so is a file of more than
//! [`MAX_BYTES`] or one nested deeper than 64 levels. A file without a usable name is
//! refused ([`PubliccodeError::NoName`]). Everything else is read as far as it is valid:
//! unknown keys, values of the wrong type, values outside an enumeration and values that fail
//! the catalog's schema each give a [`Warning`] naming the key (as a dotted path) and its
//! line, and the value is left out.
//!
//! | publiccode.yml | catalog |
//! |---|---|
//! | `name` (else `description.<lang>.localisedName`) | `name` |
//! | `description.<lang>.longDescription` (else `shortDescription`); `de` first, then `en`, then the first language | `description` |
//! | `legal.license` (SPDX) | `licence` |
//! | `categories` (only values of the standard's category list) | `categories` |
//! | `de.leika[].leika-id`, `de.leika[].ozg-id` (the German country extension) | `tasks` (LeiKa key, `ozg:<id>`) |
//! | `de.leika[].themenfeld` | `categories` (the OZG Themenfeld's canonical name) |
//! | `url` | `repository` (and the identity, see below) |
//! | `landingURL` | `website` |
//! | `organisation.name`, else `legal.repoOwner`, else `legal.mainCopyrightOwner`, else the repository owner in `url` | `vendor` |
//! | `platforms`: values naming a hosting model (`saas`, `cloud`, `on-premise`, …) | `hosting` |
//! | `platforms` (other values) and `dependsOn.open/proprietary/hardware` | `prerequisites` (one line each) |
//! | `dependsOn` names that are known interoperability standards (`reference::standard`) | `standards` |
//! | `maintenance.type` and `maintenance.contractors` | `sla` (one line, `Wartung: …`) |
//! | `usedBy` | [`Parsed::used_by`]: unverified hints, never deployments |
//! | `developmentStatus`, `softwareType`, `intendedAudience`, `localisation` | checked (warnings), not stored: the catalog has no such fields |
//!
//! `maintenance.contacts` are checked but never stored: they name people, and the catalog is
//! public and keeps no names of people. `features`, `genericName`, screenshots, logos,
//! versions and release dates have no field in the catalog and are passed over without a
//! warning, as is the Italian extension `it` and any other country's section.
//!
//! # Identity and updates
//!
//! [`product_nonce`] derives the product document's nonce from the normalised repository URL
//! (scheme, user, query, trailing `/` and `.git` dropped, host lowercased), or from the name
//! when the file has no URL. Importing a file again therefore addresses the same document of
//! the same organisation, and [`import`] writes the whole record in one [`Repo::edit`]: all of
//! it is stored or none. On an update the file decides every field it describes (name,
//! vendor, description, categories, tasks, licence, repository, website, prerequisites, sla,
//! cleared when the file no longer has them); `standards` and `hosting` are merged with what
//! the entry had; the fields a publiccode.yml cannot carry (kind, costs, EfA, accessibility
//! statement, DPIA, test instance, `vendor_org`, `same_as`) keep their values.
//!
//! # Export
//!
//! [`export`] writes a publiccode.yml 0.4 file by hand (every string double-quoted and
//! escaped, multi-line descriptions as literal blocks). Some mandatory keys have no source in
//! the catalog and get a documented choice: `developmentStatus: stable`, `softwareType` from the
//! kind and platforms, `maintenance.type` from the `Wartung:` line an import wrote (else
//! `internal`, with the vendor as contact, to be replaced by a person before publishing),
//! `localisationReady: false`. `longDescription` must have 150 characters: a shorter
//! description is followed by one paragraph of catalog facts, starting with
//! [`FACTS_MARKER`], which the import removes again. LeiKa keys go into the German extension
//! (`de.leika`), which the standard documents (in German, `schema.de.rst`) but which
//! publiccode-parser-go, the validator most catalogs run, refuses as an unknown key; a product
//! without LeiKa keys exports without it. So `parse(export(p))` gives
//! back the name, description, licence, vendor, the categories of the standard's list and the
//! LeiKa tasks; OZG ids and free-text tasks are written as features and are not read back.
//!
//! # The YAML crate
//!
//! `saphyr-parser` (MIT OR Apache-2.0), the YAML 1.2 parser of the saphyr project, which
//! continues yaml-rust and yaml-rust2. It is pure Rust, gives a span with line and column for
//! every event (so every key and value has its line), follows YAML 1.2 (`no` is text, not
//! false, as the standard asks), and limits flow nesting itself. The tree is built here from
//! its events rather than with saphyr's own loader, so that nesting depth, alias expansion and
//! duplicate keys are bounded or refused before anything recursive runs: a file of 1 MiB of
//! `- - - …` would otherwise overflow the stack. `serde_yaml` is archived and gives no
//! positions for keys.

use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write as _};

use allmende_protocol::doc::DocHeader;
use allmende_protocol::identity::Keypair;
use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::reference;
use allmende_protocol::schema::{
    HostingModel, Licence, Product, ProductKind, SchemaError, Task, UnixTime, Validate, WebUrl,
    check_text,
};
use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};
use sha2::{Digest, Sha256};

use allmende_store::repo::{Repo, RepoError};
use allmende_store::store::Store;

/// The largest file read, in bytes (1 MiB; real files have a few KiB).
pub const MAX_BYTES: usize = 1 << 20;

/// Deepest nesting of lists and mappings accepted (real files nest four levels).
const MAX_DEPTH: usize = 64;

/// Most nodes that alias expansion (`*anchor`) may produce in one file.
const MAX_ALIAS_NODES: usize = 10_000;

/// Most warnings kept for one file; the rest are counted in a last warning.
const MAX_WARNINGS: usize = 500;

/// The version [`export`] writes.
pub const EXPORT_VERSION: &str = "0.4";

/// The first words of the paragraph of catalog facts that [`export`] appends to a description
/// shorter than the 150 characters the standard requires; the import removes that paragraph.
pub const FACTS_MARKER: &str = "Angaben aus dem Allmende-Katalog:";

const NONCE_DOMAIN: &[u8] = b"allmende/v1/publiccode\0";

/// The category list of the standard (`categories-list.rst`), sorted.
const CATEGORIES: &[&str] = &[
    "accounting",
    "agile-project-management",
    "applicant-tracking",
    "application-development",
    "appointment-scheduling",
    "backup",
    "billing-and-invoicing",
    "blog",
    "budgeting",
    "business-intelligence",
    "business-process-management",
    "cad",
    "call-center-management",
    "cloud-management",
    "collaboration",
    "communications",
    "compliance-management",
    "contact-management",
    "content-management",
    "crm",
    "customer-service-and-support",
    "data-analytics",
    "data-collection",
    "data-visualization",
    "design",
    "design-system",
    "digital-asset-management",
    "digital-citizenship",
    "document-management",
    "donor-management",
    "e-commerce",
    "e-signature",
    "educational-content",
    "email-management",
    "email-marketing",
    "employee-management",
    "enterprise-project-management",
    "enterprise-social-networking",
    "erp",
    "event-management",
    "facility-management",
    "feedback-and-reviews-management",
    "financial-reporting",
    "fleet-management",
    "fundraising",
    "gamification",
    "geographic-information-systems",
    "grant-management",
    "graphic-design",
    "help-desk",
    "hr",
    "ide",
    "identity-management",
    "instant-messaging",
    "inventory-management",
    "it-asset-management",
    "it-development",
    "it-management",
    "it-security",
    "it-service-management",
    "knowledge-management",
    "learning-management-system",
    "marketing",
    "mind-mapping",
    "mobile-marketing",
    "mobile-payment",
    "network-management",
    "office",
    "online-booking",
    "online-community",
    "payment-gateway",
    "payroll",
    "predictive-analysis",
    "procurement",
    "productivity-suite",
    "project-collaboration",
    "project-management",
    "property-management",
    "real-estate-management",
    "remote-support",
    "resource-management",
    "sales-management",
    "seo",
    "service-desk",
    "social-media-management",
    "survey",
    "talent-management",
    "task-management",
    "taxes-management",
    "test-management",
    "time-management",
    "time-tracking",
    "translation",
    "video-conferencing",
    "video-editing",
    "visitor-management",
    "voip",
    "warehouse-management",
    "web-collaboration",
    "web-conferencing",
    "website-builder",
    "whistleblowing",
    "workflow-management",
];

/// The scope list of the standard (`scope-list.rst`).
const SCOPES: &[&str] = &[
    "agriculture",
    "culture",
    "defence",
    "education",
    "emergency-services",
    "employment",
    "energy",
    "environment",
    "finance-and-economic-development",
    "foreign-affairs",
    "healthcare",
    "infrastructures",
    "justice",
    "local-authorities",
    "manufacturing",
    "research",
    "science-and-technology",
    "security",
    "society",
    "sport",
    "tourism",
    "transportation",
    "welfare",
];

const DEVELOPMENT_STATUSES: &[&str] = &["concept", "development", "beta", "stable", "obsolete"];

/// `standalone` was deprecated by 0.2 but is still found in files.
const SOFTWARE_TYPES: &[&str] = &[
    "standalone/mobile",
    "standalone/iot",
    "standalone/desktop",
    "standalone/web",
    "standalone/backend",
    "standalone/other",
    "addon",
    "library",
    "configurationFiles",
    "standalone",
];

const MAINTENANCE_TYPES: &[&str] = &["internal", "contract", "community", "none"];

const TOP_KEYS: &[&str] = &[
    "publiccodeYmlVersion",
    "name",
    "applicationSuite",
    "url",
    "landingURL",
    "isBasedOn",
    "softwareVersion",
    "releaseDate",
    "logo",
    "monochromeLogo",
    "organisation",
    "organizationUri",
    "inputTypes",
    "outputTypes",
    "platforms",
    "categories",
    "usedBy",
    "fundedBy",
    "roadmap",
    "developmentStatus",
    "softwareType",
    "intendedAudience",
    "description",
    "legal",
    "maintenance",
    "localisation",
    "dependsOn",
];

const DESCRIPTION_KEYS: &[&str] = &[
    "localisedName",
    "genericName",
    "shortDescription",
    "longDescription",
    "documentation",
    "apiDocumentation",
    "features",
    "screenshots",
    "videos",
    "awards",
];

/// Why a file was refused.
#[derive(Debug, thiserror::Error)]
pub enum PubliccodeError {
    /// The file is larger than [`MAX_BYTES`].
    #[error("the file has {len} bytes; a publiccode.yml of at most {max} bytes is read")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes are not UTF-8, which the standard requires.
    #[error("line {line}: the file is not UTF-8 text, as publiccode.yml must be")]
    NotUtf8 {
        /// The line of the first invalid byte.
        line: usize,
    },
    /// The text is not YAML, or its top level is not a mapping.
    #[error("YAML error at line {line}, column {column}: {message}")]
    Yaml {
        /// Line, from 1.
        line: usize,
        /// Column, from 1.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Neither `name` nor a localised name gives a usable product name.
    #[error("line {line}: no usable name: {reason}")]
    NoName {
        /// The line of the `name` key, or of the top level when it is missing.
        line: usize,
        /// Why.
        reason: String,
    },
    /// The mapped record fails the schema (the per-field checks should prevent this).
    #[error("the imported product does not pass the catalog schema: {0}")]
    Invalid(#[from] SchemaError),
    /// Storing failed.
    #[error(transparent)]
    Repo(#[from] RepoError),
}

/// Something of the file that was left out or read with a correction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The key as a dotted path, list positions in brackets (`description.de.longDescription`,
    /// `dependsOn.open[1].name`).
    pub key: String,
    /// Line, from 1.
    pub line: usize,
    /// What is wrong and what was done.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.key, self.message)
    }
}

/// A file read into a catalog record.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The product (passes [`Validate::validate`]). Its kind is `software`: publiccode.yml has
    /// no notion of Fachverfahren or Onlinedienst.
    pub product: Product,
    /// `usedBy`: organisations the maintainer names as users. Unverified hints, never
    /// deployments.
    pub used_by: Vec<String>,
    /// The `url` key as written, when it is a repository URL (http(s) or `user@host:path`);
    /// it decides the product's identity ([`product_nonce`]).
    pub url: Option<String>,
    /// The language whose description was taken (`de`, `en`, …).
    pub language: Option<String>,
    /// `publiccodeYmlVersion` as written.
    pub version: Option<String>,
    /// What was left out or corrected, in the order of the file.
    pub warnings: Vec<Warning>,
}

/// What [`import`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportOutcome {
    /// The product document.
    pub id: DocId,
    /// The document is new (false when an earlier import or edit made it).
    pub created: bool,
    /// Something was written (false when the file says what the entry already says).
    pub changed: bool,
    /// The record as stored.
    pub product: Product,
    /// What was left out or corrected.
    pub warnings: Vec<Warning>,
    /// `usedBy` hints.
    pub used_by: Vec<String>,
}

/// Reads a file's bytes: size first, then UTF-8 (a leading byte-order mark is dropped).
pub fn parse_bytes(bytes: &[u8]) -> Result<Parsed, PubliccodeError> {
    if bytes.len() > MAX_BYTES {
        return Err(PubliccodeError::TooLarge {
            len: bytes.len(),
            max: MAX_BYTES,
        });
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text),
        Err(e) => Err(PubliccodeError::NotUtf8 {
            line: 1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count(),
        }),
    }
}

/// Reads a publiccode.yml file into a catalog record (see the module documentation).
pub fn parse(text: &str) -> Result<Parsed, PubliccodeError> {
    if text.len() > MAX_BYTES {
        return Err(PubliccodeError::TooLarge {
            len: text.len(),
            max: MAX_BYTES,
        });
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let docs = load(text)?;
    let mut r = Reader::default();
    let Some(first) = docs.first() else {
        return Err(yaml_at(
            1,
            1,
            "the file holds no YAML document (it is empty or only comments)",
        ));
    };
    let Some(root) = first else {
        return Err(yaml_at(1, 1, "the YAML document is empty"));
    };
    if docs.len() > 1 {
        let line = docs[1].as_ref().map_or(root.line, |n| n.line);
        r.warn(
            "",
            line,
            format!(
                "the file holds {} YAML documents; only the first is read",
                docs.len()
            ),
        );
    }
    let V::Map(entries) = &root.v else {
        return Err(yaml_at(
            root.line,
            root.col + 1,
            format!(
                "the top level is {}, not a mapping: a publiccode.yml file is a mapping of keys such as publiccodeYmlVersion, name and url",
                root.describe()
            ),
        ));
    };
    r.read(root.line, entries)
}

/// The nonce of the product document `parsed` is imported into ([`product_nonce`] of its
/// repository URL, else its name).
pub fn nonce_for(parsed: &Parsed) -> [u8; 16] {
    product_nonce(parsed.url.as_deref().unwrap_or(&parsed.product.name))
}

/// The nonce of the product document a file describes: SHA-256 over a domain tag and the
/// normalised repository URL (host lowercased; scheme, user, port 80/443, query, fragment,
/// trailing `/` and `.git` dropped; `git@host:path` read as `host/path`), or, when the text is
/// no URL, the name (lowercased, whitespace collapsed). The first 16 bytes.
pub fn product_nonce(url_or_name: &str) -> [u8; 16] {
    let key = match repo_key(url_or_name.trim()) {
        Some(k) => format!("url:{k}"),
        None => format!("name:{}", collapse_whitespace(url_or_name).to_lowercase()),
    };
    let mut h = Sha256::new();
    h.update(NONCE_DOMAIN);
    h.update(key.as_bytes());
    let digest: [u8; 32] = h.finalize().into();
    let mut nonce = [0u8; 16];
    nonce.copy_from_slice(&digest[..16]);
    nonce
}

/// Imports a file as `org`'s product entry, signed by `signer` (the organisation's key or a
/// delegate's): parses, then writes the record in one edit of the document
/// `DocHeader::product(org, product_nonce(url or name))`. Nothing is stored when the file is
/// refused or the edit fails.
pub fn import<S: Store>(
    repo: &mut Repo<S>,
    signer: &Keypair,
    org: OrgId,
    text: &str,
    now: UnixTime,
) -> Result<ImportOutcome, PubliccodeError> {
    let parsed = parse(text)?;
    let nonce = nonce_for(&parsed);
    let header = DocHeader::product(org, nonce);
    let id = header.id();
    let created = repo.document(&id)?.is_none();
    let previous = repo.product(&id)?.and_then(Result::ok);
    let product = match previous {
        Some(old) => merge(old, parsed.product),
        None => parsed.product,
    };
    product.validate()?;
    let changed = repo
        .edit(signer, header, now, |ed| ed.put_root(&product))?
        .is_some();
    Ok(ImportOutcome {
        id,
        created,
        changed,
        product,
        warnings: parsed.warnings,
        used_by: parsed.used_by,
    })
}

/// The entry after an update: the file decides what it describes, the rest stays.
pub fn merge(old: Product, new: Product) -> Product {
    let mut standards = old.standards.clone();
    for s in new.standards {
        let canon = reference::normalise_standard(&s);
        if !standards
            .iter()
            .any(|o| reference::normalise_standard(o) == canon)
        {
            standards.push(s);
        }
    }
    standards.truncate(100);
    let mut hosting = old.hosting.clone();
    for h in new.hosting {
        if !hosting.contains(&h) {
            hosting.push(h);
        }
    }
    Product {
        name: new.name,
        vendor: new.vendor,
        description: new.description,
        categories: new.categories,
        tasks: new.tasks,
        licence: new.licence,
        repository: new.repository,
        website: new.website,
        prerequisites: new.prerequisites,
        sla: new.sla,
        standards,
        hosting,
        ..old
    }
}

// ---------------------------------------------------------------------------------------------
// The YAML tree

/// A node with the position of its first character.
#[derive(Debug, Clone)]
struct Node {
    line: usize,
    col: usize,
    v: V,
}

#[derive(Debug, Clone)]
enum V {
    Scalar(String, Ty),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// How YAML 1.2's core schema reads a scalar; the text is kept as written.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Ty {
    Str,
    Int,
    Float,
    Bool(bool),
    Null,
}

#[derive(Debug, Clone)]
struct Entry {
    key: String,
    line: usize,
    value: Node,
}

impl Node {
    fn describe(&self) -> String {
        match &self.v {
            V::Scalar(_, Ty::Null) => "empty".into(),
            V::Scalar(t, Ty::Bool(_)) => format!("true/false ({t})"),
            V::Scalar(t, Ty::Int | Ty::Float) => format!("a number ({t})"),
            V::Scalar(t, Ty::Str) => format!("text ({:?})", shorten(t, 40)),
            V::Seq(_) => "a list".into(),
            V::Map(_) => "a mapping".into(),
        }
    }

    fn is_null(&self) -> bool {
        matches!(self.v, V::Scalar(_, Ty::Null))
    }

    fn count(&self) -> usize {
        1 + match &self.v {
            V::Scalar(..) => 0,
            V::Seq(items) => items.iter().map(Node::count).sum(),
            V::Map(entries) => entries.iter().map(|e| 1 + e.value.count()).sum(),
        }
    }
}

enum Frame {
    Seq {
        anchor: usize,
        line: usize,
        col: usize,
        items: Vec<Node>,
    },
    Map {
        anchor: usize,
        line: usize,
        col: usize,
        entries: Vec<Entry>,
        seen: HashSet<String>,
        key: Option<(String, usize)>,
    },
}

fn yaml_at(line: usize, column: usize, message: impl Into<String>) -> PubliccodeError {
    PubliccodeError::Yaml {
        line,
        column,
        message: message.into(),
    }
}

fn scan_error(e: &ScanError) -> PubliccodeError {
    yaml_at(e.marker().line(), e.marker().col() + 1, e.info())
}

/// Parses every document of the stream into trees; `None` for an empty document.
fn load(text: &str) -> Result<Vec<Option<Node>>, PubliccodeError> {
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut alias_budget = MAX_ALIAS_NODES;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| scan_error(&e))?;
        let (line, col) = (span.start.line(), span.start.col());
        let done = match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd => None,
            Event::DocumentStart(_) => {
                root = None;
                None
            }
            Event::DocumentEnd => {
                docs.push(root.take());
                None
            }
            Event::Scalar(value, style, anchor, tag) => {
                let ty = match (&tag, style) {
                    (Some(t), _) if t.is_yaml_core_schema() && t.suffix == "str" => Ty::Str,
                    (_, ScalarStyle::Plain) => core_type(&value),
                    _ => Ty::Str,
                };
                Some((
                    Node {
                        line,
                        col,
                        v: V::Scalar(value.into_owned(), ty),
                    },
                    anchor,
                ))
            }
            Event::Alias(id) => {
                let node = anchors
                    .get(&id)
                    .ok_or_else(|| yaml_at(line, col + 1, "an alias names an unknown anchor"))?;
                let n = node.count();
                if n > alias_budget {
                    return Err(yaml_at(
                        line,
                        col + 1,
                        format!("aliases expand to more than {MAX_ALIAS_NODES} nodes"),
                    ));
                }
                alias_budget -= n;
                Some((node.clone(), 0))
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if stack.len() >= MAX_DEPTH => {
                return Err(yaml_at(
                    line,
                    col + 1,
                    format!("lists and mappings are nested deeper than {MAX_DEPTH} levels"),
                ));
            }
            Event::SequenceStart(anchor, _) => {
                stack.push(Frame::Seq {
                    anchor,
                    line,
                    col,
                    items: Vec::new(),
                });
                None
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Frame::Map {
                    anchor,
                    line,
                    col,
                    entries: Vec::new(),
                    seen: HashSet::new(),
                    key: None,
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq {
                    anchor,
                    line,
                    col,
                    items,
                }) => Some((
                    Node {
                        line,
                        col,
                        v: V::Seq(items),
                    },
                    anchor,
                )),
                Some(Frame::Map {
                    anchor,
                    line,
                    col,
                    entries,
                    ..
                }) => Some((
                    Node {
                        line,
                        col,
                        v: V::Map(entries),
                    },
                    anchor,
                )),
                None => return Err(yaml_at(line, col + 1, "unbalanced end of a collection")),
            },
        };
        let Some((node, anchor)) = done else {
            continue;
        };
        if anchor > 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries, seen, key, ..
            }) => match key.take() {
                Some((k, key_line)) => entries.push(Entry {
                    key: k,
                    line: key_line,
                    value: node,
                }),
                None => {
                    let V::Scalar(k, _) = node.v else {
                        return Err(yaml_at(
                            node.line,
                            node.col + 1,
                            "a mapping key must be a plain value, not a list or a mapping",
                        ));
                    };
                    if !seen.insert(k.clone()) {
                        return Err(yaml_at(
                            node.line,
                            node.col + 1,
                            format!(
                                "the key {:?} appears twice in the same mapping",
                                shorten(&k, 60)
                            ),
                        ));
                    }
                    *key = Some((k, node.line));
                }
            },
        }
    }
    Ok(docs)
}

/// The YAML 1.2 core schema's reading of a plain scalar.
fn core_type(s: &str) -> Ty {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Ty::Null,
        "true" | "True" | "TRUE" => return Ty::Bool(true),
        "false" | "False" | "FALSE" => return Ty::Bool(false),
        _ => {}
    }
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if digits(unsigned)
        || s.strip_prefix("0o")
            .is_some_and(|t| !t.is_empty() && t.bytes().all(|b| (b'0'..=b'7').contains(&b)))
        || s.strip_prefix("0x")
            .is_some_and(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Ty::Int;
    }
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") || matches!(s, ".nan" | ".NaN" | ".NAN") {
        return Ty::Float;
    }
    // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => {
            (a.is_empty() && digits(b))
                || (digits(a) && (b.is_empty() || b.bytes().all(|c| c.is_ascii_digit())))
        }
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    if mantissa_ok && exponent_ok {
        Ty::Float
    } else {
        Ty::Str
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the keys

#[derive(Default)]
struct Reader {
    warnings: Vec<Warning>,
    /// Warnings past [`MAX_WARNINGS`], counted only.
    dropped: usize,
}

fn path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

fn get<'n>(entries: &'n [Entry], key: &str) -> Option<&'n Entry> {
    entries.iter().find(|e| e.key == key)
}

/// A value with where it came from: (key, line, value).
type Candidate = (String, usize, String);

/// What the `description` section gives.
#[derive(Default)]
struct Described {
    /// The description of the preferred language.
    text: Option<String>,
    /// That language.
    language: Option<String>,
    /// Its `localisedName`, which stands in for a missing `name`.
    localised_name: Option<Candidate>,
}

impl Reader {
    fn warn(&mut self, key: &str, line: usize, message: impl Into<String>) {
        if self.warnings.len() >= MAX_WARNINGS {
            self.dropped += 1;
            return;
        }
        self.warnings.push(Warning {
            key: key.to_owned(),
            line,
            message: message.into(),
        });
    }

    /// Warns about every key of `entries` that `known` does not list.
    fn unknown_keys(&mut self, at: &str, entries: &[Entry], known: &[&str]) {
        for e in entries {
            if known.contains(&e.key.as_str()) {
                continue;
            }
            let hint = known
                .iter()
                .find(|k| k.eq_ignore_ascii_case(&e.key))
                .map(|k| format!(" (did you mean {k}?)"))
                .unwrap_or_default();
            self.warn(
                &path(at, &e.key),
                e.line,
                format!("unknown key{hint}; ignored"),
            );
        }
    }

    /// The entries of a mapping value; a wrong type is warned about, an empty value is not.
    fn mapping<'n>(&mut self, key: &str, node: &'n Node) -> Option<&'n [Entry]> {
        match &node.v {
            V::Map(entries) => Some(entries),
            _ if node.is_null() => None,
            _ => {
                self.warn(
                    key,
                    node.line,
                    format!("expected a mapping, found {}; ignored", node.describe()),
                );
                None
            }
        }
    }

    /// Trimmed, non-empty text; numbers count as text as written.
    fn text(&mut self, key: &str, node: &Node) -> Option<String> {
        match &node.v {
            V::Scalar(t, Ty::Str | Ty::Int | Ty::Float) => {
                let t = t.trim();
                if t.is_empty() {
                    None
                } else {
                    Some(t.to_owned())
                }
            }
            V::Scalar(_, Ty::Null) => None,
            _ => {
                self.warn(
                    key,
                    node.line,
                    format!("expected text, found {}; ignored", node.describe()),
                );
                None
            }
        }
    }

    /// Texts of a list (or of a single value, when `single` allows it), with their lines.
    fn texts(&mut self, key: &str, node: &Node, single: bool) -> Vec<(String, usize)> {
        match &node.v {
            V::Seq(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    if let Some(t) = self.text(&format!("{key}[{i}]"), item) {
                        out.push((t, item.line));
                    }
                }
                out
            }
            V::Scalar(_, Ty::Null) => Vec::new(),
            V::Scalar(..) if single => self
                .text(key, node)
                .map(|t| vec![(t, node.line)])
                .unwrap_or_default(),
            _ => {
                self.warn(
                    key,
                    node.line,
                    format!("expected a list, found {}; ignored", node.describe()),
                );
                Vec::new()
            }
        }
    }

    /// true/false; YAML 1.1's yes/no/on/off are read with a warning.
    fn boolean(&mut self, key: &str, node: &Node) -> Option<bool> {
        match &node.v {
            V::Scalar(_, Ty::Bool(b)) => Some(*b),
            V::Scalar(_, Ty::Null) => None,
            V::Scalar(t, Ty::Str) if yaml11_bool(t).is_some() => {
                self.warn(
                    key,
                    node.line,
                    format!("{t:?} is true/false only in YAML 1.1; write true or false"),
                );
                yaml11_bool(t)
            }
            _ => {
                self.warn(
                    key,
                    node.line,
                    format!("expected true or false, found {}; ignored", node.describe()),
                );
                None
            }
        }
    }

    /// An enumerated value: warns (key, value, line) and gives `None` when it is not allowed.
    fn enumerated(&mut self, key: &str, node: &Node, allowed: &[&str]) -> Option<String> {
        let t = self.text(key, node)?;
        if allowed.contains(&t.as_str()) {
            Some(t)
        } else {
            self.warn(
                key,
                node.line,
                format!(
                    "{:?} is not one of: {}; ignored",
                    shorten(&t, 60),
                    allowed.join(", ")
                ),
            );
            None
        }
    }

    fn read(mut self, root_line: usize, top: &[Entry]) -> Result<Parsed, PubliccodeError> {
        let mut known: Vec<&str> = TOP_KEYS.to_vec();
        for e in top {
            // Country extensions: `de`/`DE` is read, every other country's section passed over.
            if e.key.len() == 2 && e.key.bytes().all(|b| b.is_ascii_alphabetic()) {
                known.push(&e.key);
            }
        }
        self.unknown_keys("", top, &known);

        let version = self.version(root_line, top);
        let Described {
            text: description,
            language,
            localised_name,
        } = self.description(top);
        let name = self.name(root_line, top, localised_name)?;
        let mut product = Product::new(name, String::new(), ProductKind::Software);
        product.description = description;

        let url = self.url(root_line, top, &mut product);
        if let Some(e) = get(top, "landingURL")
            && let Some(t) = self.text("landingURL", &e.value)
        {
            product.website = self.web_url("landingURL", e.value.line, &t);
        }

        let mut vendors: Vec<Candidate> = Vec::new();
        if let Some(e) = get(top, "organisation") {
            self.organisation(&e.value, &mut vendors);
        }
        if let Some(e) = get(top, "legal") {
            self.legal(&e.value, &mut product, &mut vendors);
        }
        // A missing vendor is reported where `legal` is, or would be: at the top.
        let legal_line = get(top, "legal").map_or(root_line, |e| e.line);
        product.vendor = self.vendor(legal_line, vendors, url.as_deref());

        if let Some(e) = get(top, "categories") {
            self.categories(&e.value, &mut product);
        }
        let mut prerequisites: Vec<String> = Vec::new();
        if let Some(e) = get(top, "platforms") {
            self.platforms(&e.value, &mut product, &mut prerequisites);
        }
        if let Some(e) = get(top, "dependsOn") {
            self.depends_on(&e.value, &mut product, &mut prerequisites);
        }
        if !prerequisites.is_empty() {
            let text = prerequisites.join("\n");
            match check_text("prerequisites", &text, 1, 5_000) {
                Ok(()) => product.prerequisites = Some(text),
                Err(e) => self.warn(
                    "dependsOn",
                    get(top, "dependsOn").map_or(root_line, |d| d.line),
                    format!(
                        "platforms and dependencies together {}; left out",
                        e.message
                    ),
                ),
            }
        }
        if let Some(e) = get(top, "maintenance") {
            self.maintenance(&e.value, &mut product);
        }
        for key in ["de", "DE"] {
            if let Some(e) = get(top, key) {
                self.german_extension(key, &e.value, &mut product);
            }
        }
        let used_by = match get(top, "usedBy") {
            Some(e) => self.used_by(&e.value),
            None => Vec::new(),
        };
        if let Some(e) = get(top, "developmentStatus") {
            self.enumerated("developmentStatus", &e.value, DEVELOPMENT_STATUSES);
        }
        if let Some(e) = get(top, "softwareType") {
            self.enumerated("softwareType", &e.value, SOFTWARE_TYPES);
        }
        if let Some(e) = get(top, "intendedAudience") {
            self.intended_audience(&e.value);
        }
        if let Some(e) = get(top, "localisation") {
            self.localisation(&e.value);
        }

        product.validate()?;
        let mut warnings = self.warnings;
        // In the order of the file; several warnings of one line keep their order.
        warnings.sort_by_key(|w| w.line);
        if self.dropped > 0 {
            let line = warnings.last().map_or(root_line, |w| w.line);
            warnings.push(Warning {
                key: String::new(),
                line,
                message: format!("{} further warnings left out", self.dropped),
            });
        }
        Ok(Parsed {
            product,
            used_by,
            url,
            language,
            version,
            warnings,
        })
    }

    fn version(&mut self, root_line: usize, top: &[Entry]) -> Option<String> {
        const KEY: &str = "publiccodeYmlVersion";
        let Some(e) = get(top, KEY) else {
            self.warn(
                KEY,
                root_line,
                "missing; the file is read by the rules of versions 0.2 to 0.7",
            );
            return None;
        };
        let v = self.text(KEY, &e.value)?;
        let known = {
            let mut parts = v.split('.');
            let major = parts.next();
            let minor = parts.next().and_then(|m| m.parse::<u32>().ok());
            let patch_ok = parts
                .next()
                .is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            major == Some("0")
                && minor.is_some_and(|m| (2..=7).contains(&m))
                && patch_ok
                && parts.next().is_none()
        };
        if !known {
            self.warn(
                KEY,
                e.value.line,
                format!(
                    "{:?} is not a version this importer knows (0.2 to 0.7); the file is read anyway",
                    shorten(&v, 40)
                ),
            );
        } else if matches!(e.value.v, V::Scalar(_, Ty::Float | Ty::Int)) {
            self.warn(
                KEY,
                e.value.line,
                format!(
                    "{v} is written as a number; the standard asks for text (\"{v}\"); read as {v}"
                ),
            );
        }
        Some(v)
    }

    /// The description of the preferred language, that language, and its localised name.
    fn description(&mut self, top: &[Entry]) -> Described {
        let Some(d) = get(top, "description") else {
            return Described::default();
        };
        let Some(langs) = self.mapping("description", &d.value) else {
            return Described::default();
        };
        let mut usable: Vec<(&str, &[Entry])> = Vec::new();
        for e in langs {
            let key = path("description", &e.key);
            if !is_language_tag(&e.key) {
                self.warn(
                    &key,
                    e.line,
                    "not a language tag: descriptions go under a language such as de or en; ignored",
                );
                continue;
            }
            if let Some(fields) = self.mapping(&key, &e.value) {
                self.unknown_keys(&key, fields, DESCRIPTION_KEYS);
                usable.push((&e.key, fields));
            }
        }
        let lower = |l: &str| l.to_ascii_lowercase();
        let pick = usable
            .iter()
            .position(|(l, _)| lower(l) == "de")
            .or_else(|| usable.iter().position(|(l, _)| lower(l).starts_with("de-")))
            .or_else(|| usable.iter().position(|(l, _)| lower(l) == "en"))
            .or_else(|| usable.iter().position(|(l, _)| lower(l).starts_with("en-")))
            .or(if usable.is_empty() { None } else { Some(0) });
        let Some(i) = pick else {
            return Described::default();
        };
        let (lang, fields) = usable[i];
        let at = path("description", lang);
        let text_of = |r: &mut Self, k: &str| -> Option<(String, usize)> {
            let e = get(fields, k)?;
            r.text(&path(&at, k), &e.value).map(|t| (t, e.value.line))
        };
        let long = text_of(self, "longDescription");
        let short = text_of(self, "shortDescription");
        let localised =
            text_of(self, "localisedName").map(|(t, l)| (path(&at, "localisedName"), l, t));
        let mut description = None;
        if let Some((long, line)) = long {
            match strip_facts(&long) {
                Some("") => {}
                Some(rest) => description = Some((rest.to_owned(), line, "longDescription")),
                None => description = Some((long, line, "longDescription")),
            }
        } else if let Some((short, line)) = short {
            description = Some((short, line, "shortDescription"));
        }
        let description = description.and_then(|(text, line, key)| {
            match check_text("description", &text, 1, 20_000) {
                Ok(()) => Some(text),
                Err(e) => {
                    self.warn(&path(&at, key), line, format!("{}; left out", e.message));
                    None
                }
            }
        });
        Described {
            text: description,
            language: Some(lang.to_owned()),
            localised_name: localised,
        }
    }

    fn name(
        &mut self,
        root_line: usize,
        top: &[Entry],
        localised: Option<Candidate>,
    ) -> Result<String, PubliccodeError> {
        let mut reason = "the key name is missing".to_owned();
        let mut line = root_line;
        if let Some(e) = get(top, "name") {
            line = e.line;
            match self.text("name", &e.value) {
                Some(n) => match check_text("name", &n, 1, 200) {
                    Ok(()) => return Ok(n),
                    Err(err) => reason = format!("name {}", err.message),
                },
                None => reason = format!("name is {}", e.value.describe()),
            }
        }
        if let Some((key, l, n)) = localised
            && check_text("name", &n, 1, 200).is_ok()
        {
            self.warn(
                "name",
                line,
                format!("{reason}; the localised name from {key} (line {l}) is used"),
            );
            return Ok(n);
        }
        Err(PubliccodeError::NoName { line, reason })
    }

    fn url(&mut self, root_line: usize, top: &[Entry], product: &mut Product) -> Option<String> {
        let Some(e) = get(top, "url") else {
            self.warn(
                "url",
                root_line,
                "missing; the product is identified by its name",
            );
            return None;
        };
        let raw = self.text("url", &e.value)?;
        if let Ok(u) = raw.parse::<WebUrl>() {
            product.repository = Some(u);
            return Some(raw);
        }
        if scp_like(&raw).is_some() {
            self.warn(
                "url",
                e.value.line,
                format!(
                    "{:?} is not an http(s) URL: kept as the identity, not as the repository link",
                    shorten(&raw, 80)
                ),
            );
            return Some(raw);
        }
        self.warn(
            "url",
            e.value.line,
            format!(
                "{:?} is not a repository URL; ignored, the product is identified by its name",
                shorten(&raw, 80)
            ),
        );
        None
    }

    fn web_url(&mut self, key: &str, line: usize, raw: &str) -> Option<WebUrl> {
        match raw.parse::<WebUrl>() {
            Ok(u) => Some(u),
            Err(e) => {
                self.warn(key, line, format!("{}; ignored", e.message));
                None
            }
        }
    }

    fn organisation(&mut self, node: &Node, vendors: &mut Vec<Candidate>) {
        let Some(fields) = self.mapping("organisation", node) else {
            return;
        };
        self.unknown_keys("organisation", fields, &["name", "uri"]);
        if let Some(e) = get(fields, "name")
            && let Some(t) = self.text("organisation.name", &e.value)
        {
            vendors.push(("organisation.name".into(), e.value.line, t));
        }
    }

    fn legal(&mut self, node: &Node, product: &mut Product, vendors: &mut Vec<Candidate>) {
        let Some(fields) = self.mapping("legal", node) else {
            return;
        };
        self.unknown_keys(
            "legal",
            fields,
            &["license", "mainCopyrightOwner", "repoOwner", "authorsFile"],
        );
        if let Some(e) = get(fields, "license")
            && let Some(t) = self.text("legal.license", &e.value)
        {
            match t.parse::<Licence>() {
                Ok(l) => product.licence = Some(l),
                Err(err) => self.warn(
                    "legal.license",
                    e.value.line,
                    format!("{}; left out", err.message),
                ),
            }
        }
        for key in ["repoOwner", "mainCopyrightOwner"] {
            if let Some(e) = get(fields, key)
                && let Some(t) = self.text(&path("legal", key), &e.value)
            {
                vendors.push((path("legal", key), e.value.line, t));
            }
        }
    }

    fn vendor(&mut self, line: usize, candidates: Vec<Candidate>, url: Option<&str>) -> String {
        for (key, at, v) in candidates {
            match check_text("vendor", &v, 1, 200) {
                Ok(()) => return v,
                Err(e) => self.warn(&key, at, format!("as vendor, {}; not used", e.message)),
            }
        }
        if let Some(owner) = url.and_then(repo_owner) {
            self.warn(
                "legal.repoOwner",
                line,
                format!("no organisation, repoOwner or mainCopyrightOwner; the vendor is the repository owner {owner:?} from url"),
            );
            return owner;
        }
        self.warn(
            "legal.repoOwner",
            line,
            "no organisation, repoOwner or mainCopyrightOwner; the vendor is recorded as \"unbekannt\"",
        );
        "unbekannt".to_owned()
    }

    fn categories(&mut self, node: &Node, product: &mut Product) {
        for (i, (c, line)) in self.texts("categories", node, true).into_iter().enumerate() {
            let key = format!("categories[{i}]");
            let slug = c.to_lowercase();
            if CATEGORIES.binary_search(&slug.as_str()).is_err() {
                self.warn(
                    &key,
                    line,
                    format!(
                        "{:?} is not in the category list of publiccode.yml; left out",
                        shorten(&c, 60)
                    ),
                );
            } else if product.categories.len() >= 50 {
                self.warn(&key, line, "more than 50 categories; left out");
            } else if !product.categories.contains(&slug) {
                product.categories.push(slug);
            }
        }
    }

    fn platforms(&mut self, node: &Node, product: &mut Product, prerequisites: &mut Vec<String>) {
        let mut named = Vec::new();
        for (p, _) in self.texts("platforms", node, true) {
            match p.parse::<HostingModel>() {
                Ok(h) => {
                    if !product.hosting.contains(&h) {
                        product.hosting.push(h);
                    }
                }
                Err(_) => {
                    if !named.contains(&p) {
                        named.push(p);
                    }
                }
            }
        }
        if !named.is_empty() {
            prerequisites.push(format!("{PLATFORMS_PREFIX}{}", named.join(", ")));
        }
    }

    fn depends_on(&mut self, node: &Node, product: &mut Product, prerequisites: &mut Vec<String>) {
        let Some(fields) = self.mapping("dependsOn", node) else {
            return;
        };
        self.unknown_keys("dependsOn", fields, &["open", "proprietary", "hardware"]);
        for (key, label) in [
            ("open", "Abhängigkeiten (Open Source)"),
            ("proprietary", "Abhängigkeiten (proprietär)"),
            ("hardware", "Hardware"),
        ] {
            let Some(e) = get(fields, key) else {
                continue;
            };
            let at = path("dependsOn", key);
            let items: &[Node] = match &e.value.v {
                V::Seq(items) => items,
                _ if e.value.is_null() => continue,
                _ => {
                    self.warn(
                        &at,
                        e.value.line,
                        format!("expected a list, found {}; ignored", e.value.describe()),
                    );
                    continue;
                }
            };
            let mut parts = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let at = format!("{at}[{i}]");
                if let Some(d) = self.dependency(&at, item) {
                    if let Some(s) = reference::standard(&d.0)
                        && !product.standards.iter().any(|x| x == s.name)
                        && product.standards.len() < 100
                    {
                        product.standards.push(s.name.to_owned());
                    }
                    parts.push(d.1);
                }
            }
            if !parts.is_empty() {
                prerequisites.push(format!("{label}: {}", parts.join("; ")));
            }
        }
    }

    /// A dependency: its name, and its description with versions.
    fn dependency(&mut self, at: &str, node: &Node) -> Option<(String, String)> {
        let fields = self.mapping(at, node)?;
        self.unknown_keys(
            at,
            fields,
            &["name", "versionMin", "versionMax", "version", "optional"],
        );
        let Some(name) = get(fields, "name").and_then(|e| self.text(&path(at, "name"), &e.value))
        else {
            self.warn(at, node.line, "a dependency without name; ignored");
            return None;
        };
        let mut value = |k: &str| {
            let e = get(fields, k)?;
            self.text(&path(at, k), &e.value)
        };
        let (version, min, max) = (value("version"), value("versionMin"), value("versionMax"));
        let mut out = name.clone();
        match (version, min, max) {
            (Some(v), _, _) => write!(out, " {v}"),
            (None, Some(a), Some(b)) if a == b => write!(out, " {a}"),
            (None, Some(a), Some(b)) => write!(out, " {a}–{b}"),
            (None, Some(a), None) => write!(out, " ≥ {a}"),
            (None, None, Some(b)) => write!(out, " ≤ {b}"),
            (None, None, None) => Ok(()),
        }
        .ok()?;
        if let Some(e) = get(fields, "optional")
            && self.boolean(&path(at, "optional"), &e.value) == Some(true)
        {
            out.push_str(" (optional)");
        }
        Some((name, out))
    }

    fn maintenance(&mut self, node: &Node, product: &mut Product) {
        let Some(fields) = self.mapping("maintenance", node) else {
            return;
        };
        self.unknown_keys("maintenance", fields, &["type", "contractors", "contacts"]);
        let kind = get(fields, "type")
            .and_then(|e| self.enumerated("maintenance.type", &e.value, MAINTENANCE_TYPES));
        let mut contractors = Vec::new();
        if let Some(e) = get(fields, "contractors") {
            contractors = self.contractors(&e.value);
        }
        if let Some(e) = get(fields, "contacts") {
            // Checked for the warnings, never stored: contacts are people.
            self.contacts(&e.value);
        }
        let sla = match kind.as_deref() {
            Some("internal") => format!("{MAINTENANCE_PREFIX}{INTERNAL}"),
            Some("community") => format!("{MAINTENANCE_PREFIX}{COMMUNITY}"),
            Some("none") => format!("{MAINTENANCE_PREFIX}{NONE}"),
            Some("contract") if contractors.is_empty() => format!("{MAINTENANCE_PREFIX}{CONTRACT}"),
            Some("contract") => format!(
                "{MAINTENANCE_PREFIX}{CONTRACT} mit {}",
                contractors.join("; ")
            ),
            _ => return,
        };
        match check_text("sla", &sla, 1, 2_000) {
            Ok(()) => product.sla = Some(sla),
            Err(e) => self.warn(
                "maintenance.contractors",
                node.line,
                format!("{}; left out", e.message),
            ),
        }
    }

    /// Contractors as `Name (bis YYYY-MM-DD)`.
    fn contractors(&mut self, node: &Node) -> Vec<String> {
        let V::Seq(items) = &node.v else {
            if !node.is_null() {
                self.warn(
                    "maintenance.contractors",
                    node.line,
                    format!("expected a list, found {}; ignored", node.describe()),
                );
            }
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("maintenance.contractors[{i}]");
            let Some(fields) = self.mapping(&at, item) else {
                continue;
            };
            self.unknown_keys(&at, fields, &["name", "until", "email", "website"]);
            let Some(name) =
                get(fields, "name").and_then(|e| self.text(&path(&at, "name"), &e.value))
            else {
                self.warn(&at, item.line, "a contractor without name; ignored");
                continue;
            };
            let name = collapse_whitespace(&name);
            match get(fields, "until").and_then(|e| {
                self.text(&path(&at, "until"), &e.value)
                    .map(|t| (t, e.value.line))
            }) {
                Some((until, line)) => match until.parse::<allmende_protocol::schema::Date>() {
                    Ok(d) => out.push(format!("{name} (bis {d})")),
                    Err(e) => {
                        self.warn(
                            &path(&at, "until"),
                            line,
                            format!("{}; the date is left out", e.message),
                        );
                        out.push(name);
                    }
                },
                None => out.push(name),
            }
        }
        out
    }

    fn contacts(&mut self, node: &Node) {
        let V::Seq(items) = &node.v else {
            if !node.is_null() {
                self.warn(
                    "maintenance.contacts",
                    node.line,
                    format!("expected a list, found {}; ignored", node.describe()),
                );
            }
            return;
        };
        for (i, item) in items.iter().enumerate() {
            let at = format!("maintenance.contacts[{i}]");
            if let Some(fields) = self.mapping(&at, item) {
                self.unknown_keys(&at, fields, &["name", "email", "phone", "affiliation"]);
            }
        }
    }

    fn german_extension(&mut self, key: &str, node: &Node, product: &mut Product) {
        let Some(fields) = self.mapping(key, node) else {
            return;
        };
        self.unknown_keys(key, fields, &["countryExtensionVersion", "leika"]);
        let Some(e) = get(fields, "leika") else {
            return;
        };
        let at = path(key, "leika");
        let items: &[Node] = match &e.value.v {
            V::Seq(items) => items,
            _ if e.value.is_null() => return,
            _ => {
                self.warn(
                    &at,
                    e.value.line,
                    format!("expected a list, found {}; ignored", e.value.describe()),
                );
                return;
            }
        };
        for (i, item) in items.iter().enumerate() {
            let at = format!("{at}[{i}]");
            if let V::Scalar(..) = item.v {
                // A bare key instead of an entry: read as its leika-id.
                if let Some(t) = self.text(&at, item) {
                    self.task(&at, item.line, &t, product);
                }
                continue;
            }
            let Some(entry) = self.mapping(&at, item) else {
                continue;
            };
            self.unknown_keys(
                &at,
                entry,
                &["themenfeld", "lebenslage", "ozg-id", "leika-id"],
            );
            if let Some(e) = get(entry, "leika-id")
                && let Some(t) = self.text(&path(&at, "leika-id"), &e.value)
            {
                self.task(&path(&at, "leika-id"), e.value.line, &t, product);
            }
            if let Some(e) = get(entry, "ozg-id")
                && let Some(t) = self.text(&path(&at, "ozg-id"), &e.value)
            {
                let key = path(&at, "ozg-id");
                if t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    self.push_task(&key, e.value.line, &format!("ozg:{t}"), product);
                } else {
                    self.warn(
                        &key,
                        e.value.line,
                        format!("{:?} is not an OZG id; ignored", shorten(&t, 40)),
                    );
                }
            }
            if let Some(e) = get(entry, "themenfeld")
                && let Some(t) = self.text(&path(&at, "themenfeld"), &e.value)
            {
                match reference::themenfeld(&t) {
                    Some(tf) => {
                        if !product.categories.iter().any(|c| c == tf.name)
                            && product.categories.len() < 50
                        {
                            product.categories.push(tf.name.to_owned());
                        }
                    }
                    None => self.warn(
                        &path(&at, "themenfeld"),
                        e.value.line,
                        format!(
                            "{:?} is not one of the 14 OZG Themenfelder; ignored",
                            shorten(&t, 60)
                        ),
                    ),
                }
            }
        }
    }

    /// A LeiKa key: exactly 14 digits.
    fn task(&mut self, key: &str, line: usize, t: &str, product: &mut Product) {
        if t.len() == 14 && t.bytes().all(|b| b.is_ascii_digit()) {
            self.push_task(key, line, t, product);
        } else {
            self.warn(
                key,
                line,
                format!(
                    "{:?} is not a LeiKa key (14 digits); ignored",
                    shorten(t, 40)
                ),
            );
        }
    }

    fn push_task(&mut self, key: &str, line: usize, t: &str, product: &mut Product) {
        match t.parse::<Task>() {
            Ok(task) if product.tasks.contains(&task) => {}
            Ok(_) if product.tasks.len() >= 500 => {
                self.warn(key, line, "more than 500 tasks; left out")
            }
            Ok(task) => product.tasks.push(task),
            Err(e) => self.warn(key, line, format!("{}; ignored", e.message)),
        }
    }

    fn used_by(&mut self, node: &Node) -> Vec<String> {
        let mut out = Vec::new();
        for (i, (u, line)) in self.texts("usedBy", node, true).into_iter().enumerate() {
            let u = collapse_whitespace(&u);
            match check_text("usedBy", &u, 1, 200) {
                Ok(()) if !out.contains(&u) => out.push(u),
                Ok(()) => {}
                Err(e) => self.warn(
                    &format!("usedBy[{i}]"),
                    line,
                    format!("{}; ignored", e.message),
                ),
            }
        }
        out
    }

    fn intended_audience(&mut self, node: &Node) {
        let Some(fields) = self.mapping("intendedAudience", node) else {
            return;
        };
        self.unknown_keys(
            "intendedAudience",
            fields,
            &["countries", "unsupportedCountries", "scope"],
        );
        if let Some(e) = get(fields, "scope") {
            for (i, (s, line)) in self
                .texts("intendedAudience.scope", &e.value, false)
                .into_iter()
                .enumerate()
            {
                if !SCOPES.contains(&s.as_str()) {
                    self.warn(
                        &format!("intendedAudience.scope[{i}]"),
                        line,
                        format!(
                            "{:?} is not in the scope list of publiccode.yml; ignored",
                            shorten(&s, 60)
                        ),
                    );
                }
            }
        }
        for key in ["countries", "unsupportedCountries"] {
            let Some(e) = get(fields, key) else {
                continue;
            };
            let at = path("intendedAudience", key);
            for (i, (c, line)) in self.texts(&at, &e.value, false).into_iter().enumerate() {
                if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_alphabetic()) {
                    self.warn(
                        &format!("{at}[{i}]"),
                        line,
                        format!(
                            "{:?} is not a two-letter country code; ignored",
                            shorten(&c, 20)
                        ),
                    );
                } else if key == "unsupportedCountries" && c.eq_ignore_ascii_case("de") {
                    self.warn(
                        &format!("{at}[{i}]"),
                        line,
                        "the file declares Germany unsupported",
                    );
                }
            }
        }
    }

    fn localisation(&mut self, node: &Node) {
        let Some(fields) = self.mapping("localisation", node) else {
            return;
        };
        self.unknown_keys(
            "localisation",
            fields,
            &["localisationReady", "availableLanguages"],
        );
        if let Some(e) = get(fields, "localisationReady") {
            self.boolean("localisation.localisationReady", &e.value);
        }
        if let Some(e) = get(fields, "availableLanguages") {
            for (i, (l, line)) in self
                .texts("localisation.availableLanguages", &e.value, false)
                .into_iter()
                .enumerate()
            {
                if !is_language_tag(&l) {
                    self.warn(
                        &format!("localisation.availableLanguages[{i}]"),
                        line,
                        format!("{:?} is not a language tag; ignored", shorten(&l, 40)),
                    );
                }
            }
        }
    }
}

const PLATFORMS_PREFIX: &str = "Plattformen: ";
const MAINTENANCE_PREFIX: &str = "Wartung: ";
const INTERNAL: &str = "intern (durch den Herausgeber)";
const COMMUNITY: &str = "durch eine Community";
const NONE: &str = "keine (nicht aktiv gepflegt)";
const CONTRACT: &str = "per Vertrag";

fn yaml11_bool(t: &str) -> Option<bool> {
    match t.to_ascii_lowercase().as_str() {
        "yes" | "on" | "y" => Some(true),
        "no" | "off" | "n" => Some(false),
        _ => None,
    }
}

/// A BCP 47 tag in its common shape: a primary subtag of 2–3 letters, then subtags of 1–8
/// letters or digits.
fn is_language_tag(t: &str) -> bool {
    let mut parts = t.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    primary_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The description without the paragraph of catalog facts an export appended, if it has one.
fn strip_facts(long: &str) -> Option<&str> {
    if long.starts_with(FACTS_MARKER) {
        return Some("");
    }
    long.rfind(&format!("\n\n{FACTS_MARKER}"))
        .map(|i| long[..i].trim_end())
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most `max` characters of `s`, for messages.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

/// `user@host:path` (the scp form git accepts): host and path.
fn scp_like(t: &str) -> Option<(String, String)> {
    if t.contains("://") || t.chars().any(char::is_whitespace) {
        return None;
    }
    let (user_host, path) = t.split_once(':')?;
    let (_, host) = user_host.split_once('@')?;
    if host.is_empty() || host.contains('/') || path.is_empty() {
        return None;
    }
    Some((host.to_lowercase(), path.to_owned()))
}

/// The normalised repository key (`host/path`), when `t` is a repository URL.
fn repo_key(t: &str) -> Option<String> {
    let (host, path) = match url::Url::parse(t) {
        Ok(u) => {
            let host = u.host_str().filter(|h| !h.is_empty())?.to_owned();
            let host = match u.port() {
                Some(p) => format!("{host}:{p}"),
                None => host,
            };
            (host, u.path().to_owned())
        }
        Err(_) => scp_like(t)?,
    };
    let mut path = path.trim_matches('/');
    while let Some(p) = path.strip_suffix(".git") {
        path = p.trim_end_matches('/');
    }
    Some(if path.is_empty() {
        host
    } else {
        format!("{host}/{path}")
    })
}

/// The first path segment of a repository URL (`foodcoops` of github.com/foodcoops/foodsoft).
fn repo_owner(url: &str) -> Option<String> {
    let key = repo_key(url)?;
    let mut segments = key.split('/').skip(1);
    let owner = segments.next()?;
    segments.next()?;
    (!owner.is_empty()).then(|| owner.to_owned())
}

// ---------------------------------------------------------------------------------------------
// Export

/// Writes `product` as a publiccode.yml 0.4 file (see the module documentation for the choices
/// made where the catalog has no value). `id` is named in the header comment.
pub fn export(product: &Product, id: &DocId) -> String {
    let mut y = String::new();
    let mut line = |s: &str| {
        y.push_str(s);
        y.push('\n');
    };
    line(&format!(
        "# publiccode.yml {EXPORT_VERSION}, exported from the Allmende catalog (entry {id:#})."
    ));
    line("# Allmende keeps no names of people: check maintenance before publishing.");
    line(&format!("publiccodeYmlVersion: {}", quote(EXPORT_VERSION)));
    line(&format!("name: {}", quote(&product.name)));
    match (&product.repository, &product.website) {
        (Some(r), w) => {
            line(&format!("url: {}", quote(r.as_str())));
            if let Some(w) = w.as_ref().filter(|w| w.as_str() != r.as_str()) {
                line(&format!("landingURL: {}", quote(w.as_str())));
            }
        }
        (None, Some(w)) => {
            line("# The entry has no repository; url names its website instead.");
            line(&format!("url: {}", quote(w.as_str())));
            line(&format!("landingURL: {}", quote(w.as_str())));
        }
        (None, None) => {
            line("# url is mandatory: this entry has neither a repository nor a website. Add the");
            line("# repository's URL here before publishing.");
        }
    }

    let platforms = export_platforms(product);
    line("platforms:");
    for p in &platforms {
        line(&format!("  - {}", quote(p)));
    }
    let categories: Vec<&String> = product
        .categories
        .iter()
        .filter(|c| CATEGORIES.binary_search(&c.as_str()).is_ok())
        .collect();
    if !categories.is_empty() {
        line("categories:");
        for c in categories {
            line(&format!("  - {}", quote(c)));
        }
    }
    line("developmentStatus: \"stable\"");
    line(&format!(
        "softwareType: {}",
        quote(software_type(product.kind, &platforms))
    ));

    line("description:");
    line("  de:");
    line(&format!(
        "    shortDescription: {}",
        quote(&short_description(product))
    ));
    line(&format!(
        "    longDescription: {}",
        block_or_quote(&long_description(product), 6)
    ));
    line("    features:");
    for f in features(product) {
        line(&format!("      - {}", quote(&f)));
    }

    line("legal:");
    match &product.licence {
        Some(l) => line(&format!("  license: {}", quote(l.as_str()))),
        None => line("  # license is mandatory: this entry names no licence. Add its SPDX id."),
    }
    line(&format!("  repoOwner: {}", quote(&product.vendor)));

    line("maintenance:");
    match maintenance(product) {
        Maintenance::Contract(contractors) => {
            line("  type: \"contract\"");
            line("  contractors:");
            for (name, until) in contractors {
                line(&format!("    - name: {}", quote(&name)));
                line(&format!("      until: {}", quote(&until)));
            }
        }
        Maintenance::None => line("  type: \"none\""),
        Maintenance::WithContact(kind) => {
            line(&format!("  type: {}", quote(kind)));
            line("  contacts:");
            line(&format!("    - name: {}", quote(&product.vendor)));
        }
    }

    line("localisation:");
    line("  localisationReady: false");
    line("  availableLanguages:");
    line("    - \"de\"");

    let leika: Vec<&str> = product.tasks.iter().filter_map(|t| t.leika()).collect();
    if !leika.is_empty() {
        line("de:");
        line("  countryExtensionVersion: \"1.0\"");
        line("  leika:");
        for key in leika {
            line(&format!("    - leika-id: {}", quote(key)));
        }
    }
    y
}

enum Maintenance {
    Contract(Vec<(String, String)>),
    None,
    WithContact(&'static str),
}

/// The maintenance an import recorded in `sla`, else `internal`.
fn maintenance(product: &Product) -> Maintenance {
    let Some(rest) = product
        .sla
        .as_deref()
        .and_then(|s| s.lines().next())
        .and_then(|l| l.strip_prefix(MAINTENANCE_PREFIX))
    else {
        return Maintenance::WithContact("internal");
    };
    if rest == COMMUNITY {
        return Maintenance::WithContact("community");
    }
    if rest == NONE {
        return Maintenance::None;
    }
    if let Some(list) = rest
        .strip_prefix(CONTRACT)
        .and_then(|r| r.strip_prefix(" mit "))
    {
        let mut contractors = Vec::new();
        for c in list.split("; ") {
            // The standard requires an end date for every contractor.
            let Some((name, until)) = c.strip_suffix(')').and_then(|c| c.rsplit_once(" (bis "))
            else {
                return Maintenance::WithContact("internal");
            };
            contractors.push((name.to_owned(), until.to_owned()));
        }
        return Maintenance::Contract(contractors);
    }
    Maintenance::WithContact("internal")
}

/// Platforms an import recorded in `prerequisites`, `web` for a hosted product, else `web`.
fn export_platforms(product: &Product) -> Vec<String> {
    let mut out: Vec<String> = product
        .prerequisites
        .as_deref()
        .into_iter()
        .flat_map(str::lines)
        .filter_map(|l| l.strip_prefix(PLATFORMS_PREFIX))
        .flat_map(|l| l.split(", "))
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    let hosted = product
        .hosting
        .iter()
        .any(|h| matches!(h, HostingModel::Saas | HostingModel::Cloud));
    if (hosted || out.is_empty()) && !out.iter().any(|p| p == "web") {
        out.push("web".into());
    }
    out
}

fn software_type(kind: ProductKind, platforms: &[String]) -> &'static str {
    let has = |p: &str| platforms.iter().any(|x| x.eq_ignore_ascii_case(p));
    match kind {
        ProductKind::Onlinedienst => "standalone/web",
        ProductKind::Basiskomponente => "standalone/backend",
        ProductKind::Software | ProductKind::Fachverfahren => {
            if has("web") {
                "standalone/web"
            } else if has("windows") || has("mac") || has("linux") {
                "standalone/desktop"
            } else if has("ios") || has("android") {
                "standalone/mobile"
            } else {
                "standalone/other"
            }
        }
    }
}

fn kind_label(kind: ProductKind) -> &'static str {
    match kind {
        ProductKind::Software => "Software",
        ProductKind::Fachverfahren => "Fachverfahren",
        ProductKind::Onlinedienst => "Onlinedienst",
        ProductKind::Basiskomponente => "Basiskomponente",
    }
}

/// The description's first line (the standard asks for one line, one sentence), at most 150
/// characters, cut at a word where it can be.
fn short_description(product: &Product) -> String {
    let first_line = product
        .description
        .as_deref()
        .and_then(|d| d.lines().map(str::trim).find(|l| !l.is_empty()))
        .map(collapse_whitespace);
    let text = match first_line {
        Some(l) => l,
        None => format!(
            "{} ({})",
            collapse_whitespace(&product.name),
            kind_label(product.kind)
        ),
    };
    cut(&text, 150)
}

/// `s` when it has at most `max` characters, else cut before a space and ended with `…`.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let head: String = s.chars().take(max - 1).collect();
    let head = match head.rfind(' ') {
        Some(i) if i > head.len() / 2 => head[..i].trim_end().to_owned(),
        _ => head,
    };
    format!("{head}…")
}

/// The description, followed by a paragraph of facts when it is shorter than 150 characters.
fn long_description(product: &Product) -> String {
    const MIN: usize = 150;
    const MAX: usize = 10_000;
    let description = product.description.as_deref().unwrap_or("").trim();
    if description.chars().count() >= MIN {
        return cut(description, MAX);
    }
    let mut facts = format!(
        "{FACTS_MARKER} {} ist ein Eintrag der Art {}, Hersteller oder Anbieter: {}.",
        collapse_whitespace(&product.name),
        kind_label(product.kind),
        collapse_whitespace(&product.vendor)
    );
    if let Some(l) = &product.licence {
        let _ = write!(facts, " Lizenz: {l}.");
    }
    facts.push_str(
        " Der Eintrag stammt aus Allmende, dem föderierten Referenzkatalog für Software der öffentlichen Verwaltung.",
    );
    let text = if description.is_empty() {
        facts
    } else {
        format!("{description}\n\n{facts}")
    };
    cut(&text, MAX)
}

fn features(product: &Product) -> Vec<String> {
    let mut out = Vec::new();
    for t in &product.tasks {
        out.push(if let Some(k) = t.leika() {
            format!("LeiKa-Leistung {k}")
        } else if let Some(ozg) = t.as_str().strip_prefix("ozg:") {
            format!("OZG-Leistung {ozg}")
        } else {
            format!("Aufgabe: {}", collapse_whitespace(t.as_str()))
        });
    }
    for s in &product.standards {
        out.push(format!("Schnittstelle: {}", collapse_whitespace(s)));
    }
    if out.is_empty() {
        out.push(short_description(product));
    }
    out
}

/// A double-quoted YAML scalar: `\`, `"` and every character outside YAML's printable set
/// (and the line separators YAML would fold) escaped.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        )
}

/// A literal block (`|-`) for multi-line text that a block can hold exactly, else a quoted
/// scalar. `indent` is the block's indentation in spaces.
fn block_or_quote(s: &str, indent: usize) -> String {
    let safe = s.contains('\n')
        && !s.starts_with(char::is_whitespace)
        && !s.ends_with(char::is_whitespace)
        && !s
            .chars()
            .any(|c| c == '\r' || c == '\t' || (c != '\n' && needs_escape(c)))
        && s.lines().all(|l| l.is_empty() || !l.trim().is_empty());
    if !safe {
        return quote(s);
    }
    let pad = " ".repeat(indent);
    let mut out = String::from("|-");
    for l in s.split('\n') {
        out.push('\n');
        if !l.is_empty() {
            out.push_str(&pad);
            out.push_str(l);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_schema_types() {
        assert_eq!(core_type("0.4"), Ty::Float);
        assert_eq!(core_type("0.5.0"), Ty::Str);
        assert_eq!(core_type("14"), Ty::Int);
        assert_eq!(core_type("-1e5"), Ty::Float);
        assert_eq!(core_type(".5"), Ty::Float);
        assert_eq!(core_type("1."), Ty::Float);
        assert_eq!(core_type("no"), Ty::Str);
        assert_eq!(core_type("true"), Ty::Bool(true));
        assert_eq!(core_type("~"), Ty::Null);
        assert_eq!(core_type("2025-01-01"), Ty::Str);
        assert_eq!(core_type("0x1F"), Ty::Int);
        assert_eq!(core_type("e5"), Ty::Str);
        assert_eq!(core_type("."), Ty::Str);
    }

    #[test]
    fn repository_keys_are_normalised() {
        let same = [
            "https://github.com/foodcoops/foodsoft",
            "https://GitHub.com/foodcoops/foodsoft.git",
            "http://github.com/foodcoops/foodsoft/",
            "https://user@github.com/foodcoops/foodsoft.git/?tab=readme#x",
            "git@github.com:foodcoops/foodsoft.git",
        ];
        for u in same {
            assert_eq!(
                repo_key(u).as_deref(),
                Some("github.com/foodcoops/foodsoft"),
                "{u}"
            );
            assert_eq!(product_nonce(u), product_nonce(same[0]), "{u}");
        }
        assert_ne!(
            product_nonce("https://github.com/foodcoops/Foodsoft"),
            product_nonce(same[0]),
            "paths keep their case"
        );
        assert_eq!(repo_key("Foodsoft"), None);
        assert_eq!(product_nonce("  Food  Soft "), product_nonce("food soft"));
        assert_ne!(product_nonce("foodsoft"), product_nonce(same[0]));
        assert_eq!(
            repo_owner("https://github.com/foodcoops/foodsoft.git").as_deref(),
            Some("foodcoops")
        );
        assert_eq!(repo_owner("https://example.org/"), None);
    }

    #[test]
    fn cutting_respects_char_boundaries() {
        let s = "ä".repeat(300);
        let c = cut(&s, 150);
        assert_eq!(c.chars().count(), 150);
        assert!(c.ends_with('…'));
        let words = "Wort ".repeat(60);
        let c = cut(words.trim(), 150);
        assert!(c.chars().count() <= 150);
        assert!(c.ends_with("Wort…"), "{c}");
    }

    #[test]
    fn deep_nesting_is_refused_without_recursion() {
        let deep = "- ".repeat(200_000) + "x\n";
        let e = parse(&deep).unwrap_err();
        assert!(matches!(e, PubliccodeError::Yaml { line: 1, .. }), "{e}");
        let flow = "[".repeat(100) + &"]".repeat(100);
        assert!(matches!(parse(&flow), Err(PubliccodeError::Yaml { .. })));
    }

    #[test]
    fn aliases_are_bounded() {
        let mut y = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..8 {
            let prev = if i == 0 {
                "a".to_owned()
            } else {
                format!("l{}", i - 1)
            };
            y.push_str(&format!("l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let e = parse(&y).unwrap_err();
        assert!(e.to_string().contains("aliases expand"), "{e}");
    }

    #[test]
    fn warnings_are_capped() {
        let mut y = String::from("name: x\nurl: https://example.org/a/b\n");
        for i in 0..600 {
            y.push_str(&format!("k{i}: v\n"));
        }
        let p = parse(&y).unwrap();
        assert_eq!(p.warnings.len(), MAX_WARNINGS + 1);
        // 600 unknown keys, the missing version and the vendor taken from the URL.
        assert_eq!(
            p.warnings[MAX_WARNINGS].message,
            "102 further warnings left out"
        );
    }

    #[test]
    fn quoting_escapes_what_yaml_would_misread() {
        assert_eq!(quote("a\"b\\c\nd\te"), r#""a\"b\\c\nd\te""#);
        assert_eq!(quote("\u{7}\u{85}\u{2028}"), r#""\u0007\u0085\u2028""#);
        assert_eq!(block_or_quote("a\n\nb", 2), "|-\n  a\n\n  b");
        assert_eq!(block_or_quote(" a\nb", 2), "\" a\\nb\"");
        assert_eq!(block_or_quote("a\n  \nb", 2), "\"a\\n  \\nb\"");
    }
}
