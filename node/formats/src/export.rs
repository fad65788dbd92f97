//! The JSON export (format `allmende-export`, version 1) and its import.
//!
//! An export carries the readable catalog *and* the signed material behind it: every
//! document header, its signed changes (hex of the `AMC` encoding) and every certificate.
//! Importing verifies and authorises all of it exactly like changes from a peer; the
//! `catalog` section is for readers and is ignored on import.

use allmende_protocol::catalog::Catalog;
use allmende_protocol::change::SignedChange;
use allmende_protocol::doc::DocHeader;
use allmende_protocol::equivocation::EquivocationProof;
use allmende_protocol::identity::{CertError, SignedDelegation, SignedRevocation};
use allmende_protocol::ids::OrgId;
use allmende_protocol::schema::UnixTime;
use serde::{Deserialize, Serialize};

use allmende_store::repo::{Repo, RepoError};
use allmende_store::store::Store;

/// The format name written into every export.
pub const FORMAT: &str = "allmende-export";
/// The export format version this node writes and reads.
pub const VERSION: u32 = 1;
/// The licence of exported data.
pub const LICENCE: &str = "Datenlizenz Deutschland – Zero – Version 2.0 (dl-de/zero-2-0)";

/// One document's signed material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedDoc {
    /// Document id (hex), for readers; recomputed from the header on import.
    pub id: String,
    /// Kind, for readers.
    pub kind: String,
    /// The encoded header (hex).
    pub header: String,
    /// Signed changes (hex of their encoding), in storage order.
    pub changes: Vec<String>,
}

/// A certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedCert {
    /// `delegation` or `revocation`.
    pub kind: String,
    /// Encoded bytes (hex).
    pub bytes: String,
}

/// A whole export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Export {
    /// Always [`FORMAT`].
    pub format: String,
    /// Format version.
    pub version: u32,
    /// Licence of the data.
    pub licence: String,
    /// When (UTC, ISO 8601).
    pub exported_at: String,
    /// Which organisation's node exported it, if initialised.
    pub exported_by: Option<OrgId>,
    /// The readable catalog.
    pub catalog: Catalog,
    /// Signed material, by document id.
    pub documents: Vec<ExportedDoc>,
    /// Certificates.
    pub certificates: Vec<ExportedCert>,
}

impl Export {
    /// Builds the export of everything in `repo`.
    pub fn build<S: Store>(
        repo: &Repo<S>,
        exporter: Option<OrgId>,
        now: UnixTime,
    ) -> Result<Self, RepoError> {
        let documents = repo
            .store()
            .headers()?
            .iter()
            .map(|h| exported_doc(repo, h))
            .collect::<Result<_, _>>()?;
        let certificates = exported_certs(repo)?;
        Ok(Export {
            format: FORMAT.to_owned(),
            version: VERSION,
            licence: LICENCE.to_owned(),
            exported_at: iso8601(now),
            exported_by: exporter,
            catalog: repo.catalog()?,
            documents,
            certificates,
        })
    }
}

/// The signed material of one document, as in the JSON export.
pub fn exported_doc<S: Store>(
    repo: &Repo<S>,
    header: &allmende_protocol::doc::DocHeader,
) -> Result<ExportedDoc, RepoError> {
    let id = header.id();
    Ok(ExportedDoc {
        id: format!("{id:#}"),
        kind: header.kind.slug().to_owned(),
        header: hex::encode(header.encode()),
        changes: repo
            .store()
            .changes(&id)?
            .into_iter()
            .map(|c| hex::encode(c.encoded))
            .collect(),
    })
}

/// Every certificate, as in the JSON export.
pub fn exported_certs<S: Store>(repo: &Repo<S>) -> Result<Vec<ExportedCert>, RepoError> {
    Ok(repo
        .store()
        .certs()?
        .into_iter()
        .map(|c| ExportedCert {
            kind: c.kind.as_str().to_owned(),
            bytes: hex::encode(c.encoded),
        })
        .collect())
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Documents seen.
    pub documents: usize,
    /// Changes newly stored.
    pub new_changes: usize,
    /// Changes already present.
    pub duplicates: usize,
    /// Certificates newly stored.
    pub new_certs: usize,
}

/// Why an import was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Not this format or version.
    #[error("format {format:?} version {version} is not {FORMAT:?} version {VERSION}")]
    Format {
        /// Format found.
        format: String,
        /// Version found.
        version: u32,
    },
    /// A hex field is malformed.
    #[error("entry #{doc}: {what} is not valid hex")]
    Hex {
        /// Position.
        doc: usize,
        /// Which field.
        what: &'static str,
    },
    /// A line of a JSON Lines import is wrong.
    #[error("line {line}: {reason}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A header or certificate does not decode.
    #[error("entry #{doc}: {reason}")]
    Decode {
        /// Position.
        doc: usize,
        /// Why.
        reason: String,
    },
    /// The repository refused.
    #[error("entry #{doc}: {source}")]
    Repo {
        /// Position.
        doc: usize,
        /// Why.
        source: Box<RepoError>,
    },
}

