//! A synthetic Germany-scale network for the benchmark (`allmende-bench`).
//!
//! Deterministic: the same [`Params`] (size and seed) give byte-identical signed changes,
//! because keys, record ids and Automerge actors come from one seeded generator and every
//! change carries the same fixed time. What it writes is real data, written the normal way:
//! each organisation's documents are built with the protocol's [`Document::edit`] (one
//! signed change per record, as a user publishing record by record would produce), and each
//! document's changes go into the store through [`Repo::ingest`], which verifies, authorises,
//! applies and indexes them exactly as it does for changes from a peer.
//!
//! The shape follows Germany (facts, not copied data): the number of Gemeinden and Kreise per
//! Land (Destatis Gemeindeverzeichnis, state of 2024), 8-digit AGS keys `LLRKKGGG`, a heavy-tailed
//! population distribution, about 50 IT-Dienstleister, ~3,000 products, and per organisation
//! 150 deployments, 30 ratings and 5 Nachnutzung reports. Each Land body is a trust anchor and
//! attests the organisations of its Land. Names are invented.

use std::collections::BTreeMap;
use std::sync::mpsc;

use allmende_node::repo::Repo;
use allmende_node::store::Store;
use allmende_protocol::change::{ReplicaId, SignedChange};
use allmende_protocol::doc::{DocHeader, DocKind, Document};
use allmende_protocol::identity::Keypair;
use allmende_protocol::ids::{DocId, OrgId, RecordId};
use allmende_protocol::schema::{
    Ags, Attestation, Date, Deployment, DeploymentStatus, Efa, HostingModel, Integration,
    IntegrationStatus, Land, Licence, Obstacle, OperatedBy, OrgKind, OrgProfile, Product,
    ProductKind, Rating, RatingDimension, ReuseOutcome, ReuseReport, Score, Task, UnixTime,
};
use anyhow::{Context, anyhow};

/// The time every synthetic change carries (2026-01-01T00:00:00Z).
pub const TIME: UnixTime = UnixTime(1_767_225_600);

/// Gemeinden and Kreise (Landkreise and kreisfreie Städte) per Land, by Land code 01–16, and
/// the Regierungsbezirk digits in use. Source: Destatis, Gemeindeverzeichnis (GV-ISys), 2024.
const LAENDER: [(u8, u32, u32, &[u8]); 16] = [
    (1, 1104, 15, &[0]),
    (2, 1, 1, &[0]),
    (3, 941, 45, &[1, 2, 3, 4]),
    (4, 2, 2, &[0]),
    (5, 396, 53, &[1, 3, 5, 7, 9]),
    (6, 421, 26, &[4, 5, 6]),
    (7, 2301, 36, &[1, 2, 3]),
    (8, 1101, 44, &[1, 2, 3, 4]),
    (9, 2056, 96, &[1, 2, 3, 4, 5, 6, 7]),
    (10, 52, 6, &[0]),
    (11, 1, 1, &[0]),
    (12, 413, 18, &[0]),
    (13, 726, 8, &[0]),
    (14, 418, 13, &[5]),
    (15, 218, 14, &[0]),
    (16, 605, 22, &[0]),
];

/// How big a network to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Fraction of Germany's Gemeinden and Kreise, in thousandths (1000 = full).
    pub per_mille: u32,
    /// IT-Dienstleister.
    pub providers: u32,
    /// Products.
    pub products: u32,
    /// Deployments per organisation.
    pub deployments: u32,
    /// Ratings per organisation.
    pub ratings: u32,
    /// Nachnutzung reports per organisation.
    pub reports: u32,
    /// Seed of every random choice.
    pub seed: u64,
}

impl Params {
    /// Germany: ~10,800 Gemeinden, ~400 Kreise, 16 Land bodies, 50 IT-Dienstleister, 3,000
    /// products; about 2.1M signed changes.
    pub fn full(seed: u64) -> Self {
        Self {
            per_mille: 1000,
            providers: 50,
            products: 3000,
            deployments: 150,
            ratings: 30,
            reports: 5,
            seed,
        }
    }

    /// One twentieth of Germany (~560 organisations, ~105,000 changes).
    pub fn medium(seed: u64) -> Self {
        Self {
            per_mille: 50,
            providers: 10,
            products: 600,
            ..Self::full(seed)
        }
    }

