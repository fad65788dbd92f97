//! `allmende demo`: a local demo network on loopback, filled with plausible, clearly marked
//! demo data, whose web UI the user opens in a browser.
//!
//! ```text
//!   bootstrap node (no organisation)
//!      ▲      ▲        ▲           ▲              ▲
//!   Land NRW  Köln  München  Kreis Euskirchen  KRZ West ── hosts Hellenthal, Dahlem, Nettersheim
//!   (anchor)                  (delegates to KRZ)   └── serves the web UI
//! ```
//!
//! Every organisation signs its own documents with its own key, in its own node's store
//! (hosted members in their IT-Dienstleister's store), exactly as real nodes would; the nodes
//! then find each other through the bootstrap node and sync over real libp2p connections on
//! 127.0.0.1. The Land body is the trust anchor and attests the organisations in NRW; the
//! nodes join the demo network with a manifest the Land signs at every start. The Munich
//! demo city stays unattested: the other nodes keep nothing of it but its profile in their
//! quarantine, whose id the trust page lists as waiting. Every organisation name
//! starts with "Demo:" and every product description with "[Demo-Daten]".
//!
//! The data lives in one directory (by default under the system's temp dir), marked by a file
//! so the demo never writes into a directory it did not create; a second run reuses it.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::identity::{Delegation, Keypair, Scope};
use allmende_protocol::ids::{OrgId, RecordId};
use allmende_protocol::schema::{
    Attestation, Date, Deployment, DeploymentStatus, Efa, HostingModel, Integration,
    IntegrationStatus, Land, Obstacle, OperatedBy, OrgKind, OrgProfile, Product, ProductKind,
    Rating, RatingDimension, ReuseOutcome, ReuseReport, Score, TrainingFormat, TrainingOffer,
    TrainingRating, UnixTime,
};
use anyhow::{Context, bail};

use crate::node::{Node, NodeConfig};

mod vergleich;
use allmende_net::net::NetConfig;
use allmende_store::datadir::{DataDir, random_bytes};
use allmende_store::repo::Repo;
use allmende_store::store::{KeyRecord, SqliteStore};

/// Marks a directory as made by `allmende demo` (and the layout version of its contents).
const MARKER: &str = "allmende-demo-v3";

/// An organisation of the demo.
struct Org {
    /// Directory of its node (for hosted members: ignored, they live with their host).
    slug: &'static str,
    name: &'static str,
    kind: OrgKind,
    ags: Option<&'static str>,
    land: Option<&'static str>,
    population: Option<u32>,
    /// The IT-Dienstleister hosting it as a member (index into [`ORGS`]).
    hosted_by: Option<usize>,
    /// Its IT-Dienstleister (shown in the profile).
    it_dienstleister: Option<usize>,
    /// Attested by the Land trust anchor.
    attested: bool,
}

const LAND: usize = 0;
const KOELN: usize = 1;
const MUENCHEN: usize = 2;
const KREIS: usize = 3;
const KRZ: usize = 4;
const HELLENTHAL: usize = 5;
const DAHLEM: usize = 6;

/// The node whose web UI the demo serves.
const SERVED: usize = KRZ;

const ORGS: &[Org] = &[
    Org {
        slug: "land-nrw",
        name: "Demo: Ministerium für Digitalisierung NRW",
        kind: OrgKind::Land,
        ags: None,
        land: Some("05"),
        population: None,
        hosted_by: None,
        it_dienstleister: None,
        attested: true,
    },
    Org {
        slug: "koeln",
        name: "Demo: Stadt Köln",
        kind: OrgKind::Kommune,
        ags: Some("05315000"),
        land: None,
        population: Some(1_083_498),
        hosted_by: None,
        it_dienstleister: None,
        attested: true,
    },
    Org {
        slug: "muenchen",
        name: "Demo: Landeshauptstadt München",
        kind: OrgKind::Kommune,
        ags: Some("09162000"),
        land: None,
        population: Some(1_488_202),
        hosted_by: None,
        it_dienstleister: None,
        attested: false,
    },
    Org {
        slug: "kreis-euskirchen",
        name: "Demo: Kreis Euskirchen",
        kind: OrgKind::Kreis,
        ags: Some("05366000"),
        land: None,
        population: Some(194_359),
        hosted_by: None,
        it_dienstleister: Some(KRZ),
        attested: true,
    },
    Org {
        slug: "krz-west",
        name: "Demo: Kommunales Rechenzentrum West",
        kind: OrgKind::ItDienstleister,
        ags: None,
        land: Some("05"),
        population: None,
        hosted_by: None,
        it_dienstleister: None,
        attested: true,
    },
    Org {
        slug: "hellenthal",
        name: "Demo: Gemeinde Hellenthal",
        kind: OrgKind::Kommune,
        ags: Some("05366020"),
        land: None,
        population: Some(7_797),
        hosted_by: Some(KRZ),
        it_dienstleister: Some(KRZ),
        attested: true,
    },
    Org {
        slug: "dahlem",
        name: "Demo: Gemeinde Dahlem",
        kind: OrgKind::Kommune,
        ags: Some("05366012"),
        land: None,
        population: Some(4_301),
        hosted_by: Some(KRZ),
        it_dienstleister: Some(KRZ),
        attested: true,
    },
    // For the Nachbarvergleich: a Gemeinde of the Kreis in Hellenthal's size class.
    Org {
        slug: "nettersheim",
        name: "Demo: Gemeinde Nettersheim",
        kind: OrgKind::Kommune,
        ags: Some("05366032"),
        land: None,
        population: Some(7_705),
        hosted_by: Some(KRZ),
        it_dienstleister: Some(KRZ),
        attested: true,
    },
];

struct Prod {
    creator: usize,
    name: &'static str,
    vendor: &'static str,
    kind: ProductKind,
    licence: &'static str,
    standards: &'static [&'static str],
    tasks: &'static [&'static str],
    themenfeld: &'static str,
    hosting: &'static [HostingModel],
    efa_land: Option<&'static str>,
    description: &'static str,
}

use HostingModel::{Cloud, ItDienstleister as AtDl, OnPremise, Saas};

