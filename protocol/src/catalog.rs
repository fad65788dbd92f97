//! The catalog as plain data: every record of a set of documents, in a canonical order.
//!
//! Two nodes that hold the same documents and certificates and follow the same anchors build
//! byte-identical catalogs, whatever order the
//! documents and their changes arrived in; [`Catalog::digest`] makes that cheap to compare.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::doc::{DocKind, Document};
use crate::ids::{DocId, OrgId};
use crate::schema::{
    Attestation, Deployment, OrgProfile, Product, Rating, ReuseReport, SchemaError, TrainingOffer,
    TrainingRating,
};
use crate::stewardship::Context;

/// An organisation's profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgEntry {
    /// The organisation.
    pub org: OrgId,
    /// Its profile.
    pub profile: OrgProfile,
}

/// A product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductEntry {
    /// The product's document id.
    pub id: DocId,
    /// Who created the entry.
    pub created_by: OrgId,
    /// The product.
    pub product: Product,
}

/// A record owned by an organisation (deployment, rating, Nachnutzung report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnedEntry<T> {
    /// The owning organisation.
    pub org: OrgId,
    /// The record's key inside the organisation's document.
    pub key: String,
    /// The record.
    #[serde(flatten)]
    pub record: T,
}

/// An attestation by a trust anchor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttestationEntry {
    /// The anchor.
    pub anchor: OrgId,
    /// The statement.
    #[serde(flatten)]
    pub attestation: Attestation,
}

/// A stored record that does not pass this version's schema (written by a buggy or newer
/// writer). Kept out of the catalog, listed so it is not silently lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvalidRecord {
    /// The document.
    pub doc: DocId,
    /// The record key (empty for root records).
    pub key: String,
    /// What is wrong.
    pub error: String,
}

/// Every record of a set of documents.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// Organisation profiles, by organisation id.
    pub organisations: Vec<OrgEntry>,
    /// Products, by id.
    pub products: Vec<ProductEntry>,
    /// Deployments, by organisation and key.
    pub deployments: Vec<OwnedEntry<Deployment>>,
    /// Ratings, by organisation and product.
    pub ratings: Vec<OwnedEntry<Rating>>,
    /// Nachnutzung reports, by organisation and key.
    pub reuse_reports: Vec<OwnedEntry<ReuseReport>>,
    /// Attestations, by anchor and organisation.
    pub attestations: Vec<AttestationEntry>,
    /// Training offers, by organisation and key (added after v1: left out when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trainings: Vec<OwnedEntry<TrainingOffer>>,
    /// Ratings of training offers, by organisation and key (left out when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub training_ratings: Vec<OwnedEntry<TrainingRating>>,
    /// Records that failed validation.
    pub invalid_records: Vec<InvalidRecord>,
}

impl Catalog {
    /// Builds the catalog of `docs`, showing each product as its stewards set it
    /// ([`crate::stewardship`]) given the certificates and the grants of the followed anchors.
    pub fn from_documents<'a>(
        docs: impl IntoIterator<Item = &'a mut Document>,
        shown: &Context<'_>,
    ) -> Self {
        let mut c = Catalog::default();
        for d in docs {
            c.add(d, shown);
        }
        c.organisations.sort_by_key(|e| e.org);
        c.products.sort_by_key(|e| e.id);
        c.deployments
            .sort_by(|a, b| (a.org, &a.key).cmp(&(b.org, &b.key)));
        c.ratings
            .sort_by(|a, b| (a.org, &a.key).cmp(&(b.org, &b.key)));
        c.reuse_reports
            .sort_by(|a, b| (a.org, &a.key).cmp(&(b.org, &b.key)));
        c.attestations
            .sort_by_key(|e| (e.anchor, e.attestation.org));
        c.trainings
            .sort_by(|a, b| (a.org, &a.key).cmp(&(b.org, &b.key)));
        c.training_ratings
            .sort_by(|a, b| (a.org, &a.key).cmp(&(b.org, &b.key)));
        c.invalid_records
            .sort_by(|a, b| (a.doc, &a.key).cmp(&(b.doc, &b.key)));
        c
    }

    fn add(&mut self, d: &mut Document, shown: &Context<'_>) {
        let id = d.id();
        let owner = d.header().owner;
        let mut invalid = |key: &str, e: SchemaError| {
            self.invalid_records.push(InvalidRecord {
                doc: id,
                key: key.to_owned(),
                error: e.to_string(),
            });
        };
        let mut owned = Vec::new();
        match d.header().kind {
            DocKind::Profile => match d.root::<OrgProfile>() {
                Some(Ok(profile)) => self.organisations.push(OrgEntry {
                    org: owner,
                    profile,
                }),
                Some(Err(e)) => invalid("", e),
                None => {}
            },
            DocKind::Product => match shown.resolve(d).product() {
                Some(Ok(product)) => self.products.push(ProductEntry {
                    id,
                    created_by: owner,
                    product,
                }),
                Some(Err(e)) => invalid("", e),
                None => {}
            },
            DocKind::Deployments => {
                for (key, r) in d.records::<Deployment>() {
                    match r {
                        Ok(record) => self.deployments.push(OwnedEntry {
                            org: owner,
                            key,
                            record,
                        }),
                        Err(e) => owned.push((key, e)),
                    }
                }
            }
            DocKind::Experience => {
                for (key, r) in d.records::<Rating>() {
                    match r {
                        Ok(record) => self.ratings.push(OwnedEntry {
                            org: owner,
                            key,
                            record,
                        }),
                        Err(e) => owned.push((key, e)),
                    }
                }
                for (key, r) in d.records::<ReuseReport>() {
                    match r {
                        Ok(record) => self.reuse_reports.push(OwnedEntry {
                            org: owner,
                            key,
                            record,
                        }),
                        Err(e) => owned.push((key, e)),
                    }
                }
                for (key, r) in d.records::<TrainingOffer>() {
                    match r {
                        Ok(record) => self.trainings.push(OwnedEntry {
                            org: owner,
                            key,
                            record,
                        }),
                        Err(e) => owned.push((key, e)),
                    }
                }
                for (key, r) in d.records::<TrainingRating>() {
                    match r {
                        Ok(record) => self.training_ratings.push(OwnedEntry {
                            org: owner,
                            key,
                            record,
                        }),
                        Err(e) => owned.push((key, e)),
                    }
                }
            }
            DocKind::Trust => {
                for (key, r) in d.records::<Attestation>() {
                    match r {
                        Ok(attestation) => self.attestations.push(AttestationEntry {
                            anchor: owner,
                            attestation,
                        }),
                        Err(e) => owned.push((key, e)),
                    }
                }
            }
        }
        for (key, e) in owned {
            invalid(&key, e);
        }
    }

    /// SHA-256 of the canonical JSON form: equal digests mean equal catalogs.
    pub fn digest(&self) -> [u8; 32] {
        // Serialising plain data with string keys cannot fail; an empty digest input would
        // still be a digest, never a panic.
        let json = serde_json::to_vec(self).unwrap_or_default();
        Sha256::digest(&json).into()
    }
}