    /// A few dozen organisations (~5,000 changes): seconds, for CI.
    pub fn small(seed: u64) -> Self {
        Self {
            per_mille: 2,
            providers: 3,
            products: 200,
            deployments: 50,
            ratings: 10,
            reports: 2,
            ..Self::full(seed)
        }
    }
}

/// A small deterministic generator (SplitMix64): fast, seedable, and good enough for
/// choosing test data. Not for keys in production.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A generator for a sub-stream (organisation `n`, …), independent of the order in which
    /// sub-streams are used.
    pub fn fork(&self, stream: u64) -> Self {
        let mut r = Self(self.0 ^ stream.wrapping_mul(0xA076_1D64_78BD_642F));
        r.next_u64();
        r
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n.max(1))) >> 64) as u64
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// `N` random bytes.
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        out
    }

    /// A standard normal value (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(f64::MIN_POSITIVE);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// One synthetic organisation.
#[derive(Debug)]
pub struct Org {
    /// Its profile.
    pub profile: OrgProfile,
    /// Its root key.
    pub key: Keypair,
    /// Its id.
    pub id: OrgId,
}

/// One synthetic product.
#[derive(Debug, Clone)]
pub struct Prod {
    /// The product document's header.
    pub header: DocHeader,
    /// The record.
    pub record: Product,
    /// Index of the creating organisation.
    pub creator: usize,
}

/// The organisations and products of a network, before any document is written.
#[derive(Debug)]
pub struct Network {
    /// Organisations: Land bodies first (indices 0..16 at full size), then IT-Dienstleister,
    /// Kreise and Gemeinden.
    pub orgs: Vec<Org>,
    /// Indices of the Land bodies (trust anchors), by Land code.
    pub anchors: BTreeMap<u8, usize>,
    /// Products.
    pub products: Vec<Prod>,
    /// Product popularity: cumulative weights for drawing products (Zipf-like).
    cumulative: Vec<f64>,
    params: Params,
}

const STEMS: &[&str] = &[
    "Lin", "Rot", "Eich", "Wies", "Stein", "Mühl", "Hoch", "Tann", "Ros", "Bir", "Lau", "Hagen",
    "Sommer", "Kirch", "Bronn", "Wester", "Oster", "Ahl", "Buch", "Erl", "Fisch", "Gold", "Hasel",
    "Kalt", "Lind", "Moos", "Nord", "Sand", "Schön", "Weiß", "Wolf", "Zell",
];
const ENDINGS: &[&str] = &[
    "bach", "feld", "hausen", "dorf", "heim", "stadt", "berg", "burg", "au", "ingen", "rode",
    "hofen", "brück", "furt", "beck", "stedt", "wald", "kirchen",
];
const PREFIXES: &[&str] = &[
    "", "", "", "", "Ober", "Unter", "Alt", "Neu", "Groß", "Klein",
];
const DOMAINS: &[(&str, &str)] = &[
    ("Hundesteuer", "Steuern und Abgaben für Hunde"),
    ("Gewerbeanmeldung", "Gewerbe an-, um- und abmelden"),
    ("Bauantrag", "Bauanträge digital stellen und prüfen"),
    (
        "Kita-Platz",
        "Betreuungsplätze in Kindertagesstätten vergeben",
    ),
    ("Meldewesen", "Einwohnermeldeamt, Meldebescheinigungen"),
    (
        "Personenstand",
        "Geburten, Eheschließungen und Sterbefälle beurkunden",
    ),
    ("Wohngeld", "Wohngeldanträge bearbeiten"),
    ("Elterngeld", "Elterngeld beantragen und bescheiden"),
    ("Kfz-Zulassung", "Fahrzeuge zulassen, um- und abmelden"),
    ("Führerschein", "Fahrerlaubnisse erteilen und umschreiben"),
    ("Friedhof", "Grabstellen und Bestattungen verwalten"),
    ("Sitzungsdienst", "Ratssitzungen, Vorlagen und Beschlüsse"),
    (
        "E-Akte",
        "Elektronische Aktenführung und Vorgangsbearbeitung",
    ),
    ("Finanzwesen", "Haushalt, Buchhaltung und Kasse (Doppik)"),
    ("Ausländerwesen", "Aufenthaltstitel und Ausländerbehörde"),
    ("Sozialhilfe", "Leistungen nach SGB XII bearbeiten"),
    ("Schulverwaltung", "Schülerdaten und Schulorganisation"),
    ("Geoportal", "Karten, Bebauungspläne und Geodaten"),
    ("Bürgerservice", "Terminvergabe und Bürgerbüro"),
    ("Personalwesen", "Personalverwaltung und Besoldung"),
    ("Ordnungswidrigkeiten", "Bußgeldverfahren und Verwarnungen"),
    ("Gewässerschutz", "Wasserrechtliche Erlaubnisse"),
    ("Abfallwirtschaft", "Müllabfuhr, Gebühren und Sperrmüll"),
    ("Vergabe", "Öffentliche Ausschreibungen und Vergabe"),
    ("Jugendhilfe", "Hilfen zur Erziehung und Jugendamt"),
];
const SUFFIXES: &[&str] = &[
    "Online", "Pro", "Portal", "Manager", "Kommunal", "Suite", "Digital", "Plus", "Direkt", "21",
    "Cloud", "Basis",
];
const VENDOR_PARTS: &[&str] = &[
    "Data",
    "Kommunal",
    "Soft",
    "Verwaltungs",
    "Info",
    "Civic",
    "Gov",
    "Bürger",
    "Regio",
    "Netz",
];
const LICENCES: &[&str] = &[
    "LicenseRef-proprietary",
    "LicenseRef-proprietary",
    "LicenseRef-proprietary",
    "EUPL-1.2",
    "EUPL-1.2",
    "AGPL-3.0-or-later",
    "MIT",
    "Apache-2.0",
    "GPL-3.0-or-later",
];
const CATEGORIES: &[&str] = &[
    "Fachverfahren",
    "Onlinedienst",
    "Dokumentenmanagement",
    "Finanzen",
    "Personal",
    "Geodaten",
    "Bürgerservice",
    "Ratsinformation",
    "Ordnung",
    "Soziales",
];

