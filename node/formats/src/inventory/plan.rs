//! The import plan: every row matched to a product (existing, chosen, or new) and to the
//! organisation's existing deployment of it, so that a re-import updates, ends and adds
//! instead of duplicating. The plan is what the preview shows and, once confirmed, what the
//! repository thread writes as one batch.

use std::collections::{BTreeMap, BTreeSet};

use allmende_catalog::inventory_match::{self, Candidate, Decision, Entry, Matcher};
use allmende_protocol::doc::DocHeader;
use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::schema::{
    Deployment, DeploymentStatus, OperatedBy, Product, ProductKind, Validate, WebUrl,
};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use super::mapping::{self, Remembered};
use super::values::OperatorText;
use super::{Field, Issue, Parsed, Position, Row, Severity};

/// What the user decided for a row's product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "use", content = "product")]
pub enum RowChoice {
    /// This catalog entry.
    Existing(DocId),
    /// A new entry.
    New,
    /// Leave the row out.
    Skip,
}

/// The user's decisions on a preview.
#[derive(Debug, Clone, Default)]
pub struct Decisions {
    /// Per row number (as the spreadsheet shows it).
    pub rows: BTreeMap<usize, RowChoice>,
    /// Deployment keys not to end although the file no longer lists them.
    pub keep: BTreeSet<String>,
    /// Leave rows with errors out instead of refusing the import.
    pub skip_errors: bool,
}

/// What happens to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A new deployment.
    Add,
    /// An existing deployment changes.
    Update,
    /// An existing deployment stays as it is.
    Unchanged,
    /// The product is unclear: choose a candidate or a new entry.
    Choose,
    /// Left out (an error, or skipped by choice).
    Skip,
}

/// How the product was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Matched {
    /// Automatically (score ≥ the threshold, clearly ahead).
    Auto,
    /// By the user's choice.
    Chosen,
    /// A new entry (made by this import, perhaps shared with other rows).
    New,
    /// Not yet.
    Open,
}

/// One row of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedRow {
    /// Row number as the spreadsheet shows it.
    pub row: usize,
    /// Product name as written.
    pub name: String,
    /// Vendor as written.
    pub vendor: Option<String>,
    /// What happens.
    pub action: Action,
    /// How the product was found.
    pub matched: Matched,
    /// The product.
    pub product: Option<DocId>,
    /// Its name and vendor as the catalog (or the new entry) has them.
    pub product_label: Option<String>,
    /// The score of the match (1.0 for a choice or a new entry).
    pub score: Option<f64>,
    /// The likely products, best first.
    pub candidates: Vec<Candidate>,
    /// The deployment written (its record key).
    pub key: Option<String>,
}

/// A product entry this import creates.
#[derive(Debug, Clone, Serialize)]
pub struct NewProduct {
    /// Its id.
    pub id: DocId,
    /// The nonce of its header.
    #[serde(skip)]
    pub nonce: [u8; 16],
    /// The entry.
    pub product: Product,
    /// The rows that use it.
    pub rows: Vec<usize>,
}

/// An existing deployment the file no longer lists.
#[derive(Debug, Clone, Serialize)]
pub struct Ending {
    /// Its record key.
    pub key: String,
    /// The product.
    pub product: DocId,
    /// The product's name.
    pub product_name: String,
    /// Kept (not ended) by the user's choice.
    pub kept: bool,
}

/// Counts for the summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    /// Data rows read.
    pub rows: usize,
    /// Empty rows skipped.
    pub empty_rows: usize,
    /// Deployments added.
    pub add: usize,
    /// Deployments updated.
    pub update: usize,
    /// Deployments unchanged.
    pub unchanged: usize,
    /// Deployments ended (status retired).
    pub end: usize,
    /// Deployments kept although not listed.
    pub keep: usize,
    /// Product entries created.
    pub new_products: usize,
    /// Rows waiting for a choice.
    pub choose: usize,
    /// Rows left out.
    pub skip: usize,
    /// Errors.
    pub errors: usize,
    /// Warnings.
    pub warnings: usize,
}

