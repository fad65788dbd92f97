//! The inventory import over HTTP (`POST /api/v1/inventory/preview`, `POST
//! /api/v1/inventory/import`), and the steps the web UI and the command line share with it:
//! reading the options ([`Options::from_pairs`]), planning ([`plan_import`]) and turning a
//! plan into the repository thread's batch ([`batch_of`]).
//!
//! The body is the file itself (CSV, XLSX or ODS, at most
//! [`allmende_formats::inventory::Limits::max_bytes`]); the mapping and the decisions are
//! query parameters, so the preview and the import take the same request and the import
//! plans again from the file rather than trusting a plan kept between requests.
//!
//! Threat: a holder of a token uploads any bytes. The reader bounds them
//! ([`allmende_formats::inventory::read`]); the plan and the write run on the repository
//! thread (the file is at most 4 MiB, the plan linear in its rows times the catalog's
//! products); nothing is written unless every row passed or was skipped by request.

use allmende_formats::inventory::plan::{self, Decisions, Plan, RowChoice};
use allmende_formats::inventory::{self, Field, InventoryError, Limits, MappingChoice};
use allmende_protocol::ids::{DocId, OrgId};
use allmende_repo_thread::inventory::{ImportBatch, ImportError, ImportWritten};
use std::sync::Arc;

use allmende_protocol::identity::Keypair;
use allmende_repo_thread::repo_actor::RepoHandle;
use rusqlite::Connection;
use serde::Serialize;
use utoipa::ToSchema;

/// Most values of each repeated option.
const MAX_OPTIONS: usize = 5_000;

/// The user's mapping and decisions.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Column index → field (or ignored).
    pub explicit: Vec<(usize, Option<Field>)>,
    /// Row choices, kept deployments, skipping rows with errors.
    pub decisions: Decisions,
}

impl Options {
    /// Reads `map=C:vendor` (or `C:` to ignore column C), `choose=12:new|skip|<product id>`,
    /// `keep=<deployment key>`, `skip_errors=true`; other keys are left to the caller
    /// (`known` lists those it accepts itself, e.g. `for`). The error names the parameter.
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (String, String)>,
        known: &[&str],
    ) -> Result<Self, String> {
        let mut o = Options::default();
        let mut n = 0;
        for (k, v) in pairs {
            n += 1;
            if n > MAX_OPTIONS {
                return Err(format!("more than {MAX_OPTIONS} parameters"));
            }
            let v = v.trim();
            match k.as_str() {
                "map" => {
                    let (col, field) = v
                        .split_once([':', '='])
                        .ok_or_else(|| format!("map: {v:?} is not COLUMN:FIELD, e.g. C:vendor"))?;
                    let col = inventory::column_index(col)
                        .ok_or_else(|| format!("map: {col:?} is no column letter"))?;
                    let field = match field.trim() {
                        "" | "-" | "ignore" => None,
                        f => Some(Field::from_slug(f).ok_or_else(|| {
                            format!(
                                "map: unknown field {f:?}; known: {}",
                                Field::ALL.map(Field::slug).join(", ")
                            )
                        })?),
                    };
                    o.explicit.push((col, field));
                }
                "choose" => {
                    let (row, what) = v
                        .split_once([':', '='])
                        .ok_or_else(|| format!("choose: {v:?} is not ROW:new|skip|PRODUCT_ID"))?;
                    let row: usize = row
                        .trim()
                        .parse()
                        .map_err(|_| format!("choose: {row:?} is no row number"))?;
                    let choice = match what.trim() {
                        "new" => RowChoice::New,
                        "skip" => RowChoice::Skip,
                        "" => continue,
                        id => RowChoice::Existing(
                            id.parse::<DocId>()
                                .map_err(|e| format!("choose: row {row}: {e}"))?,
                        ),
                    };
                    o.decisions.rows.insert(row, choice);
                }
                "keep" => {
                    if !v.is_empty() {
                        o.decisions.keep.insert(v.chars().take(64).collect());
                    }
                }
                "skip_errors" => {
                    o.decisions.skip_errors = match v {
                        "true" | "1" | "on" | "ja" => true,
                        "false" | "0" | "" => false,
                        other => {
                            return Err(format!("skip_errors: {other:?} is not true or false"));
                        }
                    }
                }
                other if known.contains(&other) => {}
                other => {
                    return Err(format!(
                        "unknown parameter {other:?}; known: map, choose, keep, skip_errors"
                    ));
                }
            }
        }
        Ok(o)
    }
}