impl Network {
    /// Draws the organisations and products (no documents yet).
    pub fn new(params: Params) -> anyhow::Result<Self> {
        let root = Rng::new(params.seed);
        let mut rng = root.fork(1);
        let mut orgs = Vec::new();
        let mut anchors = BTreeMap::new();
        let scale = |n: u32| -> u32 {
            ((u64::from(n) * u64::from(params.per_mille)).div_ceil(1000)).max(1) as u32
        };
        let land_names = [
            "Schleswig-Holstein",
            "Hamburg",
            "Niedersachsen",
            "Bremen",
            "Nordrhein-Westfalen",
            "Hessen",
            "Rheinland-Pfalz",
            "Baden-Württemberg",
            "Bayern",
            "Saarland",
            "Berlin",
            "Brandenburg",
            "Mecklenburg-Vorpommern",
            "Sachsen",
            "Sachsen-Anhalt",
            "Thüringen",
        ];
        for (code, _, _, _) in LAENDER {
            let name = land_names[usize::from(code - 1)];
            let org = make_org(
                &mut rng,
                format!("Ministerium für Digitales, Land {name}"),
                OrgKind::Land,
                None,
                Some(land(code)?),
                None,
            )?;
            anchors.insert(code, orgs.len());
            orgs.push(org);
        }
        for n in 0..params.providers {
            let code = LAENDER[n as usize % 16].0;
            let name = format!(
                "{} IT-Dienstleister {}{}",
                rng.pick(&["Kommunaler", "Regionaler", "Zweckverband"]),
                rng.pick(STEMS),
                rng.pick(ENDINGS)
            );
            orgs.push(make_org(
                &mut rng,
                name,
                OrgKind::ItDienstleister,
                None,
                Some(land(code)?),
                None,
            )?);
        }
        for (code, gemeinden, kreise, bezirke) in LAENDER {
            let gemeinden = scale(gemeinden);
            let kreise = scale(kreise).min(gemeinden);
            for k in 0..kreise {
                let bezirk = bezirke[k as usize % bezirke.len()];
                let kk = k / bezirke.len() as u32 + 1;
                // Gemeinden of this Kreis: an even share, the remainder to the first ones.
                let share = gemeinden / kreise + u32::from(k < gemeinden % kreise);
                let prefix = format!("{code:02}{bezirk}{kk:02}");
                let city_state = gemeinden == 1;
                if share > 1 && !city_state {
                    let name = format!("Kreis {}{}", rng.pick(STEMS), rng.pick(ENDINGS));
                    let pop = (rng.normal() * 0.5 + 12.0)
                        .exp()
                        .clamp(40_000.0, 1_200_000.0);
                    orgs.push(make_org(
                        &mut rng,
                        name,
                        OrgKind::Kreis,
                        Some(format!("{prefix}000")),
                        Some(land(code)?),
                        Some(pop as u32),
                    )?);
                }
                for g in 0..share {
                    let gemeinde = if share == 1 { 0 } else { g + 1 };
                    let pop = if city_state {
                        [0, 1_900_000, 0, 680_000, 0, 0, 0, 0, 0, 0, 3_700_000]
                            [usize::from(code).min(10)]
                        .max(560_000) as f64
                    } else {
                        (rng.normal() * 1.3 + 7.6).exp().clamp(30.0, 1_100_000.0)
                    };
                    let kind = if share == 1 { "Stadt" } else { "Gemeinde" };
                    let name = format!(
                        "{kind} {}{}{}",
                        rng.pick(PREFIXES),
                        rng.pick(STEMS),
                        rng.pick(ENDINGS)
                    );
                    orgs.push(make_org(
                        &mut rng,
                        name,
                        OrgKind::Kommune,
                        Some(format!("{prefix}{gemeinde:03}")),
                        Some(land(code)?),
                        Some(pop as u32),
                    )?);
                }
            }
        }
        let mut prng = root.fork(2);
        let vendors: Vec<String> = (0..(params.products / 20).max(3))
            .map(|_| {
                format!(
                    "{}{} {}",
                    prng.pick(VENDOR_PARTS),
                    prng.pick(&["tec", "systems", "werk", "logic", "plan", "com"]),
                    prng.pick(&["GmbH", "AG", "GmbH & Co. KG", "eG", "AöR"])
                )
            })
            .collect();
        let tasks: Vec<Task> = (0..500)
            .map(|_| format!("99{:012}", prng.below(1_000_000_000_000)).parse::<Task>())
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow!("{e}"))?;
        let standards: Vec<&str> = allmende_protocol::reference::STANDARDS
            .iter()
            .map(|s| s.name)
            .collect();
        let mut products = Vec::new();
        for n in 0..params.products {
            let (domain, what) = *prng.pick(DOMAINS);
            let kind = *prng.pick(&[
                ProductKind::Fachverfahren,
                ProductKind::Fachverfahren,
                ProductKind::Onlinedienst,
                ProductKind::Software,
                ProductKind::Basiskomponente,
            ]);
            let mut p = Product::new(
                format!("{domain} {} {n}", prng.pick(SUFFIXES)),
                prng.pick(&vendors).clone(),
                kind,
            );
            p.description = Some(format!(
                "{what}. {} für {} mit Schnittstellen zu {}.",
                kind.slug(),
                prng.pick(&["Kommunen", "Kreise", "Landesbehörden", "Zweckverbände"]),
                prng.pick(&standards)
            ));
            p.categories = vec![(*prng.pick(CATEGORIES)).to_owned()];
            p.tasks = (0..1 + prng.below(3))
                .map(|_| prng.pick(&tasks).clone())
                .collect();
            p.tasks.sort();
            p.tasks.dedup();
            p.licence = Some(
                prng.pick(LICENCES)
                    .parse::<Licence>()
                    .map_err(|e| anyhow!("{e}"))?,
            );
            p.standards = (0..prng.below(4))
                .map(|_| (*prng.pick(&standards)).to_owned())
                .collect();
            p.standards.sort();
            p.standards.dedup();
            p.hosting = vec![*prng.pick(HostingModel::ALL)];
            if prng.chance(0.05) {
                p.efa = Some(Efa {
                    providing_land: land(prng.below(16) as u8 + 1)?,
                    reuse_route: Some("Kooperationsvertrag über FITKO".into()),
                    available_from: None,
                });
            }
            let creator = prng.below(orgs.len() as u64) as usize;
            let header = DocHeader::product(orgs[creator].id, prng.bytes::<16>());
            products.push(Prod {
                header,
                record: p,
                creator,
            });
        }
        // Zipf-like popularity, shuffled so that popularity is independent of creation order.
        let mut weights: Vec<f64> = (0..products.len())
            .map(|r| 1.0 / (r as f64 + 5.0))
            .collect();
        for i in (1..weights.len()).rev() {
            let j = prng.below(i as u64 + 1) as usize;
            weights.swap(i, j);
        }
        let mut total = 0.0;
        let cumulative = weights
            .iter()
            .map(|w| {
                total += w;
                total
            })
            .collect();
        Ok(Self {
            orgs,
            anchors,
            products,
            cumulative,
            params,
        })
    }

    /// The parameters it was drawn from.
    pub fn params(&self) -> Params {
        self.params
    }

    fn draw_product(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let x = rng.unit() * total;
        self.cumulative
            .partition_point(|c| *c <= x)
            .min(self.products.len().saturating_sub(1))
    }

    /// The documents of organisation `i`, each with its signed changes: profile, deployments,
    /// ratings and reports (experience), and for a Land body its attestations (trust).
    pub fn org_documents(&self, i: usize) -> anyhow::Result<Vec<(DocHeader, Vec<SignedChange>)>> {
        let org = &self.orgs[i];
        let mut rng = Rng::new(self.params.seed).fork(1_000_000 + i as u64);
        let replica = ReplicaId(rng.bytes::<16>());
        let mut out = Vec::new();
        let mut doc = Document::new(DocHeader::singleton(DocKind::Profile, org.id));
        let mut changes = Vec::new();
        changes.extend(doc.edit(&org.key, replica, TIME, |ed| ed.put_root(&org.profile))?);
        out.push((*doc.header(), changes));

        let n = self.products.len();
        let want = (self.params.deployments as usize).min(n);
        let mut used = Vec::with_capacity(want);
        let mut seen = std::collections::HashSet::new();
        let mut tries = 0;
        while used.len() < want && tries < want * 50 {
            tries += 1;
            let p = self.draw_product(&mut rng);
            if seen.insert(p) {
                used.push(p);
            }
        }
        let providers: Vec<usize> = (0..self.orgs.len())
            .filter(|&j| self.orgs[j].profile.kind == OrgKind::ItDienstleister)
            .collect();
        let mut doc = Document::new(DocHeader::singleton(DocKind::Deployments, org.id));
        let mut changes = Vec::with_capacity(used.len());
        for &p in &used {
            let product = self.products[p].header.id();
            let integrations = (0..rng.below(3))
                .filter_map(|_| {
                    let other = used[rng.below(used.len() as u64) as usize];
                    (other != p).then(|| Integration {
                        product: self.products[other].header.id(),
                        standard: (*rng.pick(&["XÖV", "XBau", "XMeld", "FIT-Connect", "OSCI"]))
                            .to_owned(),
                        status: *rng.pick(&[
                            IntegrationStatus::Works,
                            IntegrationStatus::Works,
                            IntegrationStatus::Partly,
                            IntegrationStatus::Fails,
                        ]),
                    })
                })
                .collect();
            let d = Deployment {
                product,
                version: Some(format!("{}.{}", 1 + rng.below(9), rng.below(20))),
                tasks: self.products[p].record.tasks.clone(),
                since: Some(date(&mut rng)?),
                status: *rng.pick(&[
                    DeploymentStatus::Production,
                    DeploymentStatus::Production,
                    DeploymentStatus::Production,
                    DeploymentStatus::Pilot,
                    DeploymentStatus::Planned,
                    DeploymentStatus::Retired,
                ]),
                operated_by: match (rng.below(3), providers.is_empty()) {
                    (0, false) => OperatedBy::ItDienstleister {
                        org: self.orgs[*rng.pick(&providers)].id,
                    },
                    (1, _) => OperatedBy::Saas,
                    _ => OperatedBy::Itself,
                },
                integrations,
                end_to_end: Some(rng.chance(0.4)),
                cost_once_eur: rng.chance(0.3).then(|| 500 * (1 + rng.below(200))),
                cost_yearly_eur: rng.chance(0.6).then(|| 100 * (1 + rng.below(500))),
                contact_role: None,
                exchange_ok: None,
                until: None,
                replaced_by: None,
                end_reason: None,
            };
            let key = format!("{:#}", RecordId::from_bytes(rng.bytes::<16>()));
            changes.extend(doc.edit(&org.key, replica, TIME, |ed| ed.put(&key, &d))?);
        }
        out.push((*doc.header(), changes));

        let mut doc = Document::new(DocHeader::singleton(DocKind::Experience, org.id));
        let mut changes = Vec::new();
        for &p in used.iter().take(self.params.ratings as usize) {
            let product = self.products[p].header.id();
            let mut scores = BTreeMap::new();
            for dim in RatingDimension::ALL {
                if rng.chance(0.7) {
                    let s = Score::try_from(1 + rng.below(5) as u8).map_err(|e| anyhow!("{e}"))?;
                    scores.insert(*dim, s);
                }
            }
            let r = Rating {
                product,
                scores,
                recommend: Some(rng.chance(0.6)),
                text: rng.chance(0.3).then(|| {
                    "Läuft stabil, Schnittstelle zum Fachverfahren mit Nacharbeit.".into()
                }),
                since: Some(date(&mut rng)?),
            };
            let key = format!("{product:#}");
            changes.extend(doc.edit(&org.key, replica, TIME, |ed| ed.put(&key, &r))?);
        }
        for _ in 0..self.params.reports {
            let p = used
                .get(rng.below(used.len().max(1) as u64) as usize)
                .copied()
                .unwrap_or(0);
            let r = ReuseReport {
                product: self.products[p].header.id(),
                provider: Some(self.orgs[rng.below(self.orgs.len() as u64) as usize].id),
                efa: rng.chance(0.3),
                effort_person_days: Some(1 + rng.below(200) as u32),
                cost_once_eur: rng.chance(0.5).then(|| 1000 * (1 + rng.below(100))),
                cost_yearly_eur: None,
                weeks_to_production: Some(1 + rng.below(80) as u32),
                obstacles: (0..rng.below(3))
                    .map(|_| *rng.pick(Obstacle::ALL))
                    .collect(),
                outcome: *rng.pick(ReuseOutcome::ALL),
                recommend: Some(rng.chance(0.6)),
                text: None,
            };
            let key = format!("{:#}", RecordId::from_bytes(rng.bytes::<16>()));
            changes.extend(doc.edit(&org.key, replica, TIME, |ed| ed.put(&key, &r))?);
        }
        out.push((*doc.header(), changes));

        if let Some((&code, _)) = self.anchors.iter().find(|(_, j)| **j == i) {
            let mut doc = Document::new(DocHeader::singleton(DocKind::Trust, org.id));
            let mut changes = Vec::new();
            let home = Some(land(code)?);
            for other in self
                .orgs
                .iter()
                .filter(|o| o.profile.land == home && o.id != org.id)
            {
                let a = Attestation {
                    org: other.id,
                    name: other.profile.name.clone(),
                    kind: other.profile.kind,
                    ags: other.profile.ags.clone(),
                    attested_at: TIME,
                };
                let key = format!("{:#}", other.id);
                changes.extend(doc.edit(&org.key, replica, TIME, |ed| ed.put(&key, &a))?);
            }
            out.push((*doc.header(), changes));
        }
        Ok(out)
    }

    /// The product documents (one signed change each, by their creators).
    pub fn product_documents(
        &self,
        range: std::ops::Range<usize>,
    ) -> anyhow::Result<Vec<(DocHeader, Vec<SignedChange>)>> {
        range
            .map(|n| {
                let p = &self.products[n];
                let creator = &self.orgs[p.creator];
                let replica = ReplicaId(
                    Rng::new(self.params.seed)
                        .fork(5_000_000 + n as u64)
                        .bytes(),
                );
                let mut doc = Document::new(p.header);
                let changes = doc
                    .edit(&creator.key, replica, TIME, |ed| ed.put_root(&p.record))?
                    .into_iter()
                    .collect();
                Ok((p.header, changes))
            })
            .collect()
    }

    /// Every document id the network has.
    pub fn document_count(&self) -> usize {
        self.orgs.len() * 3 + self.anchors.len() + self.products.len()
    }
}

