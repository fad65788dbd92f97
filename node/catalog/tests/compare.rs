//! The Nachbarvergleich over a real SQLite store: the three groups, the differences (missing
//! tasks, rare products, products left), the trust scope (an unattested organisation in the
//! same Kreis does not count), each organisation once per product, and the errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use allmende_catalog::compare::{self, CompareError, Comparison, Group};
use allmende_catalog::stats::Scope;
use allmende_protocol::change::ReplicaId;
use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::identity::Keypair;
use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::schema::{
    Attestation, Deployment, DeploymentStatus, OperatedBy, OrgKind, OrgProfile, Product,
    ProductKind, Rating, RatingDimension, Score, UnixTime,
};
use allmende_store::repo::Repo;
use allmende_store::store::SqliteStore;

const NOW: UnixTime = UnixTime(1_750_000_000);
const ANCHOR: u8 = 50;
/// Hellenthal, the subject.
const ME: u8 = 1;
const DAHLEM: u8 = 2;
const NETTERSHEIM: u8 = 3;
const KREIS: u8 = 4;
/// Claims Zülpich's AGS, never attested.
const FAKE: u8 = 5;
const KOELN: u8 = 6;
/// A Bavarian Gemeinde of Hellenthal's size class.
const GARCHING: u8 = 7;
/// Attested, no AGS, claims 8,000 inhabitants.
const NO_AGS: u8 = 8;

fn kp(seed: u8) -> Keypair {
    Keypair::from_secret_bytes(&[seed; 32]).unwrap()
}

fn org(seed: u8) -> OrgId {
    OrgId::from_root_key(kp(seed).public())
}

struct World {
    _dir: tempfile::TempDir,
    repo: Repo<SqliteStore>,
    p: Products,
}

struct Products {
    melde_a: DocId,
    melde_b: DocId,
    rats: DocId,
    bau: DocId,
    hund: DocId,
    alt: DocId,
    akte: DocId,
}