/// Why there is no plan.
#[derive(Debug, thiserror::Error)]
pub enum PlanFailure {
    /// The file cannot be read (position named).
    #[error(transparent)]
    File(#[from] InventoryError),
    /// The store could not be read.
    #[error("{0}")]
    Store(String),
}

fn random<const N: usize>() -> Result<[u8; N], PlanFailure> {
    allmende_store::datadir::random_bytes::<N>().map_err(|e| PlanFailure::Store(e.to_string()))
}

/// Reads `bytes` and plans their import for `org` against the catalog in `conn`, with the
/// mapping remembered for `org` under the user's explicit choices.
pub fn plan_import(
    conn: &Connection,
    org: OrgId,
    bytes: &[u8],
    options: &Options,
) -> Result<Plan, PlanFailure> {
    let limits = Limits::default();
    let remembered =
        plan::remembered_mapping(conn, &org).map_err(|e| PlanFailure::Store(e.to_string()))?;
    let parsed = inventory::parse(
        bytes,
        &limits,
        &MappingChoice {
            remembered,
            explicit: options.explicit.clone(),
        },
    )?;
    // Keys and nonces up front: the plan's callbacks cannot fail.
    let n = parsed.rows.len();
    let mut keys = Vec::with_capacity(n);
    let mut nonces = Vec::with_capacity(n);
    for _ in 0..n {
        keys.push(format!(
            "{:#}",
            allmende_protocol::ids::RecordId::from_bytes(random::<16>()?)
        ));
        nonces.push(random::<16>()?);
    }
    let mut new_key = move || keys.pop().unwrap_or_default();
    let mut new_nonce = move || nonces.pop().unwrap_or_default();
    plan::plan(
        parsed,
        &options.decisions,
        &mut plan::Context {
            conn,
            org,
            new_key: &mut new_key,
            new_nonce: &mut new_nonce,
        },
    )
    .map_err(|e| PlanFailure::Store(e.to_string()))
}

/// The batch that writes `plan` for `org`, with the mapping to remember.
pub fn batch_of(plan: &Plan, org: &OrgId) -> ImportBatch {
    ImportBatch {
        products: plan
            .new_products
            .iter()
            .map(|p| (p.nonce, p.product.clone()))
            .collect(),
        deployments: plan.writes.clone(),
        meta: serde_json::to_string(&plan.remembered)
            .map(|v| vec![(plan::mapping_meta_key(org), v)])
            .unwrap_or_default(),
    }
}

/// Why a request of the inventory import failed.
#[derive(Debug, thiserror::Error)]
pub enum InventoryFailure {
    /// The file or the store could not be read.
    #[error(transparent)]
    Plan(#[from] PlanFailure),
    /// The batch was refused before anything was written.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// The repository thread is gone.
    #[error(transparent)]
    Gone(#[from] allmende_repo_thread::repo_actor::RepoGone),
}

/// Plans and, if the plan is ready, writes it, on the repository thread: `Ok(Err(plan))`
/// when the plan is not ready (nothing written).
pub async fn import(
    repo: &RepoHandle,
    signer: Arc<Keypair>,
    org: OrgId,
    bytes: Vec<u8>,
    options: Options,
) -> Result<Result<(Plan, ImportWritten), Plan>, InventoryFailure> {
    let now = allmende_store::now();
    repo.call(move |st| {
        let plan = plan_import(st.repo().store().connection(), org, &bytes, &options)?;
        if !plan.ready {
            return Ok(Err(plan));
        }
        let batch = batch_of(&plan, &org);
        let written = st.write_import(&signer, org, batch, now)?;
        Ok(Ok((plan, written)))
    })
    .await?
}

/// Plans on the repository thread.
pub async fn preview(
    repo: &RepoHandle,
    org: OrgId,
    bytes: Vec<u8>,
    options: Options,
) -> Result<Plan, InventoryFailure> {
    repo.call(move |st| {
        plan_import(st.repo().store().connection(), org, &bytes, &options)
            .map_err(InventoryFailure::from)
    })
    .await?
}

/// The options of a query string (`for` is the caller's).
pub fn options(raw: Option<&str>) -> Result<Options, String> {
    let pairs = url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()));
    Options::from_pairs(pairs, &["for"])
}

/// A plan as the API answers it.
pub fn answer(plan: &Plan) -> serde_json::Value {
    serde_json::to_value(plan).unwrap_or_default()
}

/// The CSV of the examples in the OpenAPI description.
pub const CSV_EXAMPLE: &str = "Fachverfahren;Hersteller;Im Einsatz seit;Kosten jährlich\nMeldewesen Plus;Beispiel GmbH;01.03.2019;1.234,50 €\n";

/// The preview of an import (schema of the answer; the rows, issues and candidates are
/// described in docs/inventory.md).
#[derive(Serialize, ToSchema)]
pub struct InventoryPreview {
    /// Whether the import can be confirmed as it is.
    pub ready: bool,
    /// csv, xlsx or ods.
    pub format: String,
    /// The sheet read.
    pub sheet: String,
    /// The header row as the spreadsheet numbers it.
    pub header_row: usize,
    /// Column letter → label.
    #[schema(value_type = Object)]
    pub columns: serde_json::Value,
    /// Column letter → field.
    #[schema(value_type = Object)]
    pub mapping: serde_json::Value,
    /// Counts: rows, empty_rows, add, update, unchanged, end, keep, new_products, choose, skip, errors, warnings.
    #[schema(value_type = Object)]
    pub counts: serde_json::Value,
    /// Per row: row, name, vendor, action, matched, product, product_label, score, candidates, key.
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<serde_json::Value>,
    /// Product entries the import creates.
    #[schema(value_type = Vec<Object>)]
    pub new_products: Vec<serde_json::Value>,
    /// The organisation's deployments the file no longer lists (ended unless kept).
    #[schema(value_type = Vec<Object>)]
    pub ending: Vec<serde_json::Value>,
    /// Errors and warnings with sheet, row and column.
    #[schema(value_type = Vec<Object>)]
    pub issues: Vec<serde_json::Value>,
}

/// What an import wrote.
#[derive(Serialize, ToSchema)]
pub struct InventoryImported {
    /// The product entries created.
    #[schema(value_type = Vec<String>)]
    pub products: Vec<String>,
    /// Deployments written (added, updated, ended).
    pub deployments: usize,
    /// The plan's counts.
    #[schema(value_type = Object)]
    pub counts: serde_json::Value,
}

/// A route of this module with a body limit for files (the API's default is smaller).
pub fn with_file_limit<S: Clone + Send + Sync + 'static>(
    r: utoipa_axum::router::UtoipaMethodRouter<S>,
) -> utoipa_axum::router::UtoipaMethodRouter<S> {
    let (schemas, paths, method) = r;
    (
        schemas,
        paths,
        method.layer(axum::extract::DefaultBodyLimit::max(
            Limits::default().max_bytes + 1024,
        )),
    )
}