fn land(code: u8) -> anyhow::Result<Land> {
    format!("{code:02}").parse().map_err(|e| anyhow!("{e}"))
}

fn date(rng: &mut Rng) -> anyhow::Result<Date> {
    format!(
        "{}-{:02}-{:02}",
        2010 + rng.below(16),
        1 + rng.below(12),
        1 + rng.below(28)
    )
    .parse()
    .map_err(|e| anyhow!("{e}"))
}

fn make_org(
    rng: &mut Rng,
    name: String,
    kind: OrgKind,
    ags: Option<String>,
    land: Option<Land>,
    population: Option<u32>,
) -> anyhow::Result<Org> {
    let key = Keypair::from_secret_bytes(&rng.bytes::<32>()).map_err(|e| anyhow!("{e}"))?;
    let id = OrgId::from_root_key(key.public());
    let ags = ags
        .map(|a| a.parse::<Ags>())
        .transpose()
        .map_err(|e| anyhow!("{e}"))?;
    Ok(Org {
        profile: OrgProfile {
            name,
            kind,
            ags,
            land,
            population: population.map(|p| p.max(1)),
            website: None,
            contact_role: Some("Digitalisierung".into()),
            it_dienstleister: None,
        },
        key,
        id,
    })
}

/// What [`write()`] stored.
#[derive(Debug, Clone, Copy, Default)]
pub struct Written {
    /// Documents.
    pub documents: usize,
    /// Signed changes (records).
    pub changes: usize,
    /// Bytes of the signed changes as they travel (`AMC` encoding).
    pub signed_bytes: u64,
}