const PRODUCTS: &[Prod] = &[
    Prod {
        creator: KOELN,
        name: "Meldewesen Plus",
        vendor: "Beispiel Software GmbH",
        kind: ProductKind::Fachverfahren,
        licence: "LicenseRef-proprietary",
        standards: &["XMeld", "OSCI-Transport"],
        tasks: &["Meldewesen"],
        themenfeld: "Recht & Ordnung",
        hosting: &[OnPremise, AtDl],
        efa_land: None,
        description: "Fachverfahren für das Einwohnermeldewesen mit Anbindung an die Meldedatenübermittlung.",
    },
    Prod {
        creator: LAND,
        name: "Bauantrag Online",
        vendor: "Land NRW (EfA)",
        kind: ProductKind::Onlinedienst,
        licence: "EUPL-1.2",
        standards: &["XBau", "FIT-Connect", "BundID"],
        tasks: &["Bauantrag", "99009001001000"],
        themenfeld: "Bauen & Wohnen",
        hosting: &[Cloud],
        efa_land: Some("05"),
        description: "Online-Dienst für Bauanträge und Baugenehmigungen nach dem Prinzip Einer für Alle.",
    },
    Prod {
        creator: KREIS,
        name: "Baugenehmigung Digital",
        vendor: "Muster-IT AG",
        kind: ProductKind::Fachverfahren,
        licence: "LicenseRef-proprietary",
        standards: &["XBau"],
        tasks: &["Bauantrag"],
        themenfeld: "Bauen & Wohnen",
        hosting: &[OnPremise, AtDl],
        efa_land: None,
        description: "Fachverfahren der Bauaufsicht: Vorgänge, Beteiligung der Fachstellen, Bescheide.",
    },
    Prod {
        creator: KREIS,
        name: "Ratsinfo Offen",
        vendor: "Beispiel-Genossenschaft eG",
        kind: ProductKind::Software,
        licence: "AGPL-3.0-or-later",
        standards: &["OParl"],
        tasks: &["Ratsinformation"],
        themenfeld: "Querschnitt",
        hosting: &[OnPremise, AtDl],
        efa_land: None,
        description: "Ratsinformationssystem für Sitzungen, Vorlagen und Beschlüsse, quelloffen.",
    },
    Prod {
        creator: KRZ,
        name: "Sitzungsdienst Kommunal",
        vendor: "Kommunal-Soft GmbH",
        kind: ProductKind::Software,
        licence: "LicenseRef-proprietary",
        standards: &["OParl"],
        tasks: &["Ratsinformation"],
        themenfeld: "Querschnitt",
        hosting: &[Saas],
        efa_land: None,
        description: "Sitzungsmanagement als Software as a Service.",
    },
    Prod {
        creator: KRZ,
        name: "ePayBL-Anbindung",
        vendor: "Kommunales Rechenzentrum West",
        kind: ProductKind::Basiskomponente,
        licence: "LicenseRef-proprietary",
        standards: &["ePayBL"],
        tasks: &["Bezahlen"],
        themenfeld: "Querschnitt",
        hosting: &[AtDl],
        efa_land: None,
        description: "Anbindung kommunaler Online-Dienste an die Zahlungsverkehrsplattform ePayBL.",
    },
    Prod {
        creator: MUENCHEN,
        name: "Hundesteuer Online",
        vendor: "Freistaat Bayern (EfA)",
        kind: ProductKind::Onlinedienst,
        licence: "EUPL-1.2",
        standards: &["FIT-Connect", "XBezahldienste"],
        tasks: &["Hundesteuer"],
        themenfeld: "Steuern & Zoll",
        hosting: &[Cloud],
        efa_land: Some("09"),
        description: "An- und Abmeldung von Hunden zur Hundesteuer, Einer-für-Alle-Dienst.",
    },
    Prod {
        creator: MUENCHEN,
        name: "Hundesteuer Digital",
        vendor: "Open-Source-Gemeinschaft Kommunal",
        kind: ProductKind::Onlinedienst,
        licence: "MIT",
        standards: &["FIT-Connect"],
        tasks: &["Hundesteuer"],
        themenfeld: "Steuern & Zoll",
        hosting: &[OnPremise],
        efa_land: None,
        description: "Quelloffener Online-Dienst zur Hundesteuer, parallel zum EfA-Dienst entstanden.",
    },
    Prod {
        creator: KRZ,
        name: "Kita-Navigator Offen",
        vendor: "Beispiel-Genossenschaft eG",
        kind: ProductKind::Onlinedienst,
        licence: "EUPL-1.2",
        standards: &["FIT-Connect"],
        tasks: &["Kita-Platz-Vergabe"],
        themenfeld: "Familie & Kind",
        hosting: &[Cloud, AtDl],
        efa_land: None,
        description: "Vormerkung und Vergabe von Kita-Plätzen für Eltern und Jugendämter.",
    },
    Prod {
        creator: KRZ,
        name: "Kita-Portal Kommunal",
        vendor: "Kommunal-Soft GmbH",
        kind: ProductKind::Onlinedienst,
        licence: "LicenseRef-proprietary",
        standards: &["FIT-Connect"],
        tasks: &["Kita-Platz-Vergabe"],
        themenfeld: "Familie & Kind",
        hosting: &[Saas],
        efa_land: None,
        description: "Kita-Portal mit Elternkonto, als Software as a Service.",
    },
    Prod {
        creator: KOELN,
        name: "E-Akte Kommunal",
        vendor: "Aktenwerk GmbH",
        kind: ProductKind::Software,
        licence: "LicenseRef-proprietary",
        standards: &["XDOMEA"],
        tasks: &["E-Akte"],
        themenfeld: "Querschnitt",
        hosting: &[OnPremise, AtDl],
        efa_land: None,
        description: "Dokumentenmanagement und elektronische Akte für Kommunalverwaltungen.",
    },
    Prod {
        creator: LAND,
        name: "Wohngeld-Antrag",
        vendor: "Land Schleswig-Holstein (EfA)",
        kind: ProductKind::Onlinedienst,
        licence: "EUPL-1.2",
        standards: &["FIT-Connect", "BundID"],
        tasks: &["Wohngeld"],
        themenfeld: "Bauen & Wohnen",
        hosting: &[Cloud],
        efa_land: Some("01"),
        description: "Antrag auf Wohngeld, Einer-für-Alle-Dienst.",
    },
];

