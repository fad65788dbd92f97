//! `allmende demo`: a local store filled with plausible, clearly marked demo data.
//!
//! Several organisations (a large city, a small municipality, a Kreis, an IT-Dienstleister)
//! each sign their own documents with their own key, exactly as separate nodes would; the
//! demo store then holds what a node would hold after syncing with them. Every organisation
//! name starts with "Demo:" and every product description with "[Demo-Daten]".

use std::collections::BTreeMap;
use std::io::Write;

use allmende_protocol::catalog::Catalog;
use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::identity::Keypair;
use allmende_protocol::ids::{DocId, OrgId, RecordId};
use allmende_protocol::schema::{
    Deployment, DeploymentStatus, HostingModel, Integration, IntegrationStatus, OperatedBy,
    OrgKind, OrgProfile, Product, ProductKind, Rating, RatingDimension, ReuseOutcome, ReuseReport,
    Score, UnixTime,
};

use crate::datadir::{DataDir, random_bytes};
use crate::repo::{Repo, RepoError};
use crate::store::{KeyRecord, Store};

struct Org {
    name: &'static str,
    kind: OrgKind,
    ags: Option<&'static str>,
    population: Option<u32>,
}

const ORGS: &[Org] = &[
    Org {
        name: "Demo: Stadt Köln",
        kind: OrgKind::Kommune,
        ags: Some("05315000"),
        population: Some(1_084_831),
    },
    Org {
        name: "Demo: Gemeinde Hellenthal",
        kind: OrgKind::Kommune,
        ags: Some("05366024"),
        population: Some(7_900),
    },
    Org {
        name: "Demo: Kreis Euskirchen",
        kind: OrgKind::Kreis,
        ags: Some("05366000"),
        population: Some(195_000),
    },
    Org {
        name: "Demo: Kommunales Rechenzentrum West",
        kind: OrgKind::ItDienstleister,
        ags: None,
        population: None,
    },
];

struct Prod {
    name: &'static str,
    vendor: &'static str,
    kind: ProductKind,
    licence: &'static str,
    standards: &'static [&'static str],
    tasks: &'static [&'static str],
    description: &'static str,
}

const PRODUCTS: &[Prod] = &[
    Prod {
        name: "Meldewesen Plus",
        vendor: "Beispiel Software GmbH",
        kind: ProductKind::Fachverfahren,
        licence: "LicenseRef-proprietary",
        standards: &["XMeld", "OSCI/XTA"],
        tasks: &["Meldewesen", "99115001000000"],
        description: "Fachverfahren für das Einwohnermeldewesen.",
    },
    Prod {
        name: "Bauantrag Online",
        vendor: "Land NRW (EfA)",
        kind: ProductKind::Onlinedienst,
        licence: "EUPL-1.2",
        standards: &["XBau", "FIT-Connect", "BundID"],
        tasks: &["Bauantrag", "99009001001000"],
        description: "Online-Dienst für Bauanträge nach dem Prinzip Einer für Alle.",
    },
    Prod {
        name: "Ratsinfo Offen",
        vendor: "Beispiel-Genossenschaft eG",
        kind: ProductKind::Software,
        licence: "AGPL-3.0-or-later",
        standards: &["OParl"],
        tasks: &["Ratsinformation"],
        description: "Ratsinformationssystem für Sitzungen, Vorlagen und Beschlüsse.",
    },
    Prod {
        name: "ePayBL-Anbindung",
        vendor: "Kommunales Rechenzentrum West",
        kind: ProductKind::Basiskomponente,
        licence: "LicenseRef-proprietary",
        standards: &["ePayBL"],
        tasks: &["Bezahlen"],
        description: "Anbindung an die Zahlungsverkehrsplattform ePayBL.",
    },
];

/// What the demo did.
#[derive(Debug, Clone, Copy)]
pub struct DemoReport {
    /// Organisations created.
    pub organisations: usize,
    /// Signed changes stored.
    pub changes: u64,
}

fn profile(o: &Org) -> Result<OrgProfile, RepoError> {
    let ags = o
        .ags
        .map(str::parse)
        .transpose()
        .map_err(|e| RepoError::Integrity(format!("demo data: {e}")))?;
    Ok(OrgProfile {
        name: o.name.into(),
        kind: o.kind,
        land: ags.as_ref().map(allmende_protocol::schema::Ags::land),
        ags,
        population: o.population,
        website: None,
        contact_role: Some("IT-Leitung".into()),
        it_dienstleister: None,
    })
}

