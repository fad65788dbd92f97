//! Aggregates: verified organisations only, vendor self-ratings excluded, attestations
//! withdrawn take effect, and each aggregate's numbers match a hand count.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use allmende_node::repo::Repo;
use allmende_node::stats::{self, Scope};
use allmende_node::store::SqliteStore;
use allmende_protocol::change::ReplicaId;
use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::identity::Keypair;
use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::schema::{
    Attestation, Deployment, DeploymentStatus, Integration, IntegrationStatus, OperatedBy, OrgKind,
    OrgProfile, Product, ProductKind, Rating, RatingDimension, Score, UnixTime,
};

const NOW: UnixTime = UnixTime(1_750_000_000);

fn kp(seed: u8) -> Keypair {
    Keypair::from_secret_bytes(&[seed; 32]).unwrap()
}

fn org(seed: u8) -> OrgId {
    OrgId::from_root_key(kp(seed).public())
}

struct World {
    _dir: tempfile::TempDir,
    repo: Repo<SqliteStore>,
    p: DocId,
    q: DocId,
}

const ANCHOR: u8 = 50;
const VENDOR: u8 = 40;

fn product(name: &str, vendor_org: Option<OrgId>, licence: &str, tasks: &[&str]) -> Product {
    Product {
        tasks: tasks.iter().map(|t| t.parse().unwrap()).collect(),
        licence: Some(licence.parse().unwrap()),
        vendor_org,
        ..Product::new(name, "V GmbH", ProductKind::Fachverfahren)
    }
}

fn attest(repo: &mut Repo<SqliteStore>, seed: u8) {
    let a = Attestation {
        org: org(seed),
        name: format!("Org {seed}"),
        kind: OrgKind::Kommune,
        ags: None,
        attested_at: NOW,
    };
    let header = DocHeader::singleton(DocKind::Trust, org(ANCHOR));
    repo.edit(&kp(ANCHOR), header, NOW, |ed| {
        ed.put(&format!("{:#}", org(seed)), &a)
    })
    .unwrap();
}

fn rate(repo: &mut Repo<SqliteStore>, seed: u8, product: DocId, usability: u8) {
    let r = Rating {
        product,
        scores: [(
            RatingDimension::Usability,
            Score::try_from(usability).unwrap(),
        )]
        .into_iter()
        .collect(),
        recommend: Some(usability >= 3),
        text: None,
        since: None,
    };
    let header = DocHeader::singleton(DocKind::Experience, org(seed));
    repo.edit(&kp(seed), header, NOW, |ed| {
        ed.put(&format!("{product:#}"), &r)
    })
    .unwrap();
}

fn deploy(
    repo: &mut Repo<SqliteStore>,
    seed: u8,
    key: &str,
    product: DocId,
    yearly: u64,
    with: Option<(DocId, IntegrationStatus)>,
) {
    let d = Deployment {
        product,
        version: None,
        tasks: vec![],
        since: None,
        status: DeploymentStatus::Production,
        operated_by: OperatedBy::Itself,
        integrations: with
            .map(|(other, status)| {
                vec![Integration {
                    product: other,
                    standard: "X Meld".into(),
                    status,
                }]
            })
            .unwrap_or_default(),
        end_to_end: None,
        cost_once_eur: None,
        cost_yearly_eur: Some(yearly),
        contact_role: None,
        exchange_ok: None,
        until: None,
        replaced_by: None,
        end_reason: None,
    };
    let header = DocHeader::singleton(DocKind::Deployments, org(seed));
    repo.edit(&kp(seed), header, NOW, |ed| ed.put(key, &d))
        .unwrap();
}

fn profile(repo: &mut Repo<SqliteStore>, seed: u8, ags: &str, population: u32) {
    let p = OrgProfile {
        name: format!("Org {seed}"),
        kind: OrgKind::Kommune,
        ags: Some(ags.parse().unwrap()),
        land: Some(ags[..2].parse().unwrap()),
        population: Some(population),
        website: None,
        contact_role: None,
        it_dienstleister: None,
    };
    repo.edit(
        &kp(seed),
        DocHeader::singleton(DocKind::Profile, org(seed)),
        NOW,
        |ed| ed.put_root(&p),
    )
    .unwrap();
}

