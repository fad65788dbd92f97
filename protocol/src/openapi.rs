//! OpenAPI schemas of the record types and their value types, for the node's HTTP API
//! description (`/api/v1/openapi.json`). Only with the optional `utoipa` feature; the crate
//! stays pure either way (utoipa is plain data and macros, no I/O).
//!
//! Records derive their schemas from their Rust definitions (`schema.rs`). The value types
//! that serialise as strings or numbers through `try_from`/`into` get hand-written schemas
//! here, naming the canonical form; inputs also accept the aliases the descriptions list.

use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, RefOr};

use crate::ids::{DocId, OrgId, PublicKey, RecordId};
use crate::schema::{Ags, Date, Land, Licence, Score, Task, UnixTime, WebUrl};

/// A string schema with a description and an optional pattern, format and example.
pub(crate) fn string_schema(
    description: &str,
    pattern: Option<&str>,
    format: Option<SchemaFormat>,
    example: &str,
) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .pattern(pattern)
        .format(format)
        .examples([serde_json::Value::from(example)])
        .into()
}

macro_rules! named_schema {
    ($ty:ty, $name:literal, $schema:expr) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }
        impl utoipa::ToSchema for $ty {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed($name)
            }
        }
    };
}

const HEX64: &str = "^[0-9a-fA-F]{64}$";

named_schema!(
    OrgId,
    "OrgId",
    string_schema(
        "An organisation: its root ed25519 public key, 64 hex characters (lowercase in answers).",
        Some(HEX64),
        None,
        "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
    )
);
named_schema!(
    PublicKey,
    "PublicKey",
    string_schema(
        "An ed25519 public key, 64 hex characters.",
        Some(HEX64),
        None,
        "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
    )
);
named_schema!(
    DocId,
    "DocId",
    string_schema(
        "A document (here: a product entry), 64 hex characters (lowercase in answers).",
        Some(HEX64),
        None,
        "3fa2c1d4b2a0e9f8c7d6b5a4938271605f4e3d2c1b0a99887766554433221100"
    )
);
named_schema!(
    RecordId,
    "RecordId",
    string_schema(
        "A record key inside a document, 32 hex characters.",
        Some("^[0-9a-fA-F]{32}$"),
        None,
        "5d1f0c9e8b7a69584736251403f2e1d0"
    )
);
named_schema!(
    Date,
    "Date",
    string_schema(
        "A calendar date, YYYY-MM-DD.",
        None,
        Some(SchemaFormat::KnownFormat(KnownFormat::Date)),
        "2023-04-01"
    )
);
named_schema!(
    Land,
    "Land",
    string_schema(
        "A Land: its two-digit key 01–16 (answers), or on input also its name (\"Nordrhein-Westfalen\").",
        None,
        None,
        "05"
    )
);
named_schema!(
    Ags,
    "Ags",
    string_schema(
        "Amtlicher Gemeindeschlüssel: 8 digits (Gemeinde) or 5 digits (Kreis).",
        Some("^[0-9]{5}([0-9]{3})?$"),
        None,
        "05315000"
    )
);
named_schema!(
    Licence,
    "Licence",
    string_schema(
        "An SPDX licence expression; LicenseRef-proprietary marks closed software.",
        None,
        None,
        "EUPL-1.2"
    )
);
named_schema!(
    WebUrl,
    "WebUrl",
    string_schema(
        "An http(s) URL.",
        None,
        Some(SchemaFormat::Custom("uri".into())),
        "https://gitlab.opencode.de/example/bauantrag"
    )
);
named_schema!(
    Task,
    "Task",
    string_schema(
        "A task: a 14-digit LeiKa key, an OZG id (ozg:…) or free text of 1–120 characters.",
        None,
        None,
        "99009001001000"
    )
);
named_schema!(
    Score,
    "Score",
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .description(Some("A score from 1 (poor) to 5 (excellent)."))
        .minimum(Some(1))
        .maximum(Some(5))
        .into()
);
named_schema!(
    UnixTime,
    "UnixTime",
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .description(Some("Seconds since the Unix epoch (UTC)."))
        .into()
);