/// Who runs what.
struct Use {
    org: usize,
    product: usize,
    status: DeploymentStatus,
    since: &'static str,
    yearly: u64,
    /// Operated by the KRZ West.
    at_krz: bool,
    /// Integration: (other product, standard, status).
    integration: Option<(usize, &'static str, IntegrationStatus)>,
    /// Functionality, usability, interoperability, support, stability (0 = not rated).
    scores: [u8; 5],
    text: &'static str,
}

use DeploymentStatus::{Pilot, Planned, Production};
use IntegrationStatus::{Partly, Works};

const USES: &[Use] = &[
    Use {
        org: KOELN,
        product: 0,
        status: Production,
        since: "2015-04-01",
        yearly: 180_000,
        at_krz: false,
        integration: Some((10, "XDOMEA", Partly)),
        scores: [4, 3, 4, 3, 4],
        text: "Stabil im Betrieb; die Schnittstelle zur E-Akte braucht noch Handarbeit.",
    },
    Use {
        org: KOELN,
        product: 1,
        status: Production,
        since: "2022-09-01",
        yearly: 0,
        at_krz: false,
        integration: Some((2, "XBau", Works)),
        scores: [5, 4, 5, 4, 4],
        text: "Anträge kommen vollständig und strukturiert im Fachverfahren an.",
    },
    Use {
        org: KOELN,
        product: 3,
        status: Pilot,
        since: "2024-02-01",
        yearly: 12_000,
        at_krz: false,
        integration: None,
        scores: [4, 5, 3, 0, 4],
        text: "Pilot im Rat; die Fraktionen kommen gut zurecht.",
    },
    Use {
        org: KOELN,
        product: 10,
        status: Production,
        since: "2019-01-01",
        yearly: 95_000,
        at_krz: false,
        integration: None,
        scores: [4, 2, 3, 3, 4],
        text: "Funktional umfassend, aber die Oberfläche braucht Schulung.",
    },
    Use {
        org: KOELN,
        product: 8,
        status: Production,
        since: "2021-08-01",
        yearly: 15_000,
        at_krz: false,
        integration: None,
        scores: [4, 4, 4, 4, 5],
        text: "Eltern nutzen die Vormerkung rege.",
    },
    Use {
        org: MUENCHEN,
        product: 0,
        status: Production,
        since: "2016-01-01",
        yearly: 210_000,
        at_krz: false,
        integration: None,
        scores: [3, 3, 3, 2, 4],
        text: "Tut, was es soll; Updates kommen langsam.",
    },
    Use {
        org: MUENCHEN,
        product: 6,
        status: Production,
        since: "2023-03-01",
        yearly: 0,
        at_krz: false,
        integration: Some((5, "ePayBL", Partly)),
        scores: [4, 4, 3, 4, 4],
        text: "Bezahlung funktioniert, Rückbuchungen noch manuell.",
    },
    Use {
        org: MUENCHEN,
        product: 4,
        status: Production,
        since: "2020-05-01",
        yearly: 30_000,
        at_krz: false,
        integration: None,
        scores: [3, 4, 3, 4, 4],
        text: "",
    },
    Use {
        org: MUENCHEN,
        product: 9,
        status: Pilot,
        since: "2024-06-01",
        yearly: 24_000,
        at_krz: false,
        integration: None,
        scores: [3, 3, 2, 3, 3],
        text: "Pilot in zwei Stadtbezirken.",
    },
    Use {
        org: KREIS,
        product: 1,
        status: Production,
        since: "2023-01-15",
        yearly: 0,
        at_krz: false,
        integration: Some((2, "XBau", Works)),
        scores: [4, 4, 4, 4, 4],
        text: "Nachnutzung über den FIT-Store, Anbindung an das Fachverfahren klappt.",
    },
    Use {
        org: KREIS,
        product: 2,
        status: Production,
        since: "2018-07-01",
        yearly: 25_000,
        at_krz: false,
        integration: None,
        scores: [4, 3, 4, 4, 5],
        text: "",
    },
    Use {
        org: KREIS,
        product: 3,
        status: Production,
        since: "2020-01-01",
        yearly: 9_000,
        at_krz: true,
        integration: None,
        scores: [5, 4, 4, 0, 4],
        text: "Quelloffen und beim Rechenzentrum gut aufgehoben.",
    },
    Use {
        org: KREIS,
        product: 10,
        status: Production,
        since: "2021-01-01",
        yearly: 20_000,
        at_krz: true,
        integration: None,
        scores: [4, 3, 4, 4, 4],
        text: "",
    },
    Use {
        org: KRZ,
        product: 5,
        status: Production,
        since: "2019-03-01",
        yearly: 40_000,
        at_krz: false,
        integration: None,
        scores: [4, 4, 5, 0, 4],
        text: "",
    },
    Use {
        org: KRZ,
        product: 10,
        status: Production,
        since: "2017-01-01",
        yearly: 60_000,
        at_krz: false,
        integration: None,
        scores: [4, 3, 4, 3, 4],
        text: "Mandantenfähig für unsere Mitgliedskommunen.",
    },
    Use {
        org: HELLENTHAL,
        product: 0,
        status: Production,
        since: "2017-01-01",
        yearly: 6_500,
        at_krz: true,
        integration: Some((10, "XDOMEA", Works)),
        scores: [3, 3, 2, 4, 4],
        text: "Für eine kleine Gemeinde zu umfangreich, der Betrieb beim Rechenzentrum entlastet uns.",
    },
    Use {
        org: HELLENTHAL,
        product: 5,
        status: Production,
        since: "2021-06-01",
        yearly: 1_200,
        at_krz: true,
        integration: None,
        scores: [4, 4, 5, 4, 5],
        text: "",
    },
    Use {
        org: HELLENTHAL,
        product: 3,
        status: Production,
        since: "2022-01-01",
        yearly: 1_500,
        at_krz: true,
        integration: None,
        scores: [4, 4, 4, 0, 4],
        text: "Gemeinsam mit dem Kreis betrieben.",
    },
    Use {
        org: HELLENTHAL,
        product: 7,
        status: Pilot,
        since: "2024-04-01",
        yearly: 0,
        at_krz: false,
        integration: None,
        scores: [3, 4, 3, 0, 3],
        text: "Im Test; die Bescheiderstellung fehlt noch.",
    },
    Use {
        org: DAHLEM,
        product: 0,
        status: Production,
        since: "2017-01-01",
        yearly: 4_200,
        at_krz: true,
        integration: None,
        scores: [3, 3, 3, 4, 4],
        text: "",
    },
    Use {
        org: DAHLEM,
        product: 5,
        status: Production,
        since: "2021-06-01",
        yearly: 900,
        at_krz: true,
        integration: None,
        scores: [4, 4, 4, 4, 4],
        text: "",
    },
    Use {
        org: DAHLEM,
        product: 8,
        status: Planned,
        since: "2025-01-01",
        yearly: 0,
        at_krz: true,
        integration: None,
        scores: [0, 0, 0, 0, 0],
        text: "",
    },
];

/// Nachnutzung reports: (org, product, provider, efa, person days, once €, weeks, obstacles, outcome, text).
type Report = (
    usize,
    usize,
    usize,
    bool,
    u32,
    u64,
    u32,
    &'static [Obstacle],
    ReuseOutcome,
    &'static str,
);

const REPORTS: &[Report] = &[
    (
        KREIS,
        1,
        LAND,
        true,
        15,
        8_000,
        10,
        &[Obstacle::Technical],
        ReuseOutcome::Production,
        "Die Anbindung an das Fachverfahren dauerte länger als geplant, danach lief es.",
    ),
    (
        HELLENTHAL,
        7,
        MUENCHEN,
        false,
        6,
        0,
        8,
        &[Obstacle::Technical, Obstacle::Organisational],
        ReuseOutcome::InProgress,
        "Installation beim Rechenzentrum klappte; die Abstimmung mit der Kasse läuft noch.",
    ),
    (
        DAHLEM,
        8,
        KOELN,
        false,
        4,
        2_500,
        0,
        &[Obstacle::Financial],
        ReuseOutcome::Abandoned,
        "Die Betriebskosten waren für unsere Größe zu hoch; wir warten auf ein gemeinsames Angebot des Rechenzentrums.",
    ),
];

fn demo_err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("demo data: {e}")
}