fn product(p: &Prod) -> Result<Product, RepoError> {
    let demo =
        |e: allmende_protocol::schema::SchemaError| RepoError::Integrity(format!("demo data: {e}"));
    Ok(Product {
        description: Some(format!("[Demo-Daten] {}", p.description)),
        tasks: p
            .tasks
            .iter()
            .map(|t| t.parse())
            .collect::<Result<_, _>>()
            .map_err(demo)?,
        licence: Some(p.licence.parse().map_err(demo)?),
        standards: p.standards.iter().map(|s| (*s).to_owned()).collect(),
        hosting: vec![HostingModel::OnPremise, HostingModel::ItDienstleister],
        ..Product::new(p.name, p.vendor, p.kind)
    })
}

fn score(n: u8) -> Result<Score, RepoError> {
    Score::try_from(n).map_err(|e| RepoError::Integrity(format!("demo data: {e}")))
}

/// Fills `repo` with the demo organisations and their records. `local` becomes the first
/// organisation (the data dir's own identity); the others get fresh keys.
pub fn seed<S: Store>(
    repo: &mut Repo<S>,
    local: &Keypair,
    now: UnixTime,
) -> Result<DemoReport, RepoError> {
    let mut keys = vec![
        Keypair::from_secret_bytes(&local.secret_bytes())
            .map_err(|e| RepoError::Integrity(e.to_string()))?,
    ];
    for _ in 1..ORGS.len() {
        let secret = random_bytes::<32>().map_err(|e| RepoError::Integrity(e.to_string()))?;
        keys.push(
            Keypair::from_secret_bytes(&secret).map_err(|e| RepoError::Integrity(e.to_string()))?,
        );
    }
    let orgs: Vec<OrgId> = keys
        .iter()
        .map(|k| OrgId::from_root_key(k.public()))
        .collect();
    for (i, (o, k)) in ORGS.iter().zip(&keys).enumerate() {
        let p = profile(o)?;
        repo.put_key(KeyRecord {
            key: k.public(),
            role: if i == 0 { "local" } else { "demo" }.into(),
            label: o.name.into(),
        })?;
        repo.edit(
            k,
            DocHeader::singleton(DocKind::Profile, OrgId::from_root_key(k.public())),
            now,
            |ed| ed.put_root(&p),
        )?;
    }
    // Products are created by different organisations.
    let mut ids: Vec<DocId> = Vec::new();
    for (i, p) in PRODUCTS.iter().enumerate() {
        let creator = &keys[i % keys.len()];
        let nonce = random_bytes::<16>().map_err(|e| RepoError::Integrity(e.to_string()))?;
        let header = DocHeader::product(OrgId::from_root_key(creator.public()), nonce);
        let record = product(p)?;
        repo.edit(creator, header, now, |ed| ed.put_root(&record))?;
        ids.push(header.id());
    }
    let it = orgs[3];
    // Who runs what: (org index, product index, status, yearly cost, scores).
    let usage: &[(usize, usize, DeploymentStatus, u64, [u8; 3])] = &[
        (0, 0, DeploymentStatus::Production, 180_000, [4, 3, 4]),
        (0, 1, DeploymentStatus::Production, 0, [5, 4, 4]),
        (0, 2, DeploymentStatus::Pilot, 12_000, [4, 5, 3]),
        (1, 0, DeploymentStatus::Production, 6_500, [3, 3, 2]),
        (1, 3, DeploymentStatus::Production, 1_200, [4, 4, 5]),
        (2, 1, DeploymentStatus::Production, 0, [4, 4, 4]),
        (2, 2, DeploymentStatus::Production, 9_000, [5, 4, 4]),
        (3, 3, DeploymentStatus::Production, 40_000, [4, 4, 4]),
    ];
    for &(o, p, status, yearly, [f, u, i]) in usage {
        let key = &keys[o];
        let operated_by = if o == 1 {
            OperatedBy::ItDienstleister { org: it }
        } else {
            OperatedBy::Itself
        };
        let integrations = if p == 1 {
            vec![Integration {
                product: ids[3],
                standard: "ePayBL".into(),
                status: IntegrationStatus::Works,
            }]
        } else {
            vec![]
        };
        let d = Deployment {
            product: ids[p],
            version: None,
            tasks: vec![],
            since: Some(
                "2021-01-01"
                    .parse()
                    .map_err(|e| RepoError::Integrity(format!("demo data: {e}")))?,
            ),
            status,
            operated_by,
            integrations,
            end_to_end: (p == 1).then_some(true),
            cost_once_eur: None,
            cost_yearly_eur: Some(yearly),
        };
        let rec = RecordId::from_bytes(
            random_bytes::<16>().map_err(|e| RepoError::Integrity(e.to_string()))?,
        );
        let owner = OrgId::from_root_key(key.public());
        repo.edit(
            key,
            DocHeader::singleton(DocKind::Deployments, owner),
            now,
            |ed| ed.put(&format!("{rec:#}"), &d),
        )?;
        let scores: BTreeMap<RatingDimension, Score> = [
            (RatingDimension::Functionality, score(f)?),
            (RatingDimension::Usability, score(u)?),
            (RatingDimension::Interoperability, score(i)?),
        ]
        .into_iter()
        .collect();
        let r = Rating {
            product: ids[p],
            scores,
            recommend: Some(f >= 4),
            text: Some("[Demo-Daten] Erfahrungsbericht".into()),
            since: None,
        };
        repo.edit(
            key,
            DocHeader::singleton(DocKind::Experience, owner),
            now,
            |ed| ed.put(&format!("{:#}", ids[p]), &r),
        )?;
    }
    let report = ReuseReport {
        product: ids[1],
        provider: None,
        efa: true,
        effort_person_days: Some(15),
        cost_once_eur: Some(8_000),
        cost_yearly_eur: Some(0),
        weeks_to_production: Some(10),
        obstacles: vec![allmende_protocol::schema::Obstacle::Technical],
        outcome: ReuseOutcome::Production,
        recommend: Some(true),
        text: Some(
            "[Demo-Daten] Anbindung an das Fachverfahren dauerte länger als geplant.".into(),
        ),
    };
    let rec = RecordId::from_bytes(
        random_bytes::<16>().map_err(|e| RepoError::Integrity(e.to_string()))?,
    );
    let owner = OrgId::from_root_key(keys[2].public());
    repo.edit(
        &keys[2],
        DocHeader::singleton(DocKind::Experience, owner),
        now,
        |ed| ed.put(&format!("{rec:#}"), &report),
    )?;
    Ok(DemoReport {
        organisations: ORGS.len(),
        changes: repo.store().counts()?.changes,
    })
}

