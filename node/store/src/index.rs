//! The catalog index: rows derived from one document, kept in SQLite tables next to the
//! documents and rewritten for that document in the same transaction as its changes.
//!
//! The index is derived data: [`rows`] is a pure function of a document (and, for products,
//! the certificates and followed anchors' grants), so replacing one document's rows whenever
//! it or they change keeps the index equal to a rebuild from scratch (tested). Queries (search, facets, aggregates) read only the index, never Automerge.

use allmende_protocol::doc::{DocKind, Document};
use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::ozg::Catalogue;
use allmende_protocol::schema::{
    Attestation, Deployment, OrgProfile, Product, Rating, ReuseReport, TrainingOffer,
    TrainingRating,
};
use allmende_protocol::stewardship::Context;

/// Every index row of one document.
#[derive(Debug, Clone, PartialEq)]
pub struct DocIndex {
    /// The document.
    pub doc: DocId,
    /// Its rows (empty when the document holds no valid record).
    pub rows: Vec<Row>,
    /// The time the document's newest change claims (Unix seconds), for when its records
    /// changed (`store/follow.rs` clamps it to the local clock).
    pub claimed_at: Option<i64>,
}

/// One indexed record.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    /// An organisation profile.
    Org {
        /// The organisation.
        org: OrgId,
        /// The profile.
        profile: OrgProfile,
    },
    /// A product.
    Product {
        /// Who created the entry.
        created_by: OrgId,
        /// The product.
        product: Box<Product>,
        /// Normalised text for full-text search.
        text: String,
        /// Facet values: (facet, value).
        facets: Vec<(&'static str, String)>,
    },
    /// A deployment.
    Deployment {
        /// The owner.
        org: OrgId,
        /// Record key.
        key: String,
        /// The deployment.
        deployment: Deployment,
    },
    /// A rating.
    Rating {
        /// The owner.
        org: OrgId,
        /// Record key.
        key: String,
        /// The rating.
        rating: Rating,
    },
    /// A Nachnutzung report.
    Reuse {
        /// The owner.
        org: OrgId,
        /// Record key.
        key: String,
        /// The report.
        report: ReuseReport,
    },
    /// A training offer.
    Training {
        /// The organisation that publishes it.
        org: OrgId,
        /// Record key.
        key: String,
        /// The offer.
        offer: TrainingOffer,
    },
    /// A rating of a training offer.
    TrainingRating {
        /// The organisation that rates.
        org: OrgId,
        /// Record key (`<offering organisation>/<offer key>`).
        key: String,
        /// The rating.
        rating: TrainingRating,
    },
    /// An attestation.
    Attestation {
        /// The trust anchor.
        anchor: OrgId,
        /// The statement.
        attestation: Attestation,
    },
}

/// The index rows of `doc`. Invalid records are left out (they are listed by the catalog
/// export, not indexed). A product is indexed as its stewards set it, given the certificates
/// and the grants of the followed anchors ([`allmende_protocol::stewardship`]).
pub fn rows(doc: &mut Document, shown: &Context<'_>) -> DocIndex {
    let owner = doc.header().owner;
    let mut rows = Vec::new();
    match doc.header().kind {
        DocKind::Profile => {
            if let Some(Ok(profile)) = doc.root::<OrgProfile>() {
                rows.push(Row::Org {
                    org: owner,
                    profile,
                });
            }
        }
        DocKind::Product => {
            if let Some(Ok(product)) = shown.resolve(doc).product() {
                let text = crate::search_text::normalise(&search_text(&product));
                let facets = facets(&product);
                rows.push(Row::Product {
                    created_by: owner,
                    product: Box::new(product),
                    text,
                    facets,
                });
            }
        }
        DocKind::Deployments => {
            for (key, r) in doc.records::<Deployment>() {
                if let Ok(deployment) = r {
                    rows.push(Row::Deployment {
                        org: owner,
                        key,
                        deployment,
                    });
                }
            }
        }
        DocKind::Experience => {
            for (key, r) in doc.records::<Rating>() {
                // One rating per organisation and product: the record keyed by the product.
                if let Ok(rating) = r.as_ref()
                    && key == format!("{:#}", rating.product)
                {
                    rows.push(Row::Rating {
                        org: owner,
                        key,
                        rating: rating.clone(),
                    });
                }
            }
            for (key, r) in doc.records::<ReuseReport>() {
                if let Ok(report) = r {
                    rows.push(Row::Reuse {
                        org: owner,
                        key,
                        report,
                    });
                }
            }
            for (key, r) in doc.records::<TrainingOffer>() {
                if let Ok(offer) = r {
                    rows.push(Row::Training {
                        org: owner,
                        key,
                        offer,
                    });
                }
            }
            for (key, r) in doc.records::<TrainingRating>() {
                // One rating per organisation and offer: the record keyed by the offer.
                if let Ok(rating) = r
                    && key == rating.key()
                {
                    rows.push(Row::TrainingRating {
                        org: owner,
                        key,
                        rating,
                    });
                }
            }
        }
        DocKind::Trust => {
            for (key, r) in doc.records::<Attestation>() {
                if let Ok(attestation) = r
                    && key == format!("{:#}", attestation.org)
                {
                    rows.push(Row::Attestation {
                        anchor: owner,
                        attestation,
                    });
                }
            }
        }
    }
    DocIndex {
        doc: doc.id(),
        rows,
        claimed_at: doc.newest_claimed_time(),
    }
}