/// Verifies and stores everything in `export`. Certificates come first (changes may need
/// them); each document's changes are one all-or-nothing batch.
pub fn import_export<S: Store>(
    repo: &mut Repo<S>,
    export: &Export,
    now: UnixTime,
) -> Result<ImportReport, ImportError> {
    if export.format != FORMAT || export.version != VERSION {
        return Err(ImportError::Format {
            format: export.format.clone(),
            version: export.version,
        });
    }
    let mut report = ImportReport::default();
    // Proofs of equivocation go last: a repository stores one only about a document it holds.
    let (proofs, certs): (Vec<_>, Vec<_>) = export
        .certificates
        .iter()
        .enumerate()
        .partition(|(_, c)| c.kind == PROOF_KIND);
    for (i, c) in certs {
        report.new_certs += usize::from(import_cert(repo, i, c)?);
    }
    for (i, d) in export.documents.iter().enumerate() {
        let (new, dup) = import_doc(repo, i, d, now)?;
        report.new_changes += new;
        report.duplicates += dup;
        report.documents += 1;
    }
    for (i, c) in proofs {
        report.new_certs += usize::from(import_cert(repo, i, c)?);
    }
    Ok(report)
}

/// The `kind` of an exported proof of equivocation; importers take these after the documents.
pub const PROOF_KIND: &str = "equivocation";

/// Verifies and stores one exported certificate (item `i`, for messages). Returns whether it
/// was new. A proof of equivocation about a document the repository does not hold is left
/// out (`Ok(false)`).
pub fn import_cert<S: Store>(
    repo: &mut Repo<S>,
    i: usize,
    c: &ExportedCert,
) -> Result<bool, ImportError> {
    let bytes = hex::decode(&c.bytes).map_err(|_| ImportError::Hex {
        doc: i,
        what: "certificate",
    })?;
    let decode = |what: &str, e: &dyn std::fmt::Display| ImportError::Decode {
        doc: i,
        reason: format!("{what}: {e}"),
    };
    let stored = match c.kind.as_str() {
        "delegation" => {
            let d = SignedDelegation::decode(&bytes).map_err(|e| decode("delegation", &e))?;
            repo.add_delegation(d)
        }
        "revocation" => {
            let r = SignedRevocation::decode(&bytes).map_err(|e| decode("revocation", &e))?;
            match repo.add_revocation(r) {
                // Stores of earlier versions kept revocations by keys without authority
                // over their subject; they never had an effect, and are left out.
                Err(RepoError::Cert(CertError::NoAuthority { .. })) => Ok(false),
                other => other,
            }
        }
        PROOF_KIND => {
            let p = EquivocationProof::decode(&bytes).map_err(|e| decode("equivocation", &e))?;
            match repo.add_equivocation(p) {
                Err(RepoError::NotHeld(_)) => Ok(false),
                other => other,
            }
        }
        other => {
            return Err(ImportError::Decode {
                doc: i,
                reason: format!("unknown certificate kind {other:?}"),
            });
        }
    };
    stored.map_err(|source| ImportError::Repo {
        doc: i,
        source: Box::new(source),
    })
}

/// Verifies and stores one exported document's changes (item `i`, for messages), in
/// all-or-nothing batches. Returns (new changes, duplicates).
pub fn import_doc<S: Store>(
    repo: &mut Repo<S>,
    i: usize,
    d: &ExportedDoc,
    now: UnixTime,
) -> Result<(usize, usize), ImportError> {
    let header_bytes = hex::decode(&d.header).map_err(|_| ImportError::Hex {
        doc: i,
        what: "header",
    })?;
    let header = DocHeader::decode(&header_bytes).map_err(|e| ImportError::Decode {
        doc: i,
        reason: e.to_string(),
    })?;
    let mut changes = Vec::with_capacity(d.changes.len());
    for c in &d.changes {
        let bytes = hex::decode(c).map_err(|_| ImportError::Hex {
            doc: i,
            what: "change",
        })?;
        changes.push(
            SignedChange::decode(&bytes).map_err(|e| ImportError::Decode {
                doc: i,
                reason: e.to_string(),
            })?,
        );
    }
    let (mut new, mut dup) = (0, 0);
    // Stored order is causal, so each chunk's dependencies are in earlier chunks.
    let mut changes = changes.into_iter().peekable();
    while changes.peek().is_some() {
        let chunk: Vec<SignedChange> = changes
            .by_ref()
            .take(allmende_store::repo::MAX_BATCH_CHANGES)
            .collect();
        let done = repo
            .ingest(header, chunk, now)
            .map_err(|source| ImportError::Repo {
                doc: i,
                source: Box::new(source),
            })?;
        new += done.new_changes;
        dup += done.duplicates;
    }
    Ok((new, dup))
}

/// Formats Unix seconds as `YYYY-MM-DDThh:mm:ssZ` (proleptic Gregorian, UTC).
pub fn iso8601(t: UnixTime) -> String {
    crate::civil::time_of_unix(t.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_matches_known_instants() {
        assert_eq!(iso8601(UnixTime(0)), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(UnixTime(951_782_400)), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(UnixTime(1_795_350_896)), "2026-11-22T12:34:56Z");
    }
}