fn profile(repo: &mut Repo<SqliteStore>, seed: u8, kind: OrgKind, ags: Option<&str>, pop: u32) {
    let p = OrgProfile {
        name: format!("Org {seed}"),
        kind,
        ags: ags.map(|a| a.parse().unwrap()),
        land: ags.map(|a| a[..2].parse().unwrap()),
        population: Some(pop),
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

fn attest(repo: &mut Repo<SqliteStore>, seed: u8) {
    let a = Attestation {
        org: org(seed),
        name: format!("Org {seed}"),
        kind: OrgKind::Kommune,
        ags: None,
        attested_at: NOW,
    };
    repo.edit(
        &kp(ANCHOR),
        DocHeader::singleton(DocKind::Trust, org(ANCHOR)),
        NOW,
        |ed| ed.put(&format!("{:#}", org(seed)), &a),
    )
    .unwrap();
}

fn product(repo: &mut Repo<SqliteStore>, n: u8, name: &str, tasks: &[&str]) -> DocId {
    let header = DocHeader::product(org(ANCHOR), [n; 16]);
    let p = Product {
        tasks: tasks.iter().map(|t| t.parse().unwrap()).collect(),
        ..Product::new(name, "V GmbH", ProductKind::Fachverfahren)
    };
    repo.edit(&kp(ANCHOR), header, NOW, |ed| ed.put_root(&p))
        .unwrap();
    header.id()
}

#[allow(clippy::too_many_arguments)]
fn deploy(
    repo: &mut Repo<SqliteStore>,
    seed: u8,
    key: &str,
    product: DocId,
    status: DeploymentStatus,
    yearly: Option<u64>,
    once: Option<u64>,
    tasks: &[&str],
) {
    let d = Deployment {
        tasks: tasks.iter().map(|t| t.parse().unwrap()).collect(),
        cost_yearly_eur: yearly,
        cost_once_eur: once,
        ..Deployment::new(product, status, OperatedBy::Itself)
    };
    repo.edit(
        &kp(seed),
        DocHeader::singleton(DocKind::Deployments, org(seed)),
        NOW,
        |ed| ed.put(key, &d),
    )
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
    repo.edit(
        &kp(seed),
        DocHeader::singleton(DocKind::Experience, org(seed)),
        NOW,
        |ed| ed.put(&format!("{product:#}"), &r),
    )
    .unwrap();
}

fn world() -> World {
    use DeploymentStatus::{Production as P, Retired as R};
    let dir = tempfile::tempdir().unwrap();
    let mut repo = Repo::open(
        SqliteStore::open(&dir.path().join("s.db")).unwrap(),
        ReplicaId([1; 16]),
    )
    .unwrap();
    let r = &mut repo;
    let p = Products {
        melde_a: product(r, 1, "Melde A", &["Meldewesen"]),
        melde_b: product(r, 2, "Melde B", &["Meldewesen"]),
        rats: product(r, 3, "Rats", &["Ratsinformation"]),
        bau: product(r, 4, "Bau", &["Bauantrag"]),
        hund: product(r, 5, "Hund", &["Hundesteuer"]),
        alt: product(r, 6, "Alt", &["Ratsinformation"]),
        // No task of its own: only the deployment names one.
        akte: product(r, 7, "Akte", &[]),
    };
    profile(r, ME, OrgKind::Kommune, Some("05366020"), 7_797);
    profile(r, DAHLEM, OrgKind::Kommune, Some("05366012"), 4_301);
    profile(r, NETTERSHEIM, OrgKind::Kommune, Some("05366032"), 7_705);
    profile(r, KREIS, OrgKind::Kreis, Some("05366000"), 194_359);
    profile(r, FAKE, OrgKind::Kommune, Some("05366044"), 7_000);
    profile(r, KOELN, OrgKind::Kommune, Some("05315000"), 1_083_498);
    profile(r, GARCHING, OrgKind::Kommune, Some("09171117"), 8_708);
    profile(r, NO_AGS, OrgKind::Kommune, None, 8_000);
    for seed in [ME, DAHLEM, NETTERSHEIM, KREIS, KOELN, GARCHING, NO_AGS] {
        attest(r, seed);
    }
    deploy(r, ME, "m", p.melde_a, P, Some(5_000), None, &[]);
    deploy(r, ME, "r", p.rats, P, None, None, &[]);
    deploy(r, ME, "h", p.hund, P, None, None, &[]);
    // Dahlem reports Melde A twice: one organisation, its costs summed.
    deploy(r, DAHLEM, "m1", p.melde_a, P, Some(3_000), Some(1_000), &[]);
    deploy(r, DAHLEM, "m2", p.melde_a, P, Some(1_000), None, &[]);
    deploy(r, DAHLEM, "r", p.rats, P, Some(2_000), None, &[]);
    deploy(r, DAHLEM, "x", p.alt, R, None, None, &[]);
    deploy(r, NETTERSHEIM, "m", p.melde_b, P, Some(9_000), None, &[]);
    deploy(r, NETTERSHEIM, "b", p.bau, P, None, None, &[]);
    deploy(r, NETTERSHEIM, "r", p.rats, P, Some(4_000), None, &[]);
    deploy(r, NETTERSHEIM, "x", p.alt, R, None, None, &[]);
    deploy(r, KREIS, "b", p.bau, P, None, None, &[]);
    deploy(r, KREIS, "a", p.akte, P, None, None, &["E-Akte"]);
    deploy(r, FAKE, "b", p.bau, P, None, None, &[]);
    deploy(r, FAKE, "h", p.hund, P, None, None, &[]);
    deploy(r, FAKE, "x", p.alt, R, None, None, &[]);
    deploy(r, KOELN, "x", p.alt, P, None, None, &[]);
    deploy(r, GARCHING, "h", p.hund, P, None, None, &[]);
    rate(r, DAHLEM, p.melde_a, 4);
    rate(r, FAKE, p.melde_a, 1);
    World { _dir: dir, repo, p }
}

fn scoped() -> Scope {
    Scope {
        anchors: vec![org(ANCHOR)],
        include_unverified: false,
    }
}

fn run(w: &World, scope: &Scope, seed: u8, group: Group) -> Result<Comparison, CompareError> {
    compare::compare(w.repo.store().connection(), scope, &org(seed), Some(group))
}

fn task<'a>(c: &'a Comparison, name: &str) -> &'a compare::TaskComparison {
    c.tasks
        .iter()
        .find(|t| t.task == name)
        .unwrap_or_else(|| panic!("no task {name} in {:#?}", c.tasks))
}