/// Orgs 1 and 2 attested (NRW and Bayern), 3 not; the vendor (40) attested and rating its
/// own product.
fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let mut repo = Repo::open(
        SqliteStore::open(&dir.path().join("s.db")).unwrap(),
        ReplicaId([1; 16]),
    )
    .unwrap();
    let p_header = DocHeader::product(org(1), [1; 16]);
    let q_header = DocHeader::product(org(2), [2; 16]);
    let p = product(
        "Melde-Suite",
        Some(org(VENDOR)),
        "EUPL-1.2",
        &["Meldewesen"],
    );
    let q = product("Melde-Frei", None, "MIT", &["Meldewesen"]);
    repo.edit(&kp(1), p_header, NOW, |ed| ed.put_root(&p))
        .unwrap();
    repo.edit(&kp(2), q_header, NOW, |ed| ed.put_root(&q))
        .unwrap();
    let (p, q) = (p_header.id(), q_header.id());
    profile(&mut repo, 1, "05315000", 1_000_000);
    profile(&mut repo, 2, "09162000", 1_500_000);
    profile(&mut repo, 3, "05111000", 600_000);
    for seed in [1, 2, VENDOR] {
        attest(&mut repo, seed);
    }
    rate(&mut repo, 1, p, 4);
    rate(&mut repo, 2, p, 2);
    rate(&mut repo, 3, p, 1);
    rate(&mut repo, VENDOR, p, 5);
    deploy(
        &mut repo,
        1,
        "a",
        p,
        100_000,
        Some((q, IntegrationStatus::Works)),
    );
    deploy(
        &mut repo,
        2,
        "b",
        p,
        300_000,
        Some((q, IntegrationStatus::Fails)),
    );
    deploy(
        &mut repo,
        3,
        "c",
        p,
        999_999,
        Some((q, IntegrationStatus::Works)),
    );
    deploy(&mut repo, 2, "d", q, 50_000, None);
    World {
        _dir: dir,
        repo,
        p,
        q,
    }
}

fn scope(all: bool) -> Scope {
    Scope {
        anchors: vec![org(ANCHOR)],
        include_unverified: all,
    }
}

fn usability(w: &World, all: bool) -> (f64, u64) {
    let r = stats::ratings(w.repo.store().connection(), &scope(all)).unwrap();
    let p = r
        .iter()
        .find(|x| x.product == format!("{:#}", w.p))
        .unwrap();
    p.dimensions["usability"]
}

#[test]
fn unattested_ratings_are_kept_but_left_out_and_vendor_ratings_never_count() {
    let w = world();
    // Verified only: orgs 1 and 2 → (4 + 2) / 2; the vendor's 5 never counts.
    assert_eq!(usability(&w, false), (3.0, 2));
    // With unverified organisations: org 3's 1 joins; still no vendor.
    let (mean, n) = usability(&w, true);
    assert_eq!(n, 3);
    assert!((mean - 7.0 / 3.0).abs() < 1e-9, "{mean}");
    // The unattested rating is stored.
    assert_eq!(w.repo.catalog().unwrap().ratings.len(), 4);
}

#[test]
fn withdrawing_an_attestation_removes_the_organisation_from_aggregates() {
    let mut w = world();
    let header = DocHeader::singleton(DocKind::Trust, org(ANCHOR));
    w.repo
        .edit(&kp(ANCHOR), header, NOW, |ed| {
            ed.delete::<Attestation>(&format!("{:#}", org(2)))
        })
        .unwrap();
    assert_eq!(usability(&w, false), (4.0, 1));
    let usage = stats::usage(w.repo.store().connection(), &scope(false)).unwrap();
    let p = usage
        .iter()
        .find(|u| u.product == format!("{:#}", w.p))
        .unwrap();
    assert_eq!(p.organisations, 1);
}