/// The plan of an import.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The file's format.
    pub format: super::Format,
    /// The sheet read.
    pub sheet: String,
    /// The header row (as the spreadsheet shows it).
    pub header_row: usize,
    /// Column letter → label.
    pub columns: BTreeMap<String, String>,
    /// Column letter → field.
    pub mapping: BTreeMap<String, Field>,
    /// The rows.
    pub rows: Vec<PlannedRow>,
    /// Product entries created.
    pub new_products: Vec<NewProduct>,
    /// Existing deployments the file no longer lists.
    pub ending: Vec<Ending>,
    /// Errors and warnings.
    pub issues: Vec<Issue>,
    /// Counts.
    pub counts: Counts,
    /// Whether the plan can be written (no error and no open choice, or errors skipped).
    pub ready: bool,
    /// The mapping as it will be remembered.
    #[serde(skip)]
    pub remembered: Remembered,
    /// The deployments written: (record key, deployment).
    #[serde(skip)]
    pub writes: Vec<(String, Deployment)>,
}

/// The `meta` key under which an organisation's column mapping is remembered.
pub fn mapping_meta_key(org: &OrgId) -> String {
    format!("inventory_mapping:{org:#}")
}

/// The mapping remembered for `org` (empty when none, or when it does not parse).
pub fn remembered_mapping(conn: &Connection, org: &OrgId) -> Result<Remembered, rusqlite::Error> {
    let v: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [mapping_meta_key(org)],
            |r| r.get(0),
        )
        .optional()?;
    Ok(v.and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default())
}

/// Reads `org`'s deployments: (record key, deployment).
pub fn own_deployments(
    conn: &Connection,
    org: &OrgId,
) -> Result<Vec<(String, Deployment)>, rusqlite::Error> {
    let mut stmt = conn.prepare(&allmende_catalog::query::own_records_sql("idx_deployment"))?;
    let rows = stmt.query_map([org.as_bytes().to_vec()], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (key, json) = row?;
        if let Ok(d) = serde_json::from_str::<Deployment>(&json) {
            out.push((key, d));
        }
    }
    Ok(out)
}

/// Where a plan gets what it does not compute: the catalog, the organisation's deployments,
/// fresh record keys and product nonces.
pub struct Context<'a> {
    /// A read connection.
    pub conn: &'a Connection,
    /// The importing organisation.
    pub org: OrgId,
    /// A new record key for each added deployment.
    pub new_key: &'a mut dyn FnMut() -> String,
    /// A new nonce for each new product.
    pub new_nonce: &'a mut dyn FnMut() -> [u8; 16],
}

/// Forges whose URLs are source repositories; any other URL is a website.
const FORGES: &[&str] = &[
    "opencode.de",
    "github.com",
    "gitlab",
    "codeberg.org",
    "bitbucket.org",
];

fn is_forge(url: &WebUrl) -> bool {
    FORGES.iter().any(|f| url.as_str().contains(f))
}