fn listed(t: &compare::TaskComparison, id: DocId) -> &compare::ProductComparison {
    let id = hex::encode(id.as_bytes());
    t.products
        .iter()
        .find(|p| p.product == id)
        .unwrap_or_else(|| panic!("no product {id} in {:#?}", t.products))
}

#[test]
fn kreis_group_counts_attested_neighbours_once_per_product() {
    let w = world();
    let c = run(&w, &scoped(), ME, Group::Kreis).unwrap();
    assert_eq!(c.group_label, "Kreis Euskirchen (05366)");
    // Dahlem, Nettersheim and the Kreis; the unattested organisation claiming Zülpich not.
    assert_eq!(c.neighbours, 3);
    assert_eq!(c.neighbours_with_deployments, 3);
    assert!(!c.include_unverified && !c.group_truncated);
    let melde = task(&c, "Meldewesen");
    assert_eq!(melde.neighbours, 2);
    assert_eq!(melde.mine, vec![hex::encode(w.p.melde_a.as_bytes())]);
    let a = listed(melde, w.p.melde_a);
    assert!(a.mine);
    // Dahlem's two deployments: one organisation, one cost of 4,000 a year.
    assert_eq!(a.organisations, 1);
    assert_eq!(a.costs.reporting_yearly, 1);
    assert_eq!(a.costs.median_yearly_eur, Some(4_000));
    assert_eq!(a.costs.median_once_eur, Some(1_000));
    // Only Dahlem's rating: the unattested one's 1 does not count.
    assert_eq!(a.score, Some(4.0));
    assert_eq!(a.ratings.as_ref().unwrap().recommend, (1, 1));
    let rats = task(&c, "Ratsinformation");
    let r = listed(rats, w.p.rats);
    assert_eq!((r.organisations, r.left), (2, 0));
    assert_eq!(r.costs.median_yearly_eur, Some(3_000));
    assert_eq!(listed(rats, w.p.alt).left, 2);
    // Differences: Bauantrag and E-Akte (a deployment's own task) without a product of mine;
    // Hundesteuer run by no neighbour; Alt left by two.
    assert_eq!(c.missing_tasks, vec!["Bauantrag", "E-Akte"]);
    assert_eq!(task(&c, "Bauantrag").neighbours, 2);
    assert_eq!(c.rare.len(), 1);
    assert_eq!(c.rare[0].task, "Hundesteuer");
    assert_eq!((c.rare[0].organisations, c.rare[0].neighbours), (0, 0));
    assert_eq!(c.left.len(), 1);
    assert_eq!(c.left[0].name, "Alt");
    assert_eq!((c.left[0].left, c.left[0].organisations), (2, 0));
    assert!(!c.left[0].mine);
    // Most neighbours first.
    assert_eq!(c.tasks[0].neighbours, 2);
    assert_eq!(c.tasks.last().unwrap().task, "Hundesteuer");
}

#[test]
fn counting_unattested_organisations_lets_the_fake_neighbour_in() {
    let w = world();
    let all = Scope {
        include_unverified: true,
        ..scoped()
    };
    let c = run(&w, &all, ME, Group::Kreis).unwrap();
    assert!(c.include_unverified);
    assert_eq!(c.neighbours, 4);
    assert_eq!(task(&c, "Bauantrag").neighbours, 3);
    // Now a neighbour runs Hund: one of one, no longer rare.
    assert!(c.rare.is_empty(), "{:?}", c.rare);
    assert_eq!(c.left[0].left, 3);
    let a = listed(task(&c, "Meldewesen"), w.p.melde_a);
    assert_eq!(a.score, Some(2.5));
}

