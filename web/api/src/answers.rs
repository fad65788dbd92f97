//! The answers of the API that handlers build as JSON values, described for the OpenAPI
//! document by schema-only types, and the ids of the small example catalog that the example
//! requests use. The routes in [`crate::http`] name them in their annotations;
//! [`crate::openapi`] builds the document from the routes.

use allmende_protocol::ids::OrgId;
use allmende_protocol::schema::{Deployment, OrgProfile, Rating, ReuseReport};
use serde::Serialize;

use utoipa::ToSchema;

/// The ids of the example catalog that the example requests use. `node/tests/openapi.rs`
/// builds this catalog from fixed keys and nonces (and fails if these ids do not match), then
/// runs every example request against a node that holds it.
pub mod example {
    /// "Land Nordrhein-Westfalen (Beispiel)", the trust anchor that attests the other two.
    pub const LAND: &str = "d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737";
    /// "Stadt Köln (Beispiel)", AGS 05315000.
    pub const KOELN: &str = "a09aa5f47a6759802ff955f8dc2d2a14a5c99d23be97f864127ff9383455a4f0";
    /// "Gemeinde Musterhausen (Beispiel)", AGS 05358008 (Kreis Düren).
    pub const MUSTERHAUSEN: &str =
        "17cb79fb2b4120f2b1ec65e4198d6e08b28e813feb01e4a400839b85e18080ce";
    /// "Bauantrag Online", an EfA online service of NRW (EUPL-1.2, XBau, FIT-Connect).
    pub const BAUANTRAG: &str = "5e417df97a58a25135e422cf4c08d229c0969d770d89866460c23ab14d9bc030";
    /// "Meldewesen Plus", a proprietary Fachverfahren (XMeld).
    pub const MELDEWESEN: &str = "8b6e2473230b8a0d28939f8e456027965f6c3496eb4109660b48dfc449688279";
    /// Köln's deployment of Bauantrag Online.
    pub const DEPLOYMENT_KEY: &str = "0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e01";
    /// Musterhausen's Nachnutzung report about Bauantrag Online.
    pub const REUSE_KEY: &str = "0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e04";
    /// Köln's training offer for Meldewesen Plus.
    pub const TRAINING_KEY: &str = "0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e05";

    /// The cursor that a name-ordered product search's `Link` names after the product `id`
    /// called `name` (for the paging example; clients never build cursors).
    pub fn name_cursor(name: &str, id: &str) -> String {
        allmende_catalog::query::cursor::encode(&[
            b"n",
            name.as_bytes(),
            &hex::decode(id).unwrap_or_default(),
        ])
    }
}

/// The error body of every API error (`ApiError` in `http.rs`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The stable code.
    pub error: ErrorCode,
    /// For people; may change.
    #[schema(example = "limit must be 1–200")]
    pub message: String,
}

/// The stable error codes (`api.md` §2).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A malformed or out-of-range parameter or body.
    BadRequest,
    /// A write without a valid token.
    Unauthorized,
    /// Signed but not authorised, or a token writing for another organisation.
    Forbidden,
    /// Unknown path, product, organisation or statistic.
    NotFound,
    /// A likely duplicate, or a ranked search cursor after the products changed.
    Conflict,
    /// A storage error.
    Internal,
    /// The node is shutting down.
    Unavailable,
}

macro_rules! record_types {
    ($($record:ident: $on_page:ident, $item:ident, $own:ident;)+) => {$(
        #[doc = concat!("A ", stringify!($record), " on a product page: who, under which key, the record.")]
        #[derive(Debug, Serialize, ToSchema)]
        pub struct $on_page {
            /// The organisation.
            pub org: OrgId,
            /// The record key (32 hex, for ratings the product id).
            pub key: String,
            /// The record.
            pub record: $record,
        }

        #[doc = concat!("One entry of a ", stringify!($record), " list.")]
        #[derive(Debug, Serialize, ToSchema)]
        pub struct $item {
            /// The organisation.
            pub org: OrgId,
            /// The record key.
            pub key: String,
            /// The product the record is about.
            pub product: String,
            /// The record.
            pub record: $record,
        }

        #[doc = concat!("A ", stringify!($record), " on its organisation's page.")]
        #[derive(Debug, Serialize, ToSchema)]
        pub struct $own {
            /// The record key.
            pub key: String,
            /// The record.
            pub record: $record,
        }
    )+};
}

record_types! {
    Deployment: DeploymentOfProduct, DeploymentItem, OwnDeployment;
    Rating: RatingOfProduct, RatingItem, OwnRating;
    ReuseReport: ReuseReportOfProduct, ReuseReportItem, OwnReuseReport;
}