fn profile(o: &Org, orgs: &[OrgId]) -> anyhow::Result<OrgProfile> {
    let ags: Option<allmende_protocol::schema::Ags> =
        o.ags.map(str::parse).transpose().map_err(demo_err)?;
    let land = match (&ags, o.land) {
        (Some(a), _) => Some(a.land()),
        (None, Some(code)) => Some(code.parse::<Land>().map_err(demo_err)?),
        (None, None) => None,
    };
    Ok(OrgProfile {
        name: o.name.into(),
        kind: o.kind,
        land,
        ags,
        population: o.population,
        website: None,
        contact_role: Some("IT-Leitung".into()),
        it_dienstleister: o.it_dienstleister.map(|i| orgs[i]),
    })
}

fn product(p: &Prod) -> anyhow::Result<Product> {
    Ok(Product {
        description: Some(format!("[Demo-Daten] {}", p.description)),
        tasks: p
            .tasks
            .iter()
            .map(|t| t.parse())
            .collect::<Result<_, _>>()
            .map_err(demo_err)?,
        categories: vec![p.themenfeld.to_owned()],
        licence: Some(p.licence.parse().map_err(demo_err)?),
        standards: p.standards.iter().map(|s| (*s).to_owned()).collect(),
        hosting: p.hosting.to_vec(),
        efa: p
            .efa_land
            .map(|l| -> anyhow::Result<Efa> {
                Ok(Efa {
                    providing_land: l.parse().map_err(demo_err)?,
                    reuse_route: Some("FIT-Store".into()),
                    available_from: None,
                })
            })
            .transpose()?,
        prerequisites: Some("Anbindung an das Servicekonto (BundID); aktueller Browser.".into()),
        cost_model: Some("Demo: Lizenz je Einwohner oder Pauschale je Jahr.".into()),
        ..Product::new(p.name, p.vendor, p.kind)
    })
}

fn record_id() -> anyhow::Result<String> {
    Ok(format!("{:#}", RecordId::from_bytes(random_bytes::<16>()?)))
}

/// The organisations' keys and ids, and where each one's node directory is.
struct Layout {
    keys: Vec<Keypair>,
    orgs: Vec<OrgId>,
}