/// The error a plan cannot be made without.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Reading the catalog failed.
    #[error("reading the catalog: {0}")]
    Catalog(#[from] allmende_catalog::query::QueryError),
    /// Reading the store failed.
    #[error("reading the store: {0}")]
    Store(#[from] rusqlite::Error),
}

/// Plans the import of `parsed` for `ctx.org`.
pub fn plan(
    parsed: Parsed,
    decisions: &Decisions,
    ctx: &mut Context<'_>,
) -> Result<Plan, PlanError> {
    let catalog = Matcher::new(inventory_match::catalog_entries(ctx.conn)?);
    let dienstleister = inventory_match::dienstleister(ctx.conn)?;
    let existing = own_deployments(ctx.conn, &ctx.org)?;
    let names: BTreeMap<DocId, String> = catalog
        .entries()
        .iter()
        .map(|e| (e.id, format!("{} ({})", e.name, e.vendor)))
        .collect();
    let mut issues = parsed.issues.clone();
    let mut new_products: Vec<NewProduct> = Vec::new();
    let mut fresh = Matcher::default();
    let mut rows = Vec::new();
    let mut claimed: BTreeSet<String> = BTreeSet::new();
    let mut writes = Vec::new();
    let mapped = |f: Field| parsed.mapping.values().any(|x| *x == f);
    let sheet = parsed.sheet.clone();
    let row_issue = |issues: &mut Vec<Issue>, row: usize, severity, field, message: String| {
        issues.push(Issue {
            severity,
            position: Position {
                row: Some(row),
                ..Position::sheet(&sheet)
            },
            field,
            message,
        });
    };
    for row in &parsed.rows {
        let choice = decisions.rows.get(&row.row).copied();
        let mut planned = PlannedRow {
            row: row.row,
            name: row.name.clone(),
            vendor: row.vendor.clone(),
            action: Action::Skip,
            matched: Matched::Open,
            product: None,
            product_label: None,
            score: None,
            candidates: Vec::new(),
            key: None,
        };
        if choice == Some(RowChoice::Skip) || row.name.is_empty() {
            rows.push(planned);
            continue;
        }
        let url = row.repository.as_ref().map(|u| u.as_str().to_string());
        let decision = catalog.decide(&row.name, row.vendor.as_deref(), url.as_deref());
        if let Decision::Choose(c) = &decision {
            planned.candidates = c.clone();
        }
        if let Decision::Take(c) = &decision {
            planned.candidates = vec![c.clone()];
        }
        let product = match (choice, decision) {
            (Some(RowChoice::Existing(id)), _) => {
                planned.matched = Matched::Chosen;
                planned.score = Some(1.0);
                planned.product_label = names.get(&id).cloned();
                if planned.product_label.is_none() {
                    row_issue(
                        &mut issues,
                        row.row,
                        Severity::Error,
                        Some(Field::Name),
                        format!("das gewählte Produkt {id:#} ist nicht im Katalog"),
                    );
                    rows.push(planned);
                    continue;
                }
                Some(id)
            }
            (None, Decision::Take(c)) => {
                planned.matched = Matched::Auto;
                planned.score = Some(c.score);
                planned.product_label = Some(format!("{} ({})", c.entry.name, c.entry.vendor));
                Some(c.entry.id)
            }
            (None, Decision::Choose(_)) | (Some(RowChoice::Skip), _) => None,
            (Some(RowChoice::New) | None, _) => {
                // Rows naming the same new product (the vendor written three ways) share one
                // new entry.
                let id = match fresh.decide(&row.name, row.vendor.as_deref(), url.as_deref()) {
                    Decision::Take(c) => Some(c.entry.id),
                    _ => None,
                };
                match id {
                    Some(id) => {
                        if let Some(np) = new_products.iter_mut().find(|p| p.id == id) {
                            np.rows.push(row.row);
                            planned.product_label =
                                Some(format!("{} ({})", np.product.name, np.product.vendor));
                        }
                        Some(id)
                    }
                    None => match new_product(row, ctx) {
                        Ok(np) => {
                            let id = np.id;
                            fresh.push(Entry::new(
                                id,
                                &np.product.name,
                                &np.product.vendor,
                                &url.as_deref().into_iter().collect::<Vec<_>>(),
                            ));
                            planned.product_label =
                                Some(format!("{} ({})", np.product.name, np.product.vendor));
                            new_products.push(np);
                            Some(id)
                        }
                        Err((field, message)) => {
                            row_issue(&mut issues, row.row, Severity::Error, Some(field), message);
                            rows.push(planned);
                            continue;
                        }
                    },
                }
                .inspect(|_| {
                    planned.matched = Matched::New;
                    planned.score = Some(1.0);
                })
            }
        };
        let Some(product) = product else {
            // A row with an error is left out whatever its product; only a row that could be
            // imported waits for a choice.
            if !row.has_error {
                planned.action = Action::Choose;
            }
            rows.push(planned);
            continue;
        };
        planned.product = Some(product);
        // The organisation's deployment of this product, among those not yet claimed: the
        // one the row describes unchanged (a product listed several times keeps its rows'
        // deployments apart), else one in use before a retired one.
        let open: Vec<&(String, Deployment)> = existing
            .iter()
            .filter(|(k, d)| d.product == product && !claimed.contains(k))
            .collect();
        let mut quiet = |_: Severity, _: Field, _: String| {};
        let found = open
            .iter()
            .find(|(_, d)| {
                deployment(row, product, Some(d), &mapped, &dienstleister, &mut quiet) == *d
            })
            .or_else(|| {
                open.iter()
                    .min_by_key(|(_, d)| d.status == DeploymentStatus::Retired)
            })
            .copied();
        if let Some((k, _)) = found {
            claimed.insert(k.clone());
        }
        if row.has_error {
            planned.product_label = None;
            rows.push(planned);
            continue;
        }
        let (key, base) = match found {
            Some((k, d)) => (k.clone(), Some(d)),
            None => ((ctx.new_key)(), None),
        };
        let d = deployment(
            row,
            product,
            base,
            &mapped,
            &dienstleister,
            &mut |sev, field, m| row_issue(&mut issues, row.row, sev, Some(field), m),
        );
        if let Err(e) = d.validate() {
            row_issue(
                &mut issues,
                row.row,
                Severity::Error,
                None,
                format!("ungültiger Einsatz: {e}"),
            );
            rows.push(planned);
            continue;
        }
        planned.action = match base {
            None => Action::Add,
            Some(old) if *old == d => Action::Unchanged,
            Some(_) => Action::Update,
        };
        if planned.action != Action::Unchanged {
            writes.push((key.clone(), d));
        }
        planned.key = Some(key);
        rows.push(planned);
    }
    // Error rows of products that were matched keep their deployment (the row was not
    // wrong about the product, only about a cell).
    let mut ending = Vec::new();
    for (key, d) in &existing {
        if d.status == DeploymentStatus::Retired || claimed.contains(key) {
            continue;
        }
        let kept = decisions.keep.contains(key);
        ending.push(Ending {
            key: key.clone(),
            product: d.product,
            product_name: names
                .get(&d.product)
                .cloned()
                .unwrap_or_else(|| format!("{:#}", d.product)),
            kept,
        });
        if !kept {
            let mut ended = d.clone();
            ended.status = DeploymentStatus::Retired;
            writes.push((key.clone(), ended));
        }
    }
    let mut counts = Counts {
        rows: parsed.rows.len(),
        empty_rows: parsed.empty_rows,
        new_products: new_products.len(),
        ..Counts::default()
    };
    for r in &rows {
        match r.action {
            Action::Add => counts.add += 1,
            Action::Update => counts.update += 1,
            Action::Unchanged => counts.unchanged += 1,
            Action::Choose => counts.choose += 1,
            Action::Skip => counts.skip += 1,
        }
    }
    counts.end = ending.iter().filter(|e| !e.kept).count();
    counts.keep = ending.len() - counts.end;
    counts.errors = issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .count();
    counts.warnings = issues.len() - counts.errors;
    // A new product no row uses any more (its rows had errors) is not created.
    let used: BTreeSet<DocId> = rows
        .iter()
        .filter(|r| matches!(r.action, Action::Add | Action::Update | Action::Unchanged))
        .filter_map(|r| r.product)
        .collect();
    new_products.retain(|p| used.contains(&p.id));
    counts.new_products = new_products.len();
    let ready = counts.choose == 0 && (counts.errors == 0 || decisions.skip_errors);
    let columns = parsed
        .header
        .labels
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(c, l)| (mapping::column_letter(c), l.clone()))
        .collect();
    Ok(Plan {
        format: parsed.format,
        sheet: parsed.sheet.clone(),
        header_row: parsed.header.row + 1,
        columns,
        mapping: parsed
            .mapping
            .iter()
            .map(|(c, f)| (mapping::column_letter(*c), *f))
            .collect(),
        remembered: mapping::remember(&parsed.header, &parsed.mapping),
        rows,
        new_products,
        ending,
        issues,
        counts,
        ready,
        writes,
    })
}