/// Builds every document of `net` (on `threads` worker threads) and ingests it into `repo`,
/// reporting progress through `progress(documents_done, documents_total)`.
pub fn write<S: Store>(
    net: &Network,
    repo: &mut Repo<S>,
    threads: usize,
    mut progress: impl FnMut(usize, usize),
) -> anyhow::Result<Written> {
    type Docs = Vec<(DocHeader, Vec<SignedChange>)>;
    let total = net.document_count();
    let mut written = Written::default();
    let products = net.products.len();
    // Work items: product chunks first (deployments refer to products), then organisations.
    let chunk = 100;
    let items: Vec<Item> = (0..products.div_ceil(chunk))
        .map(|c| Item::Products(c * chunk..((c + 1) * chunk).min(products)))
        .chain((0..net.orgs.len()).map(Item::Org))
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let (tx, rx) = mpsc::sync_channel::<(usize, anyhow::Result<Docs>)>(threads * 4);
        for _ in 0..threads.max(1) {
            let tx = tx.clone();
            let (items, next) = (&items, &next);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let docs = match item {
                        Item::Products(r) => net.product_documents(r.clone()),
                        Item::Org(o) => net.org_documents(*o),
                    };
                    if tx.send((i, docs)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        // Ingest in item order, so that the store is the same whatever the thread timing.
        let mut waiting = BTreeMap::new();
        let mut want = 0;
        for (i, docs) in rx {
            waiting.insert(i, docs?);
            while let Some(docs) = waiting.remove(&want) {
                want += 1;
                for (header, changes) in docs {
                    written.documents += 1;
                    written.changes += changes.len();
                    written.signed_bytes +=
                        changes.iter().map(|c| c.encode().len() as u64).sum::<u64>();
                    repo.ingest(header, changes, TIME)
                        .with_context(|| format!("ingesting {}", header.id()))?;
                    if written.documents % 500 == 0 {
                        progress(written.documents, total);
                    }
                }
            }
        }
        Ok(())
    })?;
    progress(written.documents, total);
    Ok(written)
}

enum Item {
    Products(std::ops::Range<usize>),
    Org(usize),
}

/// The id of every document `net` has, for checks.
pub fn document_ids(net: &Network) -> Vec<DocId> {
    let mut ids: Vec<DocId> = net.products.iter().map(|p| p.header.id()).collect();
    for (i, o) in net.orgs.iter().enumerate() {
        for kind in [DocKind::Profile, DocKind::Deployments, DocKind::Experience] {
            ids.push(DocHeader::singleton(kind, o.id).id());
        }
        if net.anchors.values().any(|a| *a == i) {
            ids.push(DocHeader::singleton(DocKind::Trust, o.id).id());
        }
    }
    ids
}