/// Creates the identities and writes every organisation's signed documents into its node's store.
fn seed(base: &Path, now: UnixTime) -> anyhow::Result<Layout> {
    let mut keys: Vec<Option<Keypair>> = (0..ORGS.len()).map(|_| None).collect();
    for (i, o) in ORGS
        .iter()
        .enumerate()
        .filter(|(_, o)| o.hosted_by.is_none())
    {
        let id = DataDir::new(base.join(o.slug)).create_identity()?;
        keys[i] = Some(id.keypair);
    }
    for (i, o) in ORGS.iter().enumerate() {
        if let Some(host) = o.hosted_by {
            let (id, _token) = DataDir::new(base.join(ORGS[host].slug)).add_member()?;
            keys[i] = Some(id.keypair);
        }
    }
    let keys: Vec<Keypair> = keys
        .into_iter()
        .map(|k| k.context("demo organisation without key"))
        .collect::<anyhow::Result<_>>()?;
    let orgs: Vec<OrgId> = keys
        .iter()
        .map(|k| OrgId::from_root_key(k.public()))
        .collect();
    let mut repos: Vec<(usize, Repo<SqliteStore>)> = Vec::new();
    for (i, o) in ORGS
        .iter()
        .enumerate()
        .filter(|(_, o)| o.hosted_by.is_none())
    {
        repos.push((i, DataDir::new(base.join(o.slug)).open_repo()?));
    }
    let repo_of =
        |repos: &mut Vec<(usize, Repo<SqliteStore>)>, org: usize| -> anyhow::Result<usize> {
            let host = ORGS[org].hosted_by.unwrap_or(org);
            repos
                .iter()
                .position(|(i, _)| *i == host)
                .context("demo organisation without node")
        };
    // Profiles and key labels.
    for (i, o) in ORGS.iter().enumerate() {
        let r = repo_of(&mut repos, i)?;
        let repo = &mut repos[r].1;
        repo.put_key(KeyRecord {
            key: keys[i].public(),
            role: if o.hosted_by.is_some() {
                "member"
            } else {
                "local"
            }
            .into(),
            label: o.name.into(),
        })?;
        let p = profile(o, &orgs)?;
        repo.edit(
            &keys[i],
            DocHeader::singleton(DocKind::Profile, orgs[i]),
            now,
            |ed| ed.put_root(&p),
        )?;
    }
    let layout = Layout { keys, orgs };
    write_catalog(&layout, &mut repos, now, &repo_of)?;
    // Following changes: a version, an end of support and a watch list at Köln.
    let r = repo_of(&mut repos, KOELN)?;
    crate::follow_cli::demo(
        &mut repos[r].1,
        &layout.keys[KOELN],
        layout.orgs[KOELN],
        now,
    )?;
    // The served node (the KRZ West) watches that product (Köln's Meldewesen Plus, which
    // Hellenthal and Dahlem run) and the Kreis Euskirchen, last visited a day ago: its
    // "Beobachtet" page shows what is new since.
    let k = repo_of(&mut repos, KOELN)?;
    let meldewesen: Option<Vec<u8>> = repos[k]
        .1
        .store()
        .connection()
        .query_row(
            "SELECT doc FROM idx_product WHERE name = 'Meldewesen Plus'",
            [],
            |row| row.get(0),
        )
        .ok();
    let r = repo_of(&mut repos, SERVED)?;
    let conn = repos[r].1.store().connection();
    let krz = layout.orgs[SERVED];
    if let Some(p) = meldewesen {
        allmende_store::watch::add(
            conn,
            &krz,
            allmende_store::watch::WatchKind::Product,
            &hex::encode(p),
            now.0,
        )?;
    }
    allmende_store::watch::add(
        conn,
        &krz,
        allmende_store::watch::WatchKind::Kreis,
        "05366",
        now.0,
    )?;
    allmende_store::watch::mark_visit(
        conn,
        &krz,
        allmende_store::watch::VisitedPage::Watch,
        now.0 - 86_400,
    )?;
    allmende_store::watch::mark_visit(
        conn,
        &krz,
        allmende_store::watch::VisitedPage::Notices,
        now.0 - 86_400,
    )?;
    Ok(layout)
}

/// The deployments of `vergleich.rs` (the Nachbarvergleich's demo data) as [`Use`]s.
fn extra_uses() -> anyhow::Result<Vec<Use>> {
    vergleich::USES
        .iter()
        .map(|e| {
            Ok(Use {
                org: ORGS
                    .iter()
                    .position(|o| o.slug == e.org)
                    .with_context(|| format!("demo organisation {}", e.org))?,
                product: PRODUCTS
                    .iter()
                    .position(|p| p.name == e.product)
                    .with_context(|| format!("demo product {}", e.product))?,
                status: e.status,
                since: e.since,
                yearly: e.yearly,
                at_krz: e.at_krz,
                integration: None,
                scores: e.scores,
                text: e.text,
            })
        })
        .collect()
}

type RepoOf = dyn Fn(&mut Vec<(usize, Repo<SqliteStore>)>, usize) -> anyhow::Result<usize>;

fn write_catalog(
    l: &Layout,
    repos: &mut Vec<(usize, Repo<SqliteStore>)>,
    now: UnixTime,
    repo_of: &RepoOf,
) -> anyhow::Result<()> {
    let mut ids = Vec::new();
    for p in PRODUCTS {
        let header = DocHeader::product(l.orgs[p.creator], random_bytes::<16>()?);
        let record = product(p)?;
        let r = repo_of(repos, p.creator)?;
        repos[r]
            .1
            .edit(&l.keys[p.creator], header, now, |ed| ed.put_root(&record))?;
        ids.push(header.id());
    }
    let score = |n: u8| Score::try_from(n).map_err(demo_err);
    let extra = extra_uses()?;
    for u in USES.iter().chain(&extra) {
        let d = Deployment {
            product: ids[u.product],
            version: None,
            tasks: vec![],
            since: Some(u.since.parse::<Date>().map_err(demo_err)?),
            status: u.status,
            operated_by: if u.at_krz {
                OperatedBy::ItDienstleister { org: l.orgs[KRZ] }
            } else {
                OperatedBy::Itself
            },
            integrations: u
                .integration
                .map(|(other, standard, status)| Integration {
                    product: ids[other],
                    standard: standard.into(),
                    status,
                })
                .into_iter()
                .collect(),
            end_to_end: (u.product == 1 || u.product == 6).then_some(true),
            cost_once_eur: None,
            cost_yearly_eur: Some(u.yearly),
            contact_role: contact(u).map(str::to_owned),
            exchange_ok: contact(u).map(|_| true),
            until: None,
            replaced_by: None,
            end_reason: None,
        };
        let r = repo_of(repos, u.org)?;
        let repo = &mut repos[r].1;
        let owner = l.orgs[u.org];
        let key = record_id()?;
        repo.edit(
            &l.keys[u.org],
            DocHeader::singleton(DocKind::Deployments, owner),
            now,
            |ed| ed.put(&key, &d),
        )?;
        if u.scores.iter().all(|s| *s == 0) {
            continue;
        }
        let dims = [
            RatingDimension::Functionality,
            RatingDimension::Usability,
            RatingDimension::Interoperability,
            RatingDimension::Support,
            RatingDimension::Stability,
        ];
        let mut scores = std::collections::BTreeMap::new();
        for (dim, s) in dims.iter().zip(u.scores) {
            if s > 0 {
                scores.insert(*dim, score(s)?);
            }
        }
        let rating = Rating {
            product: ids[u.product],
            scores,
            recommend: Some(u.scores[0] >= 4),
            text: (!u.text.is_empty()).then(|| format!("[Demo-Daten] {}", u.text)),
            since: None,
        };
        let key = format!("{:#}", ids[u.product]);
        repo.edit(
            &l.keys[u.org],
            DocHeader::singleton(DocKind::Experience, owner),
            now,
            |ed| ed.put(&key, &rating),
        )?;
    }
    for &(org, p, provider, efa, days, once, weeks, obstacles, outcome, text) in REPORTS {
        let report = ReuseReport {
            product: ids[p],
            provider: Some(l.orgs[provider]),
            efa,
            effort_person_days: Some(days),
            cost_once_eur: Some(once),
            cost_yearly_eur: None,
            weeks_to_production: (weeks > 0).then_some(weeks),
            obstacles: obstacles.to_vec(),
            outcome,
            recommend: Some(outcome == ReuseOutcome::Production),
            text: Some(format!("[Demo-Daten] {text}")),
        };
        let r = repo_of(repos, org)?;
        let key = record_id()?;
        repos[r].1.edit(
            &l.keys[org],
            DocHeader::singleton(DocKind::Experience, l.orgs[org]),
            now,
            |ed| ed.put(&key, &report),
        )?;
    }
    exchange(l, repos, now, repo_of, &ids)?;
    // The Land body attests the organisations it knows.
    let r = repo_of(repos, LAND)?;
    for (i, o) in ORGS.iter().enumerate().filter(|(_, o)| o.attested) {
        let a = Attestation {
            org: l.orgs[i],
            name: o.name.into(),
            kind: o.kind,
            ags: o.ags.map(str::parse).transpose().map_err(demo_err)?,
            attested_at: now,
        };
        let key = format!("{:#}", l.orgs[i]);
        repos[r].1.edit(
            &l.keys[LAND],
            DocHeader::singleton(DocKind::Trust, l.orgs[LAND]),
            now,
            |ed| ed.put(&key, &a),
        )?;
    }
    // The Kreis lets its IT-Dienstleister's key publish for it.
    let d = Delegation {
        issuer: l.orgs[KREIS],
        delegate: l.keys[KRZ].public(),
        scope: Scope::all(),
        not_before: now,
        not_after: UnixTime(now.0 + 365 * 86_400),
    }
    .sign(&l.keys[KREIS])
    .map_err(demo_err)?;
    let r = repo_of(repos, KREIS)?;
    repos[r].1.add_delegation(d)?;
    // Köln proposes to improve an entry the IT-Dienstleister looks after (the served node):
    // the product page lists the proposal with a diff and the buttons to accept or decline.
    let i = PRODUCTS
        .iter()
        .position(|p| p.name == "Sitzungsdienst Kommunal")
        .context("the demo's Sitzungsdienst entry")?;
    let mut proposed = product(&PRODUCTS[i])?;
    proposed.description = Some(
        "Sitzungsmanagement als Software as a Service, mit OParl-Schnittstelle für das Ratsinformationssystem."
            .into(),
    );
    proposed.hosting.push(Cloud);
    let r = repo_of(repos, PRODUCTS[i].creator)?;
    let header = repos[r]
        .1
        .document(&ids[i])?
        .map(|d| *d.header())
        .context("the demo's Sitzungsdienst entry is not stored")?;
    repos[r]
        .1
        .edit(&l.keys[KOELN], header, now, |ed| ed.put_root(&proposed))?;
    Ok(())
}