#[test]
fn usage_interop_costs_coverage_and_duplicates_match_a_hand_count() {
    let w = world();
    let conn = w.repo.store().connection();
    let usage = stats::usage(conn, &scope(false)).unwrap();
    let p = usage
        .iter()
        .find(|u| u.product == format!("{:#}", w.p))
        .unwrap();
    assert_eq!(p.organisations, 2);
    assert_eq!(p.by_land.get("05"), Some(&1));
    assert_eq!(p.by_land.get("09"), Some(&1));
    assert_eq!(p.by_kreis.get("05315"), Some(&1));
    assert_eq!(p.by_kreis.get("09162"), Some(&1));

    let interop = stats::interop(conn, &scope(false), 1_000).unwrap();
    assert_eq!(interop.len(), 1);
    assert_eq!(
        (
            interop[0].standard.as_str(),
            interop[0].works,
            interop[0].fails
        ),
        ("XMeld", 1, 1)
    );
    let all = stats::interop(conn, &scope(true), 1_000).unwrap();
    assert_eq!(all[0].works, 2);

    let costs = stats::costs(conn, &scope(false)).unwrap();
    let c = costs
        .iter()
        .find(|c| c.product == format!("{:#}", w.p))
        .unwrap();
    // Costs per inhabitant use the official population of Köln and München (their profiles
    // claim 2,500,000 together), from the Gemeindeverzeichnis.
    let gv = allmende_protocol::gv100ad::shipped();
    let official =
        gv.gemeinde("05315000").unwrap().population + gv.gemeinde("09162000").unwrap().population;
    assert!((2_000_000..3_000_000).contains(&official), "{official}");
    assert_eq!(
        (c.deployments, c.yearly_eur, c.population),
        (2, 400_000, official)
    );
    assert!((c.per_inhabitant_eur.unwrap() - 400_000.0 / official as f64).abs() < 1e-9);

    // Coverage lists every Land of the directory with its denominators; tasks only where used.
    let coverage = stats::coverage(conn, &scope(false), "land").unwrap();
    assert_eq!(coverage.len(), 16);
    let with_tasks: Vec<&str> = coverage
        .iter()
        .filter(|c| !c.tasks_covered.is_empty())
        .map(|c| c.region.as_str())
        .collect();
    assert_eq!(with_tasks, vec!["05", "09"]);
    assert!(
        coverage
            .iter()
            .filter(|c| !c.tasks_covered.is_empty())
            .all(|c| c.tasks_covered == vec!["Meldewesen".to_owned()])
    );
    let nrw = coverage.iter().find(|c| c.region == "05").unwrap();
    assert_eq!(nrw.name, "Nordrhein-Westfalen");
    assert_eq!(nrw.gemeinden, 396);
    assert_eq!(nrw.gemeinden_published, 1, "Köln");
    assert_eq!(
        nrw.population_published,
        gv.gemeinde("05315000").unwrap().population
    );
    assert!(nrw.population > 17_000_000);
    let by_kreis = stats::coverage(conn, &scope(false), "kreis").unwrap();
    assert_eq!(by_kreis.len(), 400);
    let koeln = by_kreis.iter().find(|c| c.region == "05315").unwrap();
    assert_eq!((koeln.gemeinden, koeln.gemeinden_published), (1, 1));
    assert!(koeln.gemeinden_missing.is_empty());
    let dueren = by_kreis.iter().find(|c| c.region == "05358").unwrap();
    assert_eq!(dueren.gemeinden_published, 0);
    assert_eq!(dueren.gemeinden_missing.len() as u64, dueren.gemeinden);
    assert!(dueren.gemeinden_missing.contains(&"05358008".to_owned()));
    assert!(stats::coverage(conn, &scope(false), "planet").is_err());

    // Two open-source products for the same task: a duplicate development.
    let dups = stats::duplicates(conn).unwrap();
    assert_eq!(dups.len(), 1);
    assert_eq!(dups[0].task, "Meldewesen");
    let mut expected = vec![format!("{:#}", w.p), format!("{:#}", w.q)];
    expected.sort();
    assert_eq!(dups[0].products, expected);
}

