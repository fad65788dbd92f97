//! The typed schema of catalog records and the real-world formats they use.
//!
//! Every value type validates on construction (`FromStr` and serde both go through it), so a
//! record that deserialised is a record that is valid. Enumerations have a canonical slug on
//! the wire and accept German and English spellings on input.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::{DocId, OrgId, truncate_for_error};

/// A field failed validation: which field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SchemaError {
    /// The field's name as it appears on the wire (`ags`, `scores.usability`, …).
    pub field: String,
    /// A precise, human-readable description.
    pub message: String,
}

impl SchemaError {
    /// An error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    fn within(self, parent: &str) -> Self {
        Self {
            field: format!("{parent}.{}", self.field),
            message: self.message,
        }
    }
}

/// Seconds since the Unix epoch (UTC). Passed in by the caller: this crate reads no clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixTime(pub i64);

macro_rules! string_newtype {
    ($name:ident) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl TryFrom<String> for $name {
            type Error = SchemaError;
            fn try_from(s: String) -> Result<Self, SchemaError> {
                s.parse()
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl $name {
            /// The canonical text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

/// A calendar date, `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Date(String);
string_newtype!(Date);

impl FromStr for Date {
    type Err = SchemaError;
    fn from_str(s: &str) -> Result<Self, SchemaError> {
        let bad = || {
            SchemaError::new(
                "date",
                format!(
                    "{:?} is not a date of the form YYYY-MM-DD",
                    truncate_for_error(s)
                ),
            )
        };
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| -> Result<u32, SchemaError> {
            let part = &s[r];
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            part.parse().map_err(|_| bad())
        };
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        if !(1900..=2199).contains(&y) {
            return Err(SchemaError::new(
                "date",
                format!("year {y} is outside 1900–2199"),
            ));
        }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let days = match m {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => {
                return Err(SchemaError::new(
                    "date",
                    format!("month {m} does not exist"),
                ));
            }
        };
        if d == 0 || d > days {
            return Err(SchemaError::new(
                "date",
                format!("{s} does not exist (month {m} has {days} days)"),
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

/// One of the 16 Länder, by the two-digit prefix of the AGS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Land(u8);

const LAENDER: [(&str, &str); 16] = [
    ("01", "Schleswig-Holstein"),
    ("02", "Hamburg"),
    ("03", "Niedersachsen"),
    ("04", "Bremen"),
    ("05", "Nordrhein-Westfalen"),
    ("06", "Hessen"),
    ("07", "Rheinland-Pfalz"),
    ("08", "Baden-Württemberg"),
    ("09", "Bayern"),
    ("10", "Saarland"),
    ("11", "Berlin"),
    ("12", "Brandenburg"),
    ("13", "Mecklenburg-Vorpommern"),
    ("14", "Sachsen"),
    ("15", "Sachsen-Anhalt"),
    ("16", "Thüringen"),
];

impl Land {
    /// The two-digit key (`"05"` for Nordrhein-Westfalen).
    pub fn code(&self) -> &'static str {
        LAENDER[usize::from(self.0) - 1].0
    }

    /// The German name.
    pub fn name(&self) -> &'static str {
        LAENDER[usize::from(self.0) - 1].1
    }

    /// All Länder, in key order.
    pub fn all() -> impl Iterator<Item = Land> {
        (1..=16).map(Land)
    }
}

impl FromStr for Land {
    type Err = SchemaError;
    fn from_str(s: &str) -> Result<Self, SchemaError> {
        let t = s.trim();
        for (i, (code, name)) in LAENDER.iter().enumerate() {
            if t == *code || t.eq_ignore_ascii_case(name) {
                return Ok(Land(i as u8 + 1));
            }
        }
        Err(SchemaError::new(
            "land",
            format!(
                "{:?} is not a Land key 01–16 or a Land name",
                truncate_for_error(s)
            ),
        ))
    }
}

impl TryFrom<String> for Land {
    type Error = SchemaError;
    fn try_from(s: String) -> Result<Self, SchemaError> {
        s.parse()
    }
}

impl From<Land> for String {
    fn from(l: Land) -> String {
        l.code().to_owned()
    }
}

impl fmt::Display for Land {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Amtlicher Gemeindeschlüssel: 8 digits, `LLRKKGGG`, Land prefix 01–16.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ags(String);
string_newtype!(Ags);

impl Ags {
    /// The Land the AGS lies in.
    pub fn land(&self) -> Land {
        // Validated in `from_str`: the prefix is 01–16.
        self.0[..2].parse().unwrap_or(Land(1))
    }

    /// The 5-digit Kreis key (`LLRKK`).
    pub fn kreis(&self) -> &str {
        &self.0[..5]
    }
}

impl FromStr for Ags {
    type Err = SchemaError;
    fn from_str(s: &str) -> Result<Self, SchemaError> {
        if s.len() != 8 || !s.bytes().all(|c| c.is_ascii_digit()) {
            return Err(SchemaError::new(
                "ags",
                format!(
                    "{:?} is not an Amtlicher Gemeindeschlüssel: expected exactly 8 digits, e.g. 05315000 (Köln)",
                    truncate_for_error(s)
                ),
            ));
        }
        if s[..2].parse::<Land>().is_err() {
            return Err(SchemaError::new(
                "ags",
                format!(
                    "{s}: the first two digits {} are not a Land (01–16)",
                    &s[..2]
                ),
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

/// An SPDX licence expression, e.g. `EUPL-1.2` or `MIT OR Apache-2.0`, or
/// `LicenseRef-proprietary` for closed software.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Licence(String);
string_newtype!(Licence);

impl Licence {
    /// True when every alternative of the expression is an OSI-approved or FSF-libre licence
    /// (`MIT OR LicenseRef-x` is not open source by this rule: one route is closed).
    pub fn is_open_source(&self) -> bool {
        let Ok(expr) = spdx::Expression::parse(&self.0) else {
            return false;
        };
        let mut any = false;
        let all = expr.requirements().all(|r| {
            any = true;
            match &r.req.license {
                spdx::LicenseItem::Spdx { id, .. } => {
                    id.is_osi_approved() || id.is_fsf_free_libre()
                }
                spdx::LicenseItem::Other { .. } => false,
            }
        });
        any && all
    }
}

impl FromStr for Licence {
    type Err = SchemaError;
    fn from_str(s: &str) -> Result<Self, SchemaError> {
        let t = s.trim();
        if t.is_empty() || t.len() > 200 {
            return Err(SchemaError::new(
                "licence",
                "an SPDX licence expression of 1–200 characters is required",
            ));
        }
        match spdx::Expression::parse(t) {
            Ok(_) => Ok(Self(t.to_owned())),
            Err(e) => {
                let hint = spdx::imprecise_license_id(t)
                    .map(|(id, _)| format!(" (did you mean {}?)", id.name))
                    .unwrap_or_default();
                Err(SchemaError::new(
                    "licence",
                    format!(
                        "{:?} is not a valid SPDX licence id or expression: {}{hint}",
                        truncate_for_error(t),
                        e.reason
                    ),
                ))
            }
        }
    }
}

/// A score from 1 (poor) to 5 (excellent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Score(u8);

impl Score {
    /// The value, 1–5.
    pub fn get(&self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Score {
    type Error = SchemaError;
    fn try_from(v: u8) -> Result<Self, SchemaError> {
        if (1..=5).contains(&v) {
            Ok(Score(v))
        } else {
            Err(SchemaError::new(
                "score",
                format!("{v} is not a score: scores go from 1 to 5"),
            ))
        }
    }
}

impl From<Score> for u8 {
    fn from(s: Score) -> u8 {
        s.0
    }
}

impl FromStr for Score {
    type Err = SchemaError;
    fn from_str(s: &str) -> Result<Self, SchemaError> {
        let v: u8 = s.trim().parse().map_err(|_| {
            SchemaError::new(
                "score",
                format!(
                    "{:?} is not a score: scores go from 1 to 5",
                    truncate_for_error(s)
                ),
            )
        })?;
        v.try_into()
    }
}

/// An `http` or `https` URL with a host.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebUrl(String);
string_newtype!(WebUrl);

impl FromStr for WebUrl {
    type Err = SchemaError;
    fn from_str(s: &str) -> Result<Self, SchemaError> {
        if s.len() > 2000 {
            return Err(SchemaError::new("url", "URL longer than 2000 characters"));
        }
        let u = url::Url::parse(s.trim()).map_err(|e| {
            SchemaError::new(
                "url",
                format!("{:?} is not a URL: {e}", truncate_for_error(s)),
            )
        })?;
        if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none_or(str::is_empty) {
            return Err(SchemaError::new(
                "url",
                format!(
                    "{:?} must be an http(s) URL with a host",
                    truncate_for_error(s)
                ),
            ));
        }
        Ok(Self(u.to_string()))
    }
}

/// A task a product serves: a 14-digit LeiKa key, an OZG id (`ozg:…`), or a free category.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Task(String);
string_newtype!(Task);

impl Task {
    /// The LeiKa key, when the task is one.
    pub fn leika(&self) -> Option<&str> {
        (self.0.len() == 14 && self.0.bytes().all(|c| c.is_ascii_digit()))
            .then_some(self.0.as_str())
    }
}

impl FromStr for Task {
    type Err = SchemaError;
    fn from_str(s: &str) -> Result<Self, SchemaError> {
        let t = s.trim();
        if t.is_empty() || t.chars().count() > 120 {
            return Err(SchemaError::new(
                "task",
                "a task must have 1–120 characters",
            ));
        }
        if t.bytes().all(|c| c.is_ascii_digit()) && t.len() != 14 {
            return Err(SchemaError::new(
                "task",
                format!(
                    "{t} looks like a LeiKa key but has {} digits; LeiKa keys have 14",
                    t.len()
                ),
            ));
        }
        if t.chars().any(char::is_control) {
            return Err(SchemaError::new(
                "task",
                "control characters are not allowed",
            ));
        }
        Ok(Self(t.to_owned()))
    }
}

/// Defines an enumeration with canonical slugs and accepted aliases.
macro_rules! slug_enum {
    ($(#[$m:meta])* $name:ident, $field:literal { $($(#[$vm:meta])* $variant:ident = $slug:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical slug.
            pub fn slug(&self) -> &'static str {
                match self { $($name::$variant => $slug),+ }
            }
        }

        impl FromStr for $name {
            type Err = SchemaError;
            fn from_str(s: &str) -> Result<Self, SchemaError> {
                let t = s.trim().to_lowercase().replace('_', "-");
                $( if t == $slug $(|| t == $alias)* { return Ok($name::$variant); } )+
                Err(SchemaError::new($field, format!(
                    "{:?} is not one of: {}", truncate_for_error(s),
                    [$($slug),+].join(", ")
                )))
            }
        }

        impl TryFrom<String> for $name {
            type Error = SchemaError;
            fn try_from(s: String) -> Result<Self, SchemaError> { s.parse() }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String { v.slug().to_owned() }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.slug()) }
        }

        #[cfg(feature = "utoipa")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($slug),+]))
                    .description(Some(concat!(
                        "The canonical slug. On input, case and `_` for `-` do not matter, and these aliases are accepted too:",
                        $($(" ", $alias,)*)+
                    )))
                    .into()
            }
        }

        #[cfg(feature = "utoipa")]
        impl utoipa::ToSchema for $name {}
    };
}

slug_enum!(
    /// What kind of body an organisation is.
    OrgKind, "kind" {
        /// Gemeinde, Stadt, Markt.
        Kommune = "kommune" | "gemeinde" | "stadt" | "municipality",
        /// Landkreis, Kreis, Region.
        Kreis = "kreis" | "landkreis" | "district",
        /// A Land ministry or agency.
        Land = "land" | "state",
        /// A federal body.
        Bund = "bund" | "federal",
        /// Kommunaler IT-Dienstleister / Rechenzentrum.
        ItDienstleister = "it-dienstleister" | "dienstleister" | "it-provider",
        /// Anything else (Zweckverband, Spitzenverband, …).
        Sonstige = "sonstige" | "other",
    }
);

slug_enum!(
    /// What kind of product an entry is.
    ProductKind, "kind" {
        /// General software.
        Software = "software",
        /// A Fachverfahren (specialised administrative procedure software).
        Fachverfahren = "fachverfahren",
        /// An online service for citizens or businesses.
        Onlinedienst = "onlinedienst" | "online-service",
        /// A base component (login, payment, transport, …).
        Basiskomponente = "basiskomponente" | "base-component",
    }
);

slug_enum!(
    /// Lifecycle of a deployment.
    DeploymentStatus, "status" {
        /// Planned.
        Planned = "planned" | "geplant",
        /// Pilot operation.
        Pilot = "pilot",
        /// In production.
        Production = "production" | "produktion" | "wirkbetrieb",
        /// No longer used.
        Retired = "retired" | "eingestellt",
    }
);

slug_enum!(
    /// Whether an integration between two products works.
    IntegrationStatus, "status" {
        /// Works.
        Works = "works" | "funktioniert",
        /// Works partly.
        Partly = "partly" | "teilweise",
        /// Fails.
        Fails = "fails" | "funktioniert-nicht",
    }
);

slug_enum!(
    /// Named rating dimensions.
    RatingDimension, "dimension" {
        /// Functional fit.
        Functionality = "functionality" | "funktionalitaet" | "funktionalität",
        /// Usability.
        Usability = "usability" | "bedienbarkeit",
        /// Interoperability with other products.
        Interoperability = "interoperability" | "interoperabilitaet" | "interoperabilität",
        /// Vendor support.
        Support = "support",
        /// Stability in operation.
        Stability = "stability" | "stabilitaet" | "stabilität",
        /// Value for money.
        ValueForMoney = "value-for-money" | "preis-leistung",
        /// Accessibility.
        Accessibility = "accessibility" | "barrierefreiheit",
    }
);

slug_enum!(
    /// How a product is hosted.
    HostingModel, "hosting" {
        /// On the organisation's own premises.
        OnPremise = "on-premise" | "eigenbetrieb",
        /// At an IT-Dienstleister.
        ItDienstleister = "it-dienstleister" | "dienstleister",
        /// Software as a service from the vendor.
        Saas = "saas",
        /// Public or sovereign cloud.
        Cloud = "cloud",
    }
);

slug_enum!(
    /// What stood in the way of a Nachnutzung.
    Obstacle, "obstacles" {
        /// Legal.
        Legal = "legal" | "rechtlich",
        /// Technical.
        Technical = "technical" | "technisch",
        /// Organisational.
        Organisational = "organisational" | "organizational" | "organisatorisch",
        /// Financial.
        Financial = "financial" | "finanziell",
    }
);

slug_enum!(
    /// How a Nachnutzung ended.
    ReuseOutcome, "outcome" {
        /// In production.
        Production = "production" | "produktion",
        /// Still being introduced.
        InProgress = "in-progress" | "laufend",
        /// Abandoned.
        Abandoned = "abandoned" | "abgebrochen",
    }
);

/// Who operates a deployment.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "kebab-case")]
pub enum OperatedBy {
    /// The organisation itself.
    #[serde(rename = "self")]
    Itself,
    /// An IT-Dienstleister in the network.
    ItDienstleister {
        /// The Dienstleister.
        org: OrgId,
    },
    /// The vendor, as a service.
    Saas,
}

impl FromStr for OperatedBy {
    type Err = SchemaError;
    fn from_str(s: &str) -> Result<Self, SchemaError> {
        let t = s.trim();
        match t.to_lowercase().as_str() {
            "self" | "selbst" => return Ok(Self::Itself),
            "saas" => return Ok(Self::Saas),
            _ => {}
        }
        if let Some(org) = t.strip_prefix("it-dienstleister:") {
            let org = org
                .parse()
                .map_err(|e| SchemaError::new("operated_by", format!("{e}")))?;
            return Ok(Self::ItDienstleister { org });
        }
        Err(SchemaError::new(
            "operated_by",
            format!(
                "{:?} is not one of: self, saas, it-dienstleister:<org id>",
                truncate_for_error(t)
            ),
        ))
    }
}

/// Checks a free-text field: trimmed length within bounds, no control characters but newlines
/// and tabs.
pub fn check_text(field: &str, value: &str, min: usize, max: usize) -> Result<(), SchemaError> {
    let n = value.trim().chars().count();
    if n < min {
        return Err(SchemaError::new(
            field,
            if min == 1 {
                "must not be empty".to_owned()
            } else {
                format!("needs at least {min} characters")
            },
        ));
    }
    if value.chars().count() > max {
        return Err(SchemaError::new(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(SchemaError::new(field, "contains control characters"));
    }
    Ok(())
}

fn check_opt_text(field: &str, value: &Option<String>, max: usize) -> Result<(), SchemaError> {
    value
        .as_deref()
        .map_or(Ok(()), |v| check_text(field, v, 1, max))
}

fn check_list<T>(field: &str, items: &[T], max: usize) -> Result<(), SchemaError> {
    if items.len() > max {
        return Err(SchemaError::new(
            field,
            format!("has {} entries; at most {max} are allowed", items.len()),
        ));
    }
    Ok(())
}

/// A record that knows its own cross-field rules (types already checked their formats).
pub trait Validate {
    /// Checks the record as a whole.
    fn validate(&self) -> Result<(), SchemaError>;
}

/// An organisation's profile.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgProfile {
    /// Official name, e.g. "Stadt Köln".
    pub name: String,
    /// Kind of body.
    pub kind: OrgKind,
    /// Amtlicher Gemeindeschlüssel (municipalities and Kreise).
    #[serde(default)]
    pub ags: Option<Ags>,
    /// Land; derived from the AGS when one is given.
    #[serde(default)]
    pub land: Option<Land>,
    /// Inhabitants.
    #[serde(default)]
    pub population: Option<u32>,
    /// Website.
    #[serde(default)]
    pub website: Option<WebUrl>,
    /// A role to contact (never a person's name: this data is public).
    #[serde(default)]
    pub contact_role: Option<String>,
    /// The IT-Dienstleister the organisation belongs to.
    #[serde(default)]
    pub it_dienstleister: Option<OrgId>,
}

impl OrgProfile {
    /// A profile with a name and a kind, every other field unset.
    pub fn new(name: impl Into<String>, kind: OrgKind) -> Self {
        Self {
            name: name.into(),
            kind,
            ags: None,
            land: None,
            population: None,
            website: None,
            contact_role: None,
            it_dienstleister: None,
        }
    }
}

impl Validate for OrgProfile {
    fn validate(&self) -> Result<(), SchemaError> {
        check_text("name", &self.name, 2, 200)?;
        check_opt_text("contact_role", &self.contact_role, 200)?;
        if let (Some(ags), Some(land)) = (&self.ags, &self.land)
            && ags.land() != *land
        {
            return Err(SchemaError::new(
                "land",
                format!("AGS {ags} lies in {}, not in {land}", ags.land()),
            ));
        }
        if matches!(self.population, Some(0)) {
            return Err(SchemaError::new("population", "must be at least 1"));
        }
        Ok(())
    }
}

/// EfA ("Einer für Alle") status of a product.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Efa {
    /// The Land that provides the service.
    pub providing_land: Land,
    /// How others can reuse it (e.g. "FITKO-Marktplatz", "Dataport-Vertrag").
    #[serde(default)]
    pub reuse_route: Option<String>,
    /// From when it is available for reuse.
    #[serde(default)]
    pub available_from: Option<Date>,
}

/// A product entry (shared; any attested organisation may edit it).
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    /// Product name.
    pub name: String,
    /// Vendor or providing body.
    pub vendor: String,
    /// Kind of product.
    pub kind: ProductKind,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Free categories.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Tasks served (LeiKa keys, OZG ids, free categories).
    #[serde(default)]
    pub tasks: Vec<Task>,
    /// Licence as SPDX expression.
    #[serde(default)]
    pub licence: Option<Licence>,
    /// Source repository (e.g. on Open CoDE).
    #[serde(default)]
    pub repository: Option<WebUrl>,
    /// Product website.
    #[serde(default)]
    pub website: Option<WebUrl>,
    /// Interfaces and standards (XMeld, XBau, OSCI/XTA, FIT-Connect, ePayBL, BundID, …).
    #[serde(default)]
    pub standards: Vec<String>,
    /// Hosting models offered.
    #[serde(default)]
    pub hosting: Vec<HostingModel>,
    /// Technical prerequisites (database, OS, client).
    #[serde(default)]
    pub prerequisites: Option<String>,
    /// Cost model in words.
    #[serde(default)]
    pub cost_model: Option<String>,
    /// Service level in words.
    #[serde(default)]
    pub sla: Option<String>,
    /// EfA status.
    #[serde(default)]
    pub efa: Option<Efa>,
    /// BITV 2.0 accessibility statement.
    #[serde(default)]
    pub accessibility_statement: Option<WebUrl>,
    /// A data-protection assessment is available for reuse.
    #[serde(default)]
    pub dpia_available: Option<bool>,
    /// A test instance is available.
    #[serde(default)]
    pub test_instance: Option<bool>,
    /// The vendor's own organisation in the network, if it has one: its ratings of this
    /// product do not count (conflict of interest). Added after v1 records were pinned, so it
    /// is left out of the record when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_org: Option<OrgId>,
    /// This entry describes the same product as another entry ("same as"): every node merges
    /// the two, and all entries connected by "same as" resolve to the one with the smallest
    /// id. Omitted when unset, like `vendor_org`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_as: Option<DocId>,
    /// Organisations the product's principal stewards (its creator, or an organisation a
    /// trust anchor made steward) name as co-stewards: their changes count as the entry's
    /// values, not as proposals ([`crate::stewardship`]). Omitted when empty, like
    /// `vendor_org`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub co_stewards: Vec<OrgId>,
    /// The latest version the vendor released (what an organisation running an older one
    /// may want to follow). Omitted when unset, like `vendor_org`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<String>,
    /// The day the vendor's support ends (Abkündigung). Omitted when unset, like `vendor_org`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_ends: Option<Date>,
}

impl Product {
    /// A product with a name, a vendor and a kind, every other field unset.
    pub fn new(name: impl Into<String>, vendor: impl Into<String>, kind: ProductKind) -> Self {
        Self {
            name: name.into(),
            vendor: vendor.into(),
            kind,
            description: None,
            categories: vec![],
            tasks: vec![],
            licence: None,
            repository: None,
            website: None,
            standards: vec![],
            hosting: vec![],
            prerequisites: None,
            cost_model: None,
            sla: None,
            efa: None,
            accessibility_statement: None,
            dpia_available: None,
            test_instance: None,
            vendor_org: None,
            same_as: None,
            co_stewards: vec![],
            current_version: None,
            support_ends: None,
        }
    }
}

impl Validate for Product {
    fn validate(&self) -> Result<(), SchemaError> {
        check_text("name", &self.name, 1, 200)?;
        check_text("vendor", &self.vendor, 1, 200)?;
        check_opt_text("description", &self.description, 20_000)?;
        check_list("categories", &self.categories, 50)?;
        for c in &self.categories {
            check_text("categories", c, 1, 100)?;
        }
        check_list("tasks", &self.tasks, 500)?;
        check_list("co_stewards", &self.co_stewards, MAX_CO_STEWARDS)?;
        check_list("standards", &self.standards, 100)?;
        check_list("hosting", &self.hosting, 10)?;
        for s in &self.standards {
            check_text("standards", s, 1, 100)?;
        }
        check_opt_text("prerequisites", &self.prerequisites, 5_000)?;
        check_opt_text("cost_model", &self.cost_model, 2_000)?;
        check_opt_text("sla", &self.sla, 2_000)?;
        check_opt_text("current_version", &self.current_version, 100)?;
        if let Some(efa) = &self.efa {
            check_opt_text("reuse_route", &efa.reuse_route, 500).map_err(|e| e.within("efa"))?;
        }
        Ok(())
    }
}

/// An integration of a deployed product with another product.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integration {
    /// The other product.
    pub product: DocId,
    /// The standard or interface used (XMeld, OSCI/XTA, …).
    pub standard: String,
    /// Whether it works.
    pub status: IntegrationStatus,
}

/// A deployment: the organisation runs a product.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// The product.
    pub product: DocId,
    /// Version in use.
    #[serde(default)]
    pub version: Option<String>,
    /// Tasks it is used for.
    #[serde(default)]
    pub tasks: Vec<Task>,
    /// In use since.
    #[serde(default)]
    pub since: Option<Date>,
    /// Lifecycle.
    pub status: DeploymentStatus,
    /// Operator.
    pub operated_by: OperatedBy,
    /// Integrations with other products.
    #[serde(default)]
    pub integrations: Vec<Integration>,
    /// The online front end is connected end to end to the Fachverfahren.
    #[serde(default)]
    pub end_to_end: Option<bool>,
    /// One-off cost in euros.
    #[serde(default)]
    pub cost_once_eur: Option<u64>,
    /// Yearly cost in euros.
    #[serde(default)]
    pub cost_yearly_eur: Option<u64>,
    /// Whom other bodies may ask about it: a role or unit ("Fachbereich Bürgerdienste,
    /// Produktverantwortliche"), never a person's name, e-mail address or phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_role: Option<String>,
    /// The organisation is open to questions from other bodies about this deployment
    /// ("ansprechbar für Erfahrungsaustausch").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange_ok: Option<bool>,
    /// When it ended (status `retired` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Date>,
    /// The product that replaced it (status `retired` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<DocId>,
    /// Why it ended or was replaced (status `retired` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
}

impl Deployment {
    /// A deployment of `product` with a status and an operator, every other field unset.
    pub fn new(product: DocId, status: DeploymentStatus, operated_by: OperatedBy) -> Self {
        Self {
            product,
            version: None,
            tasks: vec![],
            since: None,
            status,
            operated_by,
            integrations: vec![],
            end_to_end: None,
            cost_once_eur: None,
            cost_yearly_eur: None,
            contact_role: None,
            exchange_ok: None,
            until: None,
            replaced_by: None,
            end_reason: None,
        }
    }
}

/// Refuses what is a person's contact rather than a role: an e-mail address or a phone
/// number (six or more digits in a row, spaces and separators between them allowed).
fn check_role(field: &str, value: &str) -> Result<(), SchemaError> {
    check_text(field, value, 2, 200)?;
    if value.contains('@') {
        return Err(SchemaError::new(
            field,
            "name a role or unit, not an e-mail address (the data is public)",
        ));
    }
    let mut run = 0;
    for c in value.chars() {
        if c.is_ascii_digit() {
            run += 1;
            if run >= 6 {
                return Err(SchemaError::new(
                    field,
                    "name a role or unit, not a phone number (the data is public)",
                ));
            }
        } else if !matches!(c, ' ' | '-' | '/' | '(' | ')' | '+') {
            run = 0;
        }
    }
    Ok(())
}

/// Costs above this are typing errors, not procurement (10 billion euros).
const MAX_EUR: u64 = 10_000_000_000;

fn check_eur(field: &str, v: Option<u64>) -> Result<(), SchemaError> {
    match v {
        Some(v) if v > MAX_EUR => Err(SchemaError::new(
            field,
            format!("{v} € is implausibly large"),
        )),
        _ => Ok(()),
    }
}

impl Validate for Deployment {
    fn validate(&self) -> Result<(), SchemaError> {
        check_opt_text("version", &self.version, 100)?;
        check_list("tasks", &self.tasks, 500)?;
        check_list("integrations", &self.integrations, 200)?;
        for i in &self.integrations {
            check_text("integrations.standard", &i.standard, 1, 100)?;
            if i.product == self.product {
                return Err(SchemaError::new(
                    "integrations.product",
                    "a product cannot integrate with itself",
                ));
            }
        }
        check_eur("cost_once_eur", self.cost_once_eur)?;
        check_eur("cost_yearly_eur", self.cost_yearly_eur)?;
        if let Some(role) = &self.contact_role {
            check_role("contact_role", role)?;
        }
        check_opt_text("end_reason", &self.end_reason, 2_000)?;
        let ending = [
            ("until", self.until.is_some()),
            ("replaced_by", self.replaced_by.is_some()),
            ("end_reason", self.end_reason.is_some()),
        ];
        if self.status != DeploymentStatus::Retired
            && let Some((field, _)) = ending.iter().find(|(_, set)| *set)
        {
            return Err(SchemaError::new(
                *field,
                format!(
                    "belongs to a deployment that ended: set status retired (it is {})",
                    self.status.slug()
                ),
            ));
        }
        if self.replaced_by.as_ref() == Some(&self.product) {
            return Err(SchemaError::new(
                "replaced_by",
                "a product cannot replace itself",
            ));
        }
        if let (Some(since), Some(until)) = (&self.since, &self.until)
            && until < since
        {
            return Err(SchemaError::new(
                "until",
                format!("{until} is before since ({since})"),
            ));
        }
        Ok(())
    }
}

/// A rating (Erfahrungsbericht): one per organisation and product, editable.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rating {
    /// The product rated.
    pub product: DocId,
    /// Scores per dimension; dimensions not rated are absent.
    pub scores: BTreeMap<RatingDimension, Score>,
    /// Would recommend.
    #[serde(default)]
    pub recommend: Option<bool>,
    /// Free text.
    #[serde(default)]
    pub text: Option<String>,
    /// In use since (context).
    #[serde(default)]
    pub since: Option<Date>,
}

impl Validate for Rating {
    fn validate(&self) -> Result<(), SchemaError> {
        if self.scores.is_empty() && self.recommend.is_none() && self.text.is_none() {
            return Err(SchemaError::new(
                "scores",
                "a rating needs at least one score, a recommendation or a text",
            ));
        }
        check_opt_text("text", &self.text, 10_000)
    }
}

/// A Nachnutzung report: the organisation reused a product provided by another body.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReuseReport {
    /// The product reused.
    pub product: DocId,
    /// The providing organisation, if it is in the network.
    #[serde(default)]
    pub provider: Option<OrgId>,
    /// Reused as an EfA service.
    #[serde(default)]
    pub efa: bool,
    /// Effort in person-days.
    #[serde(default)]
    pub effort_person_days: Option<u32>,
    /// One-off cost in euros.
    #[serde(default)]
    pub cost_once_eur: Option<u64>,
    /// Yearly cost in euros.
    #[serde(default)]
    pub cost_yearly_eur: Option<u64>,
    /// Weeks from decision to production.
    #[serde(default)]
    pub weeks_to_production: Option<u32>,
    /// Obstacles met.
    #[serde(default)]
    pub obstacles: Vec<Obstacle>,
    /// Outcome.
    pub outcome: ReuseOutcome,
    /// Would recommend the reuse.
    #[serde(default)]
    pub recommend: Option<bool>,
    /// Free text.
    #[serde(default)]
    pub text: Option<String>,
}

impl Validate for ReuseReport {
    fn validate(&self) -> Result<(), SchemaError> {
        check_eur("cost_once_eur", self.cost_once_eur)?;
        check_eur("cost_yearly_eur", self.cost_yearly_eur)?;
        if self.effort_person_days.is_some_and(|d| d > 100_000) {
            return Err(SchemaError::new(
                "effort_person_days",
                "is implausibly large (over 100,000)",
            ));
        }
        if self.weeks_to_production.is_some_and(|w| w > 1_000) {
            return Err(SchemaError::new(
                "weeks_to_production",
                "is implausibly large (over 1,000)",
            ));
        }
        check_list("obstacles", &self.obstacles, 10)?;
        check_opt_text("text", &self.text, 10_000)
    }
}

slug_enum!(
    /// How a training is held.
    TrainingFormat, "format" {
        /// In a room, with a trainer.
        InPerson = "in-person" | "praesenz" | "präsenz" | "vor-ort",
        /// Live online (webinar, virtual classroom).
        Online = "online" | "webinar" | "live-online",
        /// Self-paced (e-learning, video course).
        SelfPaced = "self-paced" | "e-learning" | "selbstlernkurs",
        /// Partly in person, partly online.
        Hybrid = "hybrid",
    }
);

/// A training offer for a product (Schulungsangebot): published by any organisation, in its
/// experience document under `trainings`, keyed by a record id.
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainingOffer {
    /// The product it teaches.
    pub product: DocId,
    /// Its title.
    pub title: String,
    /// Who holds it (the vendor, an IT-Dienstleister, a Studieninstitut, …).
    pub provider: String,
    /// How it is held.
    pub format: TrainingFormat,
    /// Length in minutes.
    #[serde(default)]
    pub duration_minutes: Option<u32>,
    /// Cost per participant in euros (0 when free).
    #[serde(default)]
    pub cost_eur: Option<u64>,
    /// Where to book it or read more.
    #[serde(default)]
    pub link: Option<WebUrl>,
    /// For which roles ("Sachbearbeitung", "Administration", …).
    #[serde(default)]
    pub roles: Vec<String>,
    /// What it covers.
    #[serde(default)]
    pub description: Option<String>,
}

/// A training longer than 60 days of lessons is a typing error.
const MAX_TRAINING_MINUTES: u32 = 60 * 24 * 60;

impl Validate for TrainingOffer {
    fn validate(&self) -> Result<(), SchemaError> {
        check_text("title", &self.title, 2, 200)?;
        check_text("provider", &self.provider, 1, 200)?;
        match self.duration_minutes {
            Some(0) => return Err(SchemaError::new("duration_minutes", "must be at least 1")),
            Some(m) if m > MAX_TRAINING_MINUTES => {
                return Err(SchemaError::new(
                    "duration_minutes",
                    format!("{m} minutes is implausibly long (over {MAX_TRAINING_MINUTES})"),
                ));
            }
            _ => {}
        }
        check_eur("cost_eur", self.cost_eur)?;
        check_list("roles", &self.roles, 10)?;
        for r in &self.roles {
            check_role("roles", r)?;
        }
        check_opt_text("description", &self.description, 5_000)
    }
}

/// One organisation's rating of a training offer: in its experience document under
/// `training_ratings`, keyed `<offering organisation>/<offer key>` (one per organisation and
/// offer).
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainingRating {
    /// The organisation that published the offer.
    pub org: OrgId,
    /// The offer's record key in that organisation's experience document (32 hex).
    pub offer: String,
    /// Overall score, 1–5.
    pub score: Score,
    /// Would recommend it.
    #[serde(default)]
    pub recommend: Option<bool>,
    /// Free text.
    #[serde(default)]
    pub text: Option<String>,
}

impl TrainingRating {
    /// The record key this rating must be stored under.
    pub fn key(&self) -> String {
        format!("{:#}/{}", self.org, self.offer)
    }
}

impl Validate for TrainingRating {
    fn validate(&self) -> Result<(), SchemaError> {
        if self.offer.len() != 32
            || !self
                .offer
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(SchemaError::new(
                "offer",
                "must be the offer's record key: 32 lowercase hex characters",
            ));
        }
        check_opt_text("text", &self.text, 2_000)
    }
}

/// At most this many co-stewards per product.
pub const MAX_CO_STEWARDS: usize = 20;

/// A trust anchor's statement: this organisation is a steward of this product entry
/// ([`crate::stewardship`]). Kept in the anchor's trust document under `stewardships`, keyed
/// `<product id>/<organisation id>`; it counts on the nodes that follow the anchor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StewardGrant {
    /// The product entry.
    pub product: DocId,
    /// The organisation made steward (for example the vendor, once it joined the network).
    pub org: OrgId,
    /// The entry is orphaned (its creator's key revoked, the creator gone): from `since` on
    /// the creator is no steward, and `org` takes its place.
    #[serde(default)]
    pub replaces_creator: bool,
    /// From when the grant counts (changes made from then on).
    pub since: UnixTime,
    /// Why, in words (shown on the product's page).
    #[serde(default)]
    pub reason: Option<String>,
}

impl StewardGrant {
    /// The record key in the anchor's trust document.
    pub fn key(&self) -> String {
        format!("{:#}/{:#}", self.product, self.org)
    }
}

impl Validate for StewardGrant {
    fn validate(&self) -> Result<(), SchemaError> {
        check_opt_text("reason", &self.reason, 500)
    }
}

/// A trust anchor's statement: this key belongs to this real organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attestation {
    /// The organisation (its root key).
    pub org: OrgId,
    /// Its official name.
    pub name: String,
    /// Its kind.
    pub kind: OrgKind,
    /// Its AGS, if it has one.
    #[serde(default)]
    pub ags: Option<Ags>,
    /// When the anchor checked it.
    pub attested_at: UnixTime,
}

impl Validate for Attestation {
    fn validate(&self) -> Result<(), SchemaError> {
        check_text("name", &self.name, 2, 200)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product_id(byte: u8) -> DocId {
        DocId::from_bytes([byte; 32])
    }

    #[test]
    fn deployment_fields_added_after_v1_are_left_out_when_unset() {
        let d = Deployment::new(
            product_id(1),
            DeploymentStatus::Production,
            OperatedBy::Itself,
        );
        let json = serde_json::to_value(&d).unwrap();
        for field in [
            "contact_role",
            "exchange_ok",
            "until",
            "replaced_by",
            "end_reason",
        ] {
            assert!(json.get(field).is_none(), "{field} written while unset");
        }
        // Older records (without them) still read.
        let old = r#"{"product":"0101010101010101010101010101010101010101010101010101010101010101",
            "status":"production","operated_by":{"by":"self"}}"#;
        let back: Deployment = serde_json::from_str(old).unwrap();
        assert_eq!(back, d);
    }

    #[test]
    fn only_an_ended_deployment_names_its_successor() {
        let mut d = Deployment::new(
            product_id(1),
            DeploymentStatus::Production,
            OperatedBy::Itself,
        );
        d.replaced_by = Some(product_id(2));
        let e = d.validate().unwrap_err();
        assert_eq!(e.field, "replaced_by");
        assert!(e.message.contains("retired"), "{e}");
        d.status = DeploymentStatus::Retired;
        d.until = Some("2024-06-30".parse().unwrap());
        d.end_reason = Some("Hersteller hat den Support eingestellt".into());
        d.validate().unwrap();
        d.since = Some("2025-01-01".parse().unwrap());
        assert_eq!(d.validate().unwrap_err().field, "until");
        d.since = None;
        d.replaced_by = Some(product_id(1));
        assert!(d.validate().unwrap_err().message.contains("itself"));
    }

    #[test]
    fn a_contact_is_a_role_never_a_person_s_address_or_number() {
        let mut d = Deployment::new(
            product_id(1),
            DeploymentStatus::Production,
            OperatedBy::Itself,
        );
        d.contact_role = Some("Fachbereich Bürgerdienste, Produktverantwortliche".into());
        d.validate().unwrap();
        for bad in [
            "max.mustermann@stadt.example",
            "Tel. 0221 221-2345",
            "+49 (221) 123456",
            "x",
        ] {
            d.contact_role = Some(bad.into());
            assert_eq!(d.validate().unwrap_err().field, "contact_role", "{bad}");
        }
        // A year or a room number is fine.
        d.contact_role = Some("Amt 32, Raum 1.204, seit 2019".into());
        d.validate().unwrap();
    }

    #[test]
    fn training_offers_and_their_ratings_check_every_field() {
        let offer = TrainingOffer {
            product: product_id(1),
            title: "Grundlagenschulung Sachbearbeitung".into(),
            provider: "Studieninstitut Rhein-Erft".into(),
            format: "Präsenz".parse().unwrap(),
            duration_minutes: Some(360),
            cost_eur: Some(290),
            link: Some("https://studieninstitut.example/kurse/42".parse().unwrap()),
            roles: vec!["Sachbearbeitung".into()],
            description: None,
        };
        offer.validate().unwrap();
        assert_eq!(offer.format, TrainingFormat::InPerson);
        let bad = |f: &dyn Fn(&mut TrainingOffer), field: &str| {
            let mut o = offer.clone();
            f(&mut o);
            assert_eq!(o.validate().unwrap_err().field, field);
        };
        bad(&|o| o.title = " ".into(), "title");
        bad(&|o| o.provider = "p".repeat(201), "provider");
        bad(&|o| o.duration_minutes = Some(0), "duration_minutes");
        bad(
            &|o| o.duration_minutes = Some(10_000_000),
            "duration_minutes",
        );
        bad(&|o| o.cost_eur = Some(u64::MAX), "cost_eur");
        bad(&|o| o.roles = vec!["Admin".into(); 11], "roles");
        bad(&|o| o.roles = vec!["info@vendor.example".into()], "roles");
        bad(&|o| o.description = Some("d".repeat(5_001)), "description");
        assert_eq!(
            "fernstudium".parse::<TrainingFormat>().unwrap_err().field,
            "format"
        );

        let org = OrgId::from_root_key(
            crate::identity::Keypair::from_secret_bytes(&[7; 32])
                .unwrap()
                .public(),
        );
        let rating = TrainingRating {
            org,
            offer: "0123456789abcdef0123456789abcdef".into(),
            score: Score::try_from(4).unwrap(),
            recommend: Some(true),
            text: None,
        };
        rating.validate().unwrap();
        assert_eq!(
            rating.key(),
            format!("{org:#}/0123456789abcdef0123456789abcdef")
        );
        for bad in [
            "0123456789ABCDEF0123456789ABCDEF",
            "short",
            "../../x/0123456789abcdef01234",
        ] {
            let mut r = rating.clone();
            r.offer = bad.into();
            assert_eq!(r.validate().unwrap_err().field, "offer", "{bad}");
        }
        let json =
            format!(r#"{{"org":"{org:#}","offer":"0123456789abcdef0123456789abcdef","score":6}}"#);
        assert!(serde_json::from_str::<TrainingRating>(&json).is_err());
    }

    #[test]
    fn ags_accepts_real_keys_and_names_the_problem() {
        let koeln: Ags = "05315000".parse().unwrap();
        assert_eq!(koeln.land().name(), "Nordrhein-Westfalen");
        assert_eq!(koeln.kreis(), "05315");
        for bad in [
            "5315000",
            "053150000",
            "0531500a",
            "17315000",
            "00315000",
            "",
        ] {
            let e = bad.parse::<Ags>().unwrap_err();
            assert_eq!(e.field, "ags", "{bad}");
        }
        assert!(
            "17315000"
                .parse::<Ags>()
                .unwrap_err()
                .message
                .contains("Land")
        );
    }

    #[test]
    fn dates_check_the_calendar() {
        assert!("2024-02-29".parse::<Date>().is_ok());
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-04-31",
            "24-01-01",
            "2024-1-01",
            "2024-01-00",
            "1800-01-01",
            "２０２４-01-01",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
    }

    #[test]
    fn licences_are_spdx_expressions() {
        let l: Licence = "EUPL-1.2".parse().unwrap();
        assert!(l.is_open_source());
        assert!(
            "MIT OR Apache-2.0"
                .parse::<Licence>()
                .unwrap()
                .is_open_source()
        );
        assert!(
            !"LicenseRef-proprietary"
                .parse::<Licence>()
                .unwrap()
                .is_open_source()
        );
        let e = "EUPL 1.2".parse::<Licence>().unwrap_err();
        assert_eq!(e.field, "licence");
        assert!("GPL-9.0".parse::<Licence>().is_err());
        assert!("".parse::<Licence>().is_err());
    }

    #[test]
    fn scores_are_one_to_five() {
        assert!("0".parse::<Score>().is_err());
        assert!("6".parse::<Score>().is_err());
        assert!("-1".parse::<Score>().is_err());
        assert_eq!("5".parse::<Score>().unwrap().get(), 5);
        assert!(serde_json::from_str::<Score>("6").is_err());
    }

    #[test]
    fn enums_accept_german_and_english_and_list_choices() {
        assert_eq!("Gemeinde".parse::<OrgKind>().unwrap(), OrgKind::Kommune);
        assert_eq!(
            "IT_Dienstleister".parse::<OrgKind>().unwrap(),
            OrgKind::ItDienstleister
        );
        let e = "dorf".parse::<OrgKind>().unwrap_err();
        assert!(
            e.message.contains("kommune") && e.message.contains("kreis"),
            "{e}"
        );
        assert_eq!(
            serde_json::to_string(&DeploymentStatus::Production).unwrap(),
            "\"production\""
        );
    }

    #[test]
    fn urls_must_be_web_urls() {
        assert!("https://opencode.de/x".parse::<WebUrl>().is_ok());
        assert!("javascript:alert(1)".parse::<WebUrl>().is_err());
        assert!("file:///etc/passwd".parse::<WebUrl>().is_err());
        assert!("not a url".parse::<WebUrl>().is_err());
    }

    #[test]
    fn tasks_distinguish_leika_keys() {
        assert_eq!(
            "99108001000000".parse::<Task>().unwrap().leika(),
            Some("99108001000000")
        );
        assert!("9910800100".parse::<Task>().is_err());
        assert_eq!("Bauantrag".parse::<Task>().unwrap().leika(), None);
    }

    #[test]
    fn profile_land_must_match_ags() {
        let p = OrgProfile {
            name: "Stadt Köln".into(),
            kind: OrgKind::Kommune,
            ags: Some("05315000".parse().unwrap()),
            land: Some("09".parse().unwrap()),
            population: Some(1_000_000),
            website: None,
            contact_role: None,
            it_dienstleister: None,
        };
        assert_eq!(p.validate().unwrap_err().field, "land");
    }

    #[test]
    fn release_fields_are_bounded_and_left_out_when_unset() {
        let mut p = Product::new("Fachverfahren", "Hersteller", ProductKind::Fachverfahren);
        let unset = serde_json::to_value(&p).unwrap();
        assert!(unset.get("current_version").is_none());
        assert!(unset.get("support_ends").is_none());
        p.current_version = Some("4.2".into());
        p.support_ends = Some("2027-12-31".parse().unwrap());
        p.validate().unwrap();
        let set = serde_json::to_value(&p).unwrap();
        assert_eq!(set["current_version"], "4.2");
        assert_eq!(set["support_ends"], "2027-12-31");
        p.current_version = Some("v".repeat(101));
        assert_eq!(p.validate().unwrap_err().field, "current_version");
        p.current_version = Some("4.2\u{7}".into());
        assert_eq!(p.validate().unwrap_err().field, "current_version");
        let bad: Result<Product, _> = serde_json::from_value(serde_json::json!({
            "name": "X", "vendor": "Y", "kind": "software", "support_ends": "2027-02-30"
        }));
        assert!(bad.is_err());
    }
}