/// Whom to ask about a deployment: (organisation, product, role). These deployments are
/// marked "ansprechbar für Erfahrungsaustausch".
const CONTACTS: &[(usize, usize, &str)] = &[
    (
        KOELN,
        0,
        "Amt für Bürgerdienste, Produktverantwortliche Meldewesen",
    ),
    (KOELN, 10, "Amt für Informationsverarbeitung, Team E-Akte"),
    (
        MUENCHEN,
        6,
        "Kassen- und Steueramt, Verfahrensverantwortliche",
    ),
    (KREIS, 2, "Bauaufsichtsamt, Fachadministration"),
    (HELLENTHAL, 0, "Bürgerbüro, Fachverfahrensbetreuung"),
];

fn contact(u: &Use) -> Option<&'static str> {
    CONTACTS
        .iter()
        .find(|(org, product, _)| *org == u.org && *product == u.product)
        .map(|(_, _, role)| *role)
}

/// Deployments that ended, and what replaced them: (organisation, old product, new product,
/// since, until, why).
const REPLACED: &[(usize, usize, usize, &str, &str, &str)] = &[
    (
        HELLENTHAL,
        4,
        3,
        "2012-01-01",
        "2021-12-31",
        "Wechsel auf die Open-Source-Lösung, die auch der Kreis nutzt; die Lizenzkosten entfallen.",
    ),
    (
        DAHLEM,
        4,
        3,
        "2013-05-01",
        "2022-03-31",
        "Gemeinsamer Betrieb mit dem Kreis über das Rechenzentrum.",
    ),
    (
        KOELN,
        9,
        8,
        "2017-08-01",
        "2022-07-31",
        "Das neue Elternportal ist barrierefrei und an das Servicekonto angebunden.",
    ),
    (
        MUENCHEN,
        7,
        6,
        "2018-01-01",
        "2021-06-30",
        "Die Zahlung über ePayBL fehlte.",
    ),
];

/// Training offers: (publisher, product, title, provider, format, minutes, euros, roles, link).
type Offer = (
    usize,
    usize,
    &'static str,
    &'static str,
    TrainingFormat,
    u32,
    u64,
    &'static [&'static str],
    &'static str,
);

const OFFERS: &[Offer] = &[
    (
        KRZ,
        10,
        "E-Akte Kommunal: Grundlagen für die Sachbearbeitung",
        "Kommunales Rechenzentrum West, Schulungszentrum",
        TrainingFormat::InPerson,
        420,
        240,
        &["Sachbearbeitung", "Registratur"],
        "https://schulung.krz-west.example/e-akte",
    ),
    (
        KRZ,
        0,
        "Meldewesen Plus für die Fachadministration",
        "Kommunales Rechenzentrum West, Schulungszentrum",
        TrainingFormat::Hybrid,
        960,
        690,
        &["Fachadministration"],
        "https://schulung.krz-west.example/meldewesen",
    ),
    (
        LAND,
        1,
        "Bauantrag Online für Bauaufsichten",
        "Ministerium für Digitalisierung NRW",
        TrainingFormat::Online,
        120,
        0,
        &["Sachbearbeitung Bauaufsicht"],
        "https://bauantrag.nrw.example/schulung",
    ),
    (
        KOELN,
        8,
        "Kita-Navigator im Elternservice",
        "Stadt Köln, Jugendamt",
        TrainingFormat::SelfPaced,
        90,
        0,
        &["Elternberatung", "Kita-Leitung"],
        "https://kita.koeln.example/lernmodul",
    ),
];