#[test]
fn land_group_and_someone_who_still_runs_what_others_left() {
    let w = world();
    let c = run(&w, &scoped(), ME, Group::Land).unwrap();
    assert_eq!(c.group_label, "Nordrhein-Westfalen (05)");
    // Dahlem, Nettersheim, the Kreis and Köln; not Garching (Bayern) nor the fake.
    assert_eq!(c.neighbours, 4);
    let alt = listed(task(&c, "Ratsinformation"), w.p.alt);
    assert_eq!((alt.organisations, alt.left), (1, 2));
    assert_eq!((c.left[0].left, c.left[0].organisations), (2, 1));
}

#[test]
fn size_group_takes_official_population_and_the_same_kind() {
    let w = world();
    let c = run(&w, &scoped(), ME, Group::Groesse).unwrap();
    let class = c.size_class.unwrap();
    assert_eq!(class.key, "5000-10000");
    assert_eq!(c.population, Some(7_797));
    assert_eq!(
        c.group_label,
        "Kommunen der Größenklasse 5.000 bis unter 10.000 Einwohner"
    );
    // Nettersheim (7,705) and Garching (8,708); not Dahlem (4,301), not the Kreis, not the
    // organisation that only claims 8,000 without an AGS, not the unattested fake.
    assert_eq!(c.neighbours, 2);
    let hund = task(&c, "Hundesteuer");
    assert_eq!(hund.neighbours, 1);
    assert_eq!(listed(hund, w.p.hund).organisations, 1);
    // Nettersheim runs Melde B, nobody of this group Melde A.
    assert_eq!(c.rare.len(), 1, "{:?}", c.rare);
    assert_eq!(
        (c.rare[0].name.as_str(), c.rare[0].neighbours),
        ("Melde A", 1)
    );
}

#[test]
fn groups_that_cannot_be_formed_say_why_and_unknown_organisations_are_refused() {
    let w = world();
    let e = run(&w, &scoped(), NO_AGS, Group::Kreis).unwrap_err();
    match e {
        CompareError::GroupUnavailable { group, reason } => {
            assert_eq!(group, Group::Kreis);
            assert!(reason.contains("AGS"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let e = run(&w, &scoped(), NO_AGS, Group::Groesse).unwrap_err();
    assert!(e.to_string().contains("amtliche Einwohnerzahl"), "{e}");
    let e = run(&w, &scoped(), 99, Group::Land).unwrap_err();
    assert!(matches!(e, CompareError::UnknownOrg(_)), "{e:?}");
    // Without a group: the first that can be formed (the Land is not known either, so size).
    let e =
        compare::compare(w.repo.store().connection(), &scoped(), &org(NO_AGS), None).unwrap_err();
    assert!(
        matches!(
            e,
            CompareError::GroupUnavailable {
                group: Group::Kreis,
                ..
            }
        ),
        "{e:?}"
    );
    let c = compare::compare(w.repo.store().connection(), &scoped(), &org(ME), None).unwrap();
    assert_eq!(c.group, Group::Kreis);
    // The choices list every group with its availability.
    let c = run(&w, &scoped(), ME, Group::Kreis).unwrap();
    assert_eq!(c.groups.len(), 3);
    assert!(c.groups.iter().all(|g| g.available));
}

#[test]
fn an_organisation_without_neighbours_in_the_scope_gets_an_empty_comparison() {
    let w = world();
    // No anchor followed and unattested not counted: nobody counts but the subject's own stack.
    let c = run(&w, &Scope::default(), ME, Group::Kreis).unwrap();
    assert_eq!(c.neighbours, 0);
    assert!(c.missing_tasks.is_empty());
    assert_eq!(c.tasks.len(), 3, "only my own tasks: {:?}", c.tasks);
    assert_eq!(c.rare.len(), 3);
}