/// Prints a short overview of a catalog: who uses which product, and mean scores.
pub fn print_overview(catalog: &Catalog, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "Produkt                        Einsätze  Bewertungen  Ø Funktionalität"
    )?;
    for p in &catalog.products {
        let uses = catalog
            .deployments
            .iter()
            .filter(|d| d.record.product == p.id)
            .count();
        let ratings: Vec<u8> = catalog
            .ratings
            .iter()
            .filter(|r| r.record.product == p.id)
            .filter_map(|r| {
                r.record
                    .scores
                    .get(&RatingDimension::Functionality)
                    .map(Score::get)
            })
            .collect();
        let mean = if ratings.is_empty() {
            "–".to_owned()
        } else {
            format!(
                "{:.1}",
                ratings.iter().map(|&s| f64::from(s)).sum::<f64>() / ratings.len() as f64
            )
        };
        writeln!(
            out,
            "{:<30} {:>8}  {:>11}  {:>16}",
            p.product.name,
            uses,
            ratings.len(),
            mean
        )?;
    }
    Ok(())
}

/// Runs the demo in `dd`: seeds it on first use, then prints the overview.
pub fn run(dd: &DataDir, out: &mut dyn Write) -> anyhow::Result<()> {
    let fresh = !dd.is_initialised();
    let identity = if fresh {
        dd.create_identity()?
    } else {
        dd.identity()?
    };
    let mut repo = dd.open_repo()?;
    if fresh {
        let r = seed(&mut repo, &identity.keypair, crate::now())?;
        writeln!(
            out,
            "Demo-Daten angelegt: {} Organisationen, {} signierte Änderungen.",
            r.organisations, r.changes
        )?;
    }
    writeln!(out, "Datenverzeichnis: {}", dd.path().display())?;
    writeln!(out)?;
    print_overview(&repo.catalog()?, out)?;
    writeln!(out)?;
    writeln!(
        out,
        "Alle Daten sind Demo-Daten. Weiter mit: allmende --data-dir {} export",
        dd.path().display()
    )?;
    Ok(())
}