/// Ratings of the offers above: (rater, offer index, score, recommend, text).
const OFFER_RATINGS: &[(usize, usize, u8, bool, &str)] = &[
    (
        HELLENTHAL,
        1,
        4,
        true,
        "Praxisnah; die Übungsumgebung entsprach unserem Stand.",
    ),
    (DAHLEM, 1, 5, true, "Sehr gut für kleine Bürgerbüros."),
    (
        KOELN,
        0,
        3,
        false,
        "Zu allgemein für die Fachämter einer Großstadt.",
    ),
    (
        KREIS,
        2,
        5,
        true,
        "Kurz und genau auf die Bauaufsicht zugeschnitten.",
    ),
];

/// The demo's replacements and training: deployments that ended with their
/// successor, training offers and their ratings.
fn exchange(
    l: &Layout,
    repos: &mut Vec<(usize, Repo<SqliteStore>)>,
    now: UnixTime,
    repo_of: &RepoOf,
    ids: &[allmende_protocol::ids::DocId],
) -> anyhow::Result<()> {
    for &(org, old, new, since, until, why) in REPLACED {
        let d = Deployment {
            since: Some(since.parse::<Date>().map_err(demo_err)?),
            until: Some(until.parse::<Date>().map_err(demo_err)?),
            replaced_by: Some(ids[new]),
            end_reason: Some(format!("[Demo-Daten] {why}")),
            ..Deployment::new(ids[old], DeploymentStatus::Retired, OperatedBy::Itself)
        };
        let r = repo_of(repos, org)?;
        let key = record_id()?;
        repos[r].1.edit(
            &l.keys[org],
            DocHeader::singleton(DocKind::Deployments, l.orgs[org]),
            now,
            |ed| ed.put(&key, &d),
        )?;
    }
    let mut keys = Vec::new();
    for &(org, product, title, provider, format, minutes, euros, roles, link) in OFFERS {
        let offer = TrainingOffer {
            product: ids[product],
            title: title.into(),
            provider: provider.into(),
            format,
            duration_minutes: Some(minutes),
            cost_eur: Some(euros),
            link: Some(link.parse().map_err(demo_err)?),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            description: Some("[Demo-Daten] Ein erfundenes Schulungsangebot.".into()),
        };
        let r = repo_of(repos, org)?;
        let key = record_id()?;
        repos[r].1.edit(
            &l.keys[org],
            DocHeader::singleton(DocKind::Experience, l.orgs[org]),
            now,
            |ed| ed.put(&key, &offer),
        )?;
        keys.push((org, key));
    }
    for &(rater, offer, score, recommend, text) in OFFER_RATINGS {
        let (publisher, key) = &keys[offer];
        let rating = TrainingRating {
            org: l.orgs[*publisher],
            offer: key.clone(),
            score: Score::try_from(score).map_err(demo_err)?,
            recommend: Some(recommend),
            text: Some(format!("[Demo-Daten] {text}")),
        };
        let r = repo_of(repos, rater)?;
        let key = rating.key();
        repos[r].1.edit(
            &l.keys[rater],
            DocHeader::singleton(DocKind::Experience, l.orgs[rater]),
            now,
            |ed| ed.put(&key, &rating),
        )?;
    }
    Ok(())
}

/// `allmende demo` options.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Where the demo's nodes keep their data.
    pub dir: PathBuf,
    /// Where the web UI listens.
    pub http: SocketAddr,
}

fn loopback_net(bootstrap: Vec<libp2p::Multiaddr>) -> anyhow::Result<NetConfig> {
    Ok(NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse()?],
        bootstrap,
        mdns: false,
        reconcile_interval: Duration::from_secs(2),
        ..NetConfig::default()
    })
}

/// Prepares the demo directory: seeds it on first use, refuses directories it did not make.
fn prepare(dir: &Path, out: &mut dyn Write) -> anyhow::Result<OrgId> {
    let marker = dir.join(MARKER);
    let anchor_file = dir.join("trust-anchor");
    if marker.exists() {
        let anchor = std::fs::read_to_string(&anchor_file)
            .with_context(|| format!("reading {}", anchor_file.display()))?;
        writeln!(out, "Demo-Daten vorhanden in {}", dir.display())?;
        return anchor
            .trim()
            .parse()
            .map_err(|e| anyhow::anyhow!("{}: {e}", anchor_file.display()));
    }
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        bail!(
            "{} exists and was not made by `allmende demo` (or by an older version of it); \
             choose another directory with --data-dir or remove it",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir)?;
    let layout = seed(dir, allmende_store::now())?;
    std::fs::write(&anchor_file, format!("{:#}\n", layout.orgs[LAND]))?;
    std::fs::write(&marker, "made by allmende demo; safe to delete\n")?;
    writeln!(
        out,
        "Demo-Daten angelegt in {}: {} Organisationen, {} Produkte, {} Einsätze, {} Nachnutzungsberichte.",
        dir.display(),
        ORGS.len(),
        PRODUCTS.len(),
        USES.len() + vergleich::USES.len(),
        REPORTS.len()
    )?;
    Ok(layout.orgs[LAND])
}

/// Writes the demo network's manifest (`<dir>/network.json`), signed by the Land body's
/// key, and reads it back as a node joining would.
fn demo_manifest(
    dir: &Path,
    anchor: OrgId,
    bootstrap: &[libp2p::Multiaddr],
) -> anyhow::Result<allmende_protocol::manifest::SignedManifest> {
    let land = allmende_store::datadir::DataDir::new(dir.join(ORGS[LAND].slug)).identity()?;
    if land.org != anchor {
        bail!(
            "the demo's Land key does not match {}",
            dir.join("trust-anchor").display()
        );
    }
    let body = allmende_protocol::manifest::ManifestBody {
        name: "Allmende Demo".into(),
        version: 1,
        bootstrap: bootstrap.iter().map(ToString::to_string).collect(),
        anchors: vec![anchor],
        quarantine: crate::network::default_quarantine(),
    };
    let path = dir.join(crate::network::MANIFEST_FILE);
    std::fs::write(&path, body.sign(&land.keypair)?.to_json_pretty())?;
    crate::network::read_verified(&path)
}