/// An organisation running a product twice counts once: once among the product's
/// organisations, and with its population once in the cost per inhabitant, while both
/// deployments and their costs count.
#[test]
fn an_organisation_with_two_deployments_of_a_product_counts_once() {
    let mut w = world();
    let p = w.p;
    deploy(&mut w.repo, 1, "a2", p, 20_000, None);
    let conn = w.repo.store().connection();
    let usage = stats::usage(conn, &scope(false)).unwrap();
    let u = usage
        .iter()
        .find(|u| u.product == format!("{p:#}"))
        .unwrap();
    assert_eq!(u.organisations, 2);
    assert_eq!(u.by_land.get("05"), Some(&1));
    assert_eq!(u.by_kreis.get("05315"), Some(&1));

    let costs = stats::costs(conn, &scope(false)).unwrap();
    let c = costs
        .iter()
        .find(|c| c.product == format!("{p:#}"))
        .unwrap();
    // Each organisation's official population counts once (Köln and München).
    let gv = allmende_protocol::gv100ad::shipped();
    let official =
        gv.gemeinde("05315000").unwrap().population + gv.gemeinde("09162000").unwrap().population;
    assert_eq!(
        (c.deployments, c.yearly_eur, c.population),
        (3, 420_000, official)
    );
}

/// Organisations attested by any of several followed anchors count, and only those.
#[test]
fn every_followed_anchor_verifies() {
    const SECOND: u8 = 61;
    let mut w = world();
    // Org 3 is attested by a second anchor only.
    let a = Attestation {
        org: org(3),
        name: "Org 3".into(),
        kind: OrgKind::Kommune,
        ags: None,
        attested_at: NOW,
    };
    let header = DocHeader::singleton(DocKind::Trust, org(SECOND));
    w.repo
        .edit(&kp(SECOND), header, NOW, |ed| {
            ed.put(&format!("{:#}", org(3)), &a)
        })
        .unwrap();
    let conn = w.repo.store().connection();
    let verified =
        |anchors: Vec<OrgId>| allmende_node::query::verified_orgs(conn, &anchors).unwrap();
    let mut first = vec![org(1), org(2), org(VENDOR)];
    first.sort();
    assert_eq!(verified(vec![org(ANCHOR)]), first);
    let mut both = vec![org(1), org(2), org(3), org(VENDOR)];
    both.sort();
    assert_eq!(verified(vec![org(ANCHOR), org(SECOND)]), both);
    assert_eq!(verified(vec![org(SECOND)]), vec![org(3)]);
    assert!(verified(vec![]).is_empty());
}

/// Which OZG-Leistungen have a product in production where: through the product's LeiKa task
/// and through a deployment's own task; attested organisations only by default.
#[test]
fn ozg_leistungen_in_production_are_counted_by_land() {
    let mut w = world();
    // A product filed under LeiKa "Melderegisterauskunft", of OZG-Leistung 10559.
    let header = DocHeader::product(org(1), [9; 16]);
    let r = product("Auskunft-Portal", None, "MIT", &["99115004000000"]);
    w.repo
        .edit(&kp(1), header, NOW, |ed| ed.put_root(&r))
        .unwrap();
    deploy(&mut w.repo, 1, "e", header.id(), 10_000, None);
    deploy(&mut w.repo, 3, "f", header.id(), 10_000, None);
    let conn = w.repo.store().connection();
    let rows = stats::ozg(conn, &scope(false)).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let o = &rows[0];
    assert_eq!(
        (o.ozg, o.name.as_str()),
        (10559, "Meldebescheinigung und -registerauskunft")
    );
    assert_eq!(o.products, vec![format!("{:#}", header.id())]);
    // Organisation 3 is not attested: counted only with include_unverified.
    assert_eq!(o.organisations, 1);
    assert_eq!(o.by_land.get("05"), Some(&1));
    let all = stats::ozg(conn, &scope(true)).unwrap();
    assert_eq!(all[0].organisations, 2);
    // The products of the world name free tasks ("Meldewesen"): no OZG-Leistung.
    assert!(all.iter().all(|u| u.ozg == 10559));
}