fn new_product(row: &Row, ctx: &mut Context<'_>) -> Result<NewProduct, (Field, String)> {
    let Some(vendor) = row.vendor.clone() else {
        return Err((
            Field::Vendor,
            format!(
                "{:?} ist nicht im Katalog, und für einen neuen Eintrag fehlt der Hersteller",
                row.name
            ),
        ));
    };
    let mut product = Product::new(row.name.clone(), vendor, ProductKind::Fachverfahren);
    product.tasks = row.tasks.clone();
    match &row.repository {
        Some(u) if is_forge(u) => product.repository = Some(u.clone()),
        Some(u) => product.website = Some(u.clone()),
        None => {}
    }
    product
        .validate()
        .map_err(|e| (Field::Name, format!("neuer Produkteintrag ungültig: {e}")))?;
    let nonce = (ctx.new_nonce)();
    Ok(NewProduct {
        id: DocHeader::product(ctx.org, nonce).id(),
        nonce,
        product,
        rows: vec![row.row],
    })
}

/// The deployment a row describes: the existing one (`base`) with the mapped fields
/// replaced, or a new one.
fn deployment(
    row: &Row,
    product: DocId,
    base: Option<&Deployment>,
    mapped: &dyn Fn(Field) -> bool,
    dienstleister: &[(Vec<u8>, String)],
    warn: &mut dyn FnMut(Severity, Field, String),
) -> Deployment {
    let mut d = base.cloned().unwrap_or_else(|| {
        Deployment::new(product, DeploymentStatus::Production, OperatedBy::Itself)
    });
    if mapped(Field::Version) {
        d.version = row.version.as_ref().map(|v| v.chars().take(100).collect());
    }
    if mapped(Field::Tasks) {
        d.tasks = row.tasks.clone();
    }
    if mapped(Field::Status) && (row.status_given || base.is_none()) {
        d.status = row.status;
    } else if base.is_some_and(|b| b.status == DeploymentStatus::Retired) {
        // Listed again without a status: in use again.
        d.status = DeploymentStatus::Production;
    }
    if mapped(Field::Since) {
        d.since = row.since.clone();
    }
    if mapped(Field::CostOnce) {
        d.cost_once_eur = row.cost_once_eur;
    }
    if mapped(Field::CostYearly) {
        d.cost_yearly_eur = row.cost_yearly_eur;
    }
    if mapped(Field::Operator) {
        d.operated_by = match &row.operator {
            None | Some(OperatorText::Itself) => OperatedBy::Itself,
            Some(OperatorText::Saas) => OperatedBy::Saas,
            Some(OperatorText::Named(name)) => {
                match inventory_match::find_dienstleister(dienstleister, name)
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .and_then(|b| allmende_protocol::ids::PublicKey::from_bytes(b).ok())
                    .map(OrgId::from_root_key)
                {
                    Some(org) => OperatedBy::ItDienstleister { org },
                    None => {
                        warn(
                            Severity::Warning,
                            Field::Operator,
                            format!(
                                "{name:?} ist kein bekannter IT-Dienstleister; als eigener Betrieb übernommen"
                            ),
                        );
                        OperatedBy::Itself
                    }
                }
            }
        };
    }
    if mapped(Field::ContactRole) {
        map_contact_role(row, &mut d, warn);
    }
    d
}

/// The column "Ansprechpartner (Rolle)" into the deployment's `contact_role`. A role that is
/// a person's contact (an e-mail address, a phone number) is left out with a warning, not
/// published: the catalog is public.
fn map_contact_role(row: &Row, d: &mut Deployment, warn: &mut dyn FnMut(Severity, Field, String)) {
    d.contact_role = row.contact_role.clone();
    if let Err(e) = d.validate()
        && e.field == "contact_role"
    {
        d.contact_role = None;
        warn(
            Severity::Warning,
            Field::ContactRole,
            format!("nicht übernommen: {}", e.message),
        );
    }
}