/// Everything of a product a person might search for.
fn search_text(p: &Product) -> String {
    let mut parts: Vec<&str> = vec![&p.name, &p.vendor];
    parts.extend(p.description.as_deref());
    parts.extend(p.categories.iter().map(String::as_str));
    parts.extend(p.tasks.iter().map(|t| t.as_str()));
    // Task names are search text: "Abbruchgenehmigung" finds a product filed under that
    // LeiKa key, and so does the name of the OZG-Leistung it belongs to.
    let ozg = Catalogue::shipped();
    for t in &p.tasks {
        let name = ozg.task_name(t.as_str());
        if name != t.as_str() {
            parts.push(name);
        }
        if let Some(o) = ozg.ozg_of(t.as_str())
            && o.name != name
        {
            parts.push(&o.name);
        }
    }
    parts.extend(p.standards.iter().map(String::as_str));
    parts.extend(p.prerequisites.as_deref());
    parts.join(" ")
}

/// Facet values of a product (the user-side facets Land and Kreis come from deployments).
fn facets(p: &Product) -> Vec<(&'static str, String)> {
    use allmende_protocol::reference;
    let mut f: Vec<(&'static str, String)> = Vec::new();
    f.push(("kind", p.kind.slug().to_owned()));
    let ozg = Catalogue::shipped();
    for t in &p.tasks {
        f.push(("task", t.as_str().to_owned()));
        if let Some(tf) = reference::themenfeld(t.as_str()) {
            f.push(("themenfeld", tf.id.to_owned()));
        }
        // A LeiKa or OZG task places the product in the OZG: its OZG-Leistung, Lebenslage and
        // Themenfeld.
        if let Some(o) = ozg.ozg_of(t.as_str()) {
            f.push(("ozg", o.id.to_string()));
            if let Some(tf) = reference::themenfeld(&o.themenfeld) {
                f.push(("themenfeld", tf.id.to_owned()));
            }
        }
        if let Some(l) = ozg.lebenslage_of(t.as_str()) {
            f.push(("lebenslage", l.id.to_string()));
        }
    }
    for c in &p.categories {
        f.push(("category", c.trim().to_owned()));
        if let Some(tf) = reference::themenfeld(c) {
            f.push(("themenfeld", tf.id.to_owned()));
        }
    }
    for s in &p.standards {
        f.push(("standard", reference::normalise_standard(s)));
    }
    if let Some(l) = &p.licence {
        f.push(("licence", l.as_str().to_owned()));
        f.push((
            "open_source",
            if l.is_open_source() { "yes" } else { "no" }.to_owned(),
        ));
    }
    for h in &p.hosting {
        f.push(("hosting", h.slug().to_owned()));
    }
    if let Some(efa) = &p.efa {
        f.push(("efa", "yes".to_owned()));
        f.push(("efa_land", efa.providing_land.code().to_owned()));
    }
    f.sort();
    f.dedup();
    f
}
