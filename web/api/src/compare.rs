//! `GET /api/v1/organizations/{id}/comparison`: the Nachbarvergleich of one organisation
//! ([`allmende_catalog::compare`], `docs/nachbarvergleich.md`): its parameters and how its
//! refusals map to HTTP (the handler, with its OpenAPI annotation, is in `http.rs`, where
//! every route is).
//!
//! Threat: any caller names any organisation and group; the answer is public data as the
//! organisation pages show it, counted in the statistics' trust scope. The work per request is
//! bounded by the catalog query's limits (group size, rows, tasks, products), and the query
//! string by `MAX_QUERY_BYTES` (1 KiB).

use allmende_catalog::compare::{CompareError, Group};
use allmende_catalog::query::QueryError;

/// A valid organisation id (the Ed25519 base point) that no example organisation has.
pub(crate) const UNKNOWN_ORG: &str =
    "5866666666666666666666666666666666666666666666666666666666666666";

/// Longest query string taken.
pub(crate) const MAX_QUERY_BYTES: usize = 1024;

/// The parameters of a comparison: `group` (none: the first group that can be formed) and
/// `include_unverified`.
/// A refusal names the field first (`group: …`).
pub(crate) fn params(raw: &str) -> Result<(Option<Group>, bool), String> {
    if raw.len() > MAX_QUERY_BYTES {
        return Err(format!("query string longer than {MAX_QUERY_BYTES} bytes"));
    }
    let mut group = None;
    let mut all = false;
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        match k.as_ref() {
            "group" => {
                group = Some(v.parse::<Group>().map_err(|e| format!("group: {e}"))?);
            }
            "include_unverified" => {
                all = match v.as_ref() {
                    "true" => true,
                    "false" => false,
                    other => {
                        return Err(format!(
                            "include_unverified must be true or false, not {other:?}"
                        ));
                    }
                }
            }
            other => {
                return Err(format!(
                    "unknown parameter {other:?}; known: group, include_unverified"
                ));
            }
        }
    }
    Ok((group, all))
}

/// How the API answers a comparison that cannot be made.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// 400: the message names the field.
    BadRequest(String),
    /// 404: the message names the field.
    NotFound(String),
    /// Storage (mapped as every query error).
    Query(QueryError),
}

/// The API's answer to `e`.
pub(crate) fn refusal(e: CompareError) -> Refusal {
    match e {
        CompareError::UnknownOrg(_) => Refusal::NotFound(format!("id: {e}")),
        CompareError::GroupUnavailable { group, reason } => Refusal::BadRequest(format!(
            "group: the group {group} cannot be formed for this organisation: {reason}"
        )),
        CompareError::Query(q) => Refusal::Query(q),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parameters_are_checked_and_named() {
        assert_eq!(params("").unwrap(), (None, false));
        assert_eq!(
            params("group=land&include_unverified=true").unwrap(),
            (Some(Group::Land), true)
        );
        let e = params("group=gemeinde").unwrap_err();
        assert!(e.starts_with("group: "), "{e}");
        let e = params("include_unverified=ja").unwrap_err();
        assert!(e.contains("include_unverified"), "{e}");
        let e = params("gruppe=kreis").unwrap_err();
        assert!(e.contains("\"gruppe\""), "{e}");
        assert!(params(&"a".repeat(MAX_QUERY_BYTES + 1)).is_err());
    }
}