/// Runs the demo network until Ctrl-C or SIGTERM.
pub fn run(opts: &DemoOptions, out: &mut dyn Write) -> anyhow::Result<()> {
    let anchor = prepare(&opts.dir, out)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let bootstrap = Node::spawn(NodeConfig {
            data_dir: opts.dir.join("bootstrap"),
            identity_file: None,
            net: loopback_net(vec![])?,
            http: None,
            trust_anchors: vec![],
            quarantine: Default::default(),
            demo: true,
        })
        .await?;
        let boot_addrs: Vec<libp2p::Multiaddr> = crate::node::dial_addresses(&bootstrap)
            .await
            .iter()
            .filter_map(|a| a.parse().ok())
            .collect();
        if boot_addrs.is_empty() {
            bail!("the demo's bootstrap node did not start listening on 127.0.0.1");
        }
        // The demo network is joined as any other: with a manifest its anchor (the Land)
        // signs, naming the bootstrap node (its port is new at every start).
        let manifest = demo_manifest(&opts.dir, anchor, &boot_addrs)?;
        let bootstrap_addrs = manifest
            .body
            .bootstrap
            .iter()
            .map(|a| a.parse())
            .collect::<Result<Vec<libp2p::Multiaddr>, _>>()?;
        let mut nodes = vec![bootstrap];
        let mut served = None;
        for (i, o) in ORGS.iter().enumerate().filter(|(_, o)| o.hosted_by.is_none()) {
            let node = Node::spawn(NodeConfig {
                data_dir: opts.dir.join(o.slug),
                identity_file: None,
                net: loopback_net(bootstrap_addrs.clone())?,
                http: (i == SERVED).then_some(opts.http),
                trust_anchors: manifest.body.anchors.clone(),
                quarantine: crate::network::quarantine_of(&manifest.body.quarantine),
                demo: true,
            })
            .await
            .map_err(|e| match e {
                crate::node::NodeError::Http { addr, source } => anyhow::anyhow!(
                    "cannot serve the web UI on {addr}: {source}; choose another address with --http 127.0.0.1:PORT"
                ),
                other => other.into(),
            })?;
            if i == SERVED {
                served = node.http_addr;
            }
            nodes.push(node);
        }
        let url = served.context("the served demo node has no HTTP address")?;
        writeln!(
            out,
            "Demo-Netz läuft: {} Knoten auf 127.0.0.1 (ein Bootstrap-Knoten, {} Organisationen).",
            nodes.len(),
            ORGS.len()
        )?;
        writeln!(
            out,
            "Oberfläche von {}: http://{url}/",
            ORGS[SERVED].name
        )?;
        crate::demo_inventory::offer(&opts.dir, &opts.dir.join(ORGS[SERVED].slug), &url.to_string(), out)?;
        writeln!(out, "Beenden mit Strg+C.")?;
        out.flush()?;
        crate::node::shutdown_signal().await;
        writeln!(out, "Demo wird beendet …")?;
        out.flush()?;
        for node in nodes.into_iter().rev() {
            node.shutdown().await;
        }
        writeln!(out, "Beendet.")?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_data_is_valid_and_marked() {
        let orgs: Vec<OrgId> = (0..ORGS.len())
            .map(|i| {
                OrgId::from_root_key(
                    Keypair::from_secret_bytes(&[i as u8 + 1; 32])
                        .unwrap()
                        .public(),
                )
            })
            .collect();
        for o in ORGS {
            assert!(o.name.starts_with("Demo: "));
            allmende_protocol::schema::Validate::validate(&profile(o, &orgs).unwrap()).unwrap();
        }
        for p in PRODUCTS {
            let record = product(p).unwrap();
            allmende_protocol::schema::Validate::validate(&record).unwrap();
            assert!(record.description.unwrap().starts_with("[Demo-Daten] "));
        }
        for u in USES.iter().chain(&extra_uses().unwrap()) {
            assert!(u.product < PRODUCTS.len() && u.org < ORGS.len());
            assert!(u.since.parse::<Date>().is_ok(), "{}", u.since);
        }
        // A small municipality hosted by an IT-Dienstleister, a Kreis and a large city exist.
        assert!(
            ORGS.iter()
                .any(|o| o.hosted_by.is_some() && o.population < Some(10_000))
        );
        assert!(ORGS.iter().any(|o| o.kind == OrgKind::Kreis));
        assert!(ORGS.iter().any(|o| o.population > Some(1_000_000)));
        // Real AGS keys with the official population of the Gemeindeverzeichnis, so that
        // coverage and figures per inhabitant in the demo mean something.
        let gv = allmende_protocol::gv100ad::shipped();
        for o in ORGS {
            let Some(ags) = o.ags else { continue };
            let area = gv
                .area(ags)
                .unwrap_or_else(|| panic!("{}: AGS {ags} does not exist", o.slug));
            assert_eq!(
                o.population.map(u64::from),
                Some(gv.population(area)),
                "{} ({}) claims another population than the official one",
                o.slug,
                area.name()
            );
            assert!(o.name.starts_with("Demo: "), "{}", o.name);
        }
    }

    #[test]
    fn seeding_writes_each_organisation_into_its_own_node() {
        let tmp = tempfile::tempdir().unwrap();
        let mut out = Vec::new();
        let anchor = prepare(tmp.path(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("Demo-Daten angelegt"), "{text}");
        // Köln's node holds Köln's own documents only (and the products it created).
        let koeln = DataDir::new(tmp.path().join("koeln")).open_repo().unwrap();
        let catalog = koeln.catalog().unwrap();
        assert_eq!(catalog.organisations.len(), 1);
        assert_eq!(
            catalog.products.len(),
            PRODUCTS.iter().filter(|p| p.creator == KOELN).count()
        );
        // The IT-Dienstleister's node hosts its members.
        let krz = DataDir::new(tmp.path().join("krz-west"));
        assert_eq!(
            krz.members().unwrap().len(),
            ORGS.iter().filter(|o| o.hosted_by == Some(KRZ)).count()
        );
        // A second run reuses the directory; a foreign directory is refused.
        let mut out = Vec::new();
        assert_eq!(prepare(tmp.path(), &mut out).unwrap(), anchor);
        let foreign = tmp.path().join("koeln");
        let e = prepare(&foreign, &mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("not made by `allmende demo`"), "{e}");
    }
}