/// Deployments reporting an integration, by outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationCount {
    /// The deployed product.
    pub product: String,
    /// The product it is integrated with.
    pub other: String,
    /// The standard or interface.
    pub standard: String,
    /// Deployments reporting `works`.
    pub works: u64,
    /// … `partly`.
    pub partly: u64,
    /// … `fails`.
    pub fails: u64,
}

/// An organisation with its own records (`GET /api/v1/organizations/{id}`).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgPage {
    /// The organisation id.
    pub id: OrgId,
    /// Attested by a trust anchor this node follows.
    pub verified: bool,
    /// Its profile, `null` when it has records but no profile.
    pub profile: Option<OrgProfile>,
    /// Its deployments.
    pub deployments: Vec<OwnDeployment>,
    /// Its ratings.
    pub ratings: Vec<OwnRating>,
    /// Its Nachnutzung reports.
    pub reuse_reports: Vec<OwnReuseReport>,
}

/// `GET /readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// Store and network answer, and the node listens for peers.
    pub ready: bool,
    /// `ok` or `not answering`.
    pub store: String,
    /// e.g. `listening on 2 addresses`.
    pub network: String,
}

/// One aggregate in `GET /api/v1/stats`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsEntry {
    /// Its name.
    pub name: String,
    /// Where to get it.
    pub href: String,
    /// What it counts.
    pub description: String,
}

/// `GET /api/v1/stats`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsIndex {
    /// The aggregates.
    pub stats: Vec<StatsEntry>,
    /// The parameters they take, described.
    pub parameters: std::collections::BTreeMap<String, String>,
}

/// One aggregate (`GET /api/v1/stats/{name}`): the shape depends on the name. Described as
/// `anyOf` the seven arrays (an empty array is each of them, so `oneOf` would be wrong).
#[derive(Debug)]
pub struct StatsAnswer;

impl utoipa::PartialSchema for StatsAnswer {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use allmende_catalog::stats::{
            Costs, Coverage, Duplicate, Interop, OzgUse, RatingStats, Usage,
        };
        use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, Ref};
        let array = |name: std::borrow::Cow<'static, str>, what: &str| {
            ArrayBuilder::new()
                .items(Ref::from_schema_name(name))
                .description(Some(what))
                .build()
        };
        AnyOfBuilder::new()
            .item(array(Usage::name(), "usage"))
            .item(array(RatingStats::name(), "ratings"))
            .item(array(Interop::name(), "interop"))
            .item(array(Duplicate::name(), "duplicates"))
            .item(array(Costs::name(), "costs"))
            .item(array(Coverage::name(), "coverage"))
            .item(array(OzgUse::name(), "ozg"))
            .into()
    }
}

impl ToSchema for StatsAnswer {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use allmende_catalog::stats::{
            Costs, Coverage, Duplicate, Interop, OzgUse, RatingStats, Usage,
        };
        use utoipa::PartialSchema;
        schemas.extend([
            (Usage::name().into_owned(), Usage::schema()),
            (RatingStats::name().into_owned(), RatingStats::schema()),
            (Interop::name().into_owned(), Interop::schema()),
            (Duplicate::name().into_owned(), Duplicate::schema()),
            (Costs::name().into_owned(), Costs::schema()),
            (Coverage::name().into_owned(), Coverage::schema()),
            (OzgUse::name().into_owned(), OzgUse::schema()),
        ]);
    }
}

/// The body of `POST /api/v1/query`.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlBody {
    /// One read-only SQL statement over the documented views (`docs/sql.md`).
    pub sql: String,
    /// 1–300 seconds, default 10.
    pub timeout_secs: Option<u64>,
    /// 1–1,000,000 rows, default 10,000.
    pub max_rows: Option<usize>,
}

/// `POST /api/v1/products` answers the new product's id.
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    /// The new product id.
    pub id: String,
}

/// Record writes answer the record key.
#[derive(Debug, Serialize, ToSchema)]
pub struct Stored {
    /// The record key (for ratings the product id).
    pub key: String,
}

/// A warning of the `publiccode.yml` import.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportWarning {
    /// The key it is about.
    pub key: String,
    /// Its line in the file.
    pub line: usize,
    /// What was wrong and what was done.
    pub message: String,
}

/// The answer of `POST /api/v1/import/publiccode`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportAnswer {
    /// The product id.
    pub id: String,
    /// A new entry was created.
    pub created: bool,
    /// The entry changed.
    pub changed: bool,
    /// What was skipped or repaired, with key and line.
    pub warnings: Vec<ImportWarning>,
    /// `usedBy` of the file: hints, not deployments.
    pub used_by: Vec<String>,
}
