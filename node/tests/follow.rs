//! Following changes with a real SQLite store: the events of a product, an organisation, a
//! task and a region, their times (a claimed future time is clamped), the trust scope (an
//! unattested key's record reaches no feed and no notice), notices, the watch list, and the
//! Atom feeds read back with a real Atom parser, hostile text included.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;

use allmende_catalog::follow::{self, Event, Subject};
use allmende_node::repo::Repo;
use allmende_node::store::SqliteStore;
use allmende_protocol::change::ReplicaId;
use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::identity::Keypair;
use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::schema::{
    Attestation, Deployment, DeploymentStatus, OperatedBy, OrgKind, OrgProfile, Product,
    ProductKind, Rating, RatingDimension, ReuseOutcome, ReuseReport, Score, UnixTime,
};
use allmende_store::watch::{self, VisitedPage, WatchError, WatchKind};

const ANCHOR: u8 = 50;
const HOSTILE: &str = "<script>alert('x')</script> & \"Zitat\" ]]> <![CDATA[";

fn kp(seed: u8) -> Keypair {
    Keypair::from_secret_bytes(&[seed; 32]).unwrap()
}

fn org(seed: u8) -> OrgId {
    OrgId::from_root_key(kp(seed).public())
}

fn now() -> UnixTime {
    allmende_node::now()
}

struct World {
    _dir: tempfile::TempDir,
    repo: Repo<SqliteStore>,
    p: DocId,
}

fn profile(repo: &mut Repo<SqliteStore>, seed: u8, name: &str, ags: &str) {
    let p = OrgProfile {
        name: name.into(),
        kind: OrgKind::Kommune,
        ags: Some(ags.parse().unwrap()),
        land: Some(ags[..2].parse().unwrap()),
        population: Some(10_000),
        website: None,
        contact_role: None,
        it_dienstleister: None,
    };
    let h = DocHeader::singleton(DocKind::Profile, org(seed));
    repo.edit(&kp(seed), h, now(), |ed| ed.put_root(&p))
        .unwrap();
}

fn attest(repo: &mut Repo<SqliteStore>, seed: u8) {
    let a = Attestation {
        org: org(seed),
        name: format!("Org {seed}"),
        kind: OrgKind::Kommune,
        ags: None,
        attested_at: now(),
    };
    let h = DocHeader::singleton(DocKind::Trust, org(ANCHOR));
    repo.edit(&kp(ANCHOR), h, now(), |ed| {
        ed.put(&format!("{:#}", org(seed)), &a)
    })
    .unwrap();
}

fn deploy(repo: &mut Repo<SqliteStore>, seed: u8, key: &str, p: DocId, status: DeploymentStatus) {
    let d = Deployment::new(p, status, OperatedBy::Itself);
    let h = DocHeader::singleton(DocKind::Deployments, org(seed));
    repo.edit(&kp(seed), h, now(), |ed| ed.put(key, &d))
        .unwrap();
}

fn rate_at(repo: &mut Repo<SqliteStore>, seed: u8, p: DocId, text: &str, at: UnixTime) {
    let r = Rating {
        product: p,
        scores: [(RatingDimension::Usability, Score::try_from(4).unwrap())]
            .into_iter()
            .collect(),
        recommend: Some(true),
        text: Some(text.into()),
        since: None,
    };
    let h = DocHeader::singleton(DocKind::Experience, org(seed));
    repo.edit(&kp(seed), h, at, |ed| ed.put(&format!("{p:#}"), &r))
        .unwrap();
}

fn report(repo: &mut Repo<SqliteStore>, seed: u8, p: DocId) {
    let r = ReuseReport {
        product: p,
        provider: None,
        efa: false,
        effort_person_days: Some(20),
        cost_once_eur: None,
        cost_yearly_eur: None,
        weeks_to_production: Some(8),
        obstacles: vec![],
        outcome: ReuseOutcome::Production,
        recommend: Some(true),
        text: Some("lief gut".into()),
    };
    let h = DocHeader::singleton(DocKind::Experience, org(seed));
    repo.edit(&kp(seed), h, now(), |ed| {
        ed.put("0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e04", &r)
    })
    .unwrap();
}

/// Orgs 1 (Köln) and 2 (Kreis Düren) attested by the anchor, org 3 not. Org 1 created the
/// product (current version 4.1) and runs it; org 2 runs it, rates it with hostile text and
/// reports on its reuse; org 3 rates it.
fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let mut repo = Repo::open(
        SqliteStore::open(&dir.path().join("s.db")).unwrap(),
        ReplicaId([1; 16]),
    )
    .unwrap();
    let h = DocHeader::product(org(1), [1; 16]);
    let mut p = Product::new("Melde-Suite", "V GmbH", ProductKind::Fachverfahren);
    p.tasks = vec!["Meldewesen".parse().unwrap()];
    p.current_version = Some("4.1".into());
    repo.edit(&kp(1), h, now(), |ed| ed.put_root(&p)).unwrap();
    let p = h.id();
    profile(&mut repo, 1, "Stadt Köln", "05315000");
    profile(&mut repo, 2, "Gemeinde Musterhausen", "05358008");
    profile(&mut repo, 3, "Unbestätigt", "05358012");
    attest(&mut repo, 1);
    attest(&mut repo, 2);
    deploy(
        &mut repo,
        1,
        "0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e01",
        p,
        DeploymentStatus::Production,
    );
    deploy(
        &mut repo,
        2,
        "0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e02",
        p,
        DeploymentStatus::Pilot,
    );
    rate_at(&mut repo, 2, p, HOSTILE, now());
    report(&mut repo, 2, p);
    rate_at(&mut repo, 3, p, "vom unbestätigten Schlüssel", now());
    World { _dir: dir, repo, p }
}

fn counted(w: &World) -> Option<HashSet<Vec<u8>>> {
    follow::counted_orgs(w.repo.store().connection(), &[org(ANCHOR)], &[org(1)]).unwrap()
}

fn kinds(events: &[Event]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| (e.kind.clone(), e.org.clone()))
        .collect()
}

fn hex(o: OrgId) -> String {
    format!("{o:#}")
}

#[test]
fn a_product_feed_lists_what_happened_newest_first_without_unattested_keys() {
    let w = world();
    let conn = w.repo.store().connection();
    let c = counted(&w);
    let events = follow::events(conn, &Subject::Product(w.p), c.as_ref(), 50).unwrap();
    let k = kinds(&events);
    assert!(k.contains(&("deployment".into(), hex(org(1)))), "{k:?}");
    assert!(k.contains(&("deployment".into(), hex(org(2)))), "{k:?}");
    assert!(k.contains(&("rating".into(), hex(org(2)))), "{k:?}");
    assert!(k.contains(&("reuse".into(), hex(org(2)))), "{k:?}");
    assert!(k.contains(&("release".into(), hex(org(1)))), "{k:?}");
    // The unattested key's rating is stored, but reaches no feed.
    assert!(!k.iter().any(|(_, o)| *o == hex(org(3))), "{k:?}");
    // In open mode (no anchors) it counts, as on the pages.
    let open = follow::events(conn, &Subject::Product(w.p), None, 50).unwrap();
    assert!(kinds(&open).contains(&("rating".into(), hex(org(3)))));
    // Newest first, ids unique, bounded.
    assert!(events.windows(2).all(|p| p[0].at >= p[1].at));
    let ids: HashSet<_> = events.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids.len(), events.len());
    assert!(
        events
            .iter()
            .all(|e| e.id.starts_with("tag:allmende.invalid,2026:"))
    );
    assert_eq!(
        follow::events(conn, &Subject::Product(w.p), None, 2)
            .unwrap()
            .len(),
        2
    );
    assert!(
        follow::events(conn, &Subject::Product(w.p), None, 10_000)
            .unwrap()
            .len()
            <= follow::MAX_EVENTS
    );
}

#[test]
fn organisation_task_and_region_feeds_select_their_records() {
    let w = world();
    let conn = w.repo.store().connection();
    let c = counted(&w);
    let by_org = follow::events(conn, &Subject::Org(org(2)), c.as_ref(), 50).unwrap();
    assert!(!by_org.is_empty());
    assert!(
        by_org.iter().all(|e| e.org == hex(org(2))),
        "{:?}",
        kinds(&by_org)
    );
    let kreis = follow::events(conn, &Subject::Kreis("05358".into()), c.as_ref(), 50).unwrap();
    assert!(
        kreis.iter().all(|e| e.org == hex(org(2))),
        "{:?}",
        kinds(&kreis)
    );
    assert_eq!(kreis.len(), 3, "{:?}", kinds(&kreis));
    let land = follow::events(conn, &Subject::Land("05".into()), c.as_ref(), 50).unwrap();
    assert_eq!(land.len(), 4, "{:?}", kinds(&land));
    let task = follow::events(conn, &Subject::Task("Meldewesen".into()), c.as_ref(), 50).unwrap();
    assert_eq!(task.len(), 5, "{:?}", kinds(&task));
    let none = follow::events(conn, &Subject::Kreis("09162".into()), c.as_ref(), 50).unwrap();
    assert!(none.is_empty());
    assert!(follow::known(conn, "kreis", "05358").unwrap());
    assert!(!follow::known(conn, "product", &"e".repeat(64)).unwrap());
    assert!(follow::known(conn, "task", "Meldewesen").unwrap());
}

#[test]
fn a_claimed_future_time_is_clamped_to_the_time_the_node_saw_it() {
    let mut w = world();
    let far = UnixTime(now().0 + 10 * 365 * 86_400);
    rate_at(&mut w.repo, 2, w.p, "aus der Zukunft", far);
    // An honest change after it.
    deploy(
        &mut w.repo,
        1,
        "0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e09",
        w.p,
        DeploymentStatus::Retired,
    );
    let conn = w.repo.store().connection();
    let events = follow::events(conn, &Subject::Product(w.p), None, 50).unwrap();
    let future = events
        .iter()
        .find(|e| e.kind == "rating" && e.org == hex(org(2)))
        .unwrap();
    assert!(
        future.at <= now().0,
        "{} claimed, shown at {}",
        far.0,
        future.at
    );
    assert!(future.at >= now().0 - 60);
    let retired = events
        .iter()
        .find(|e| e.record["status"] == "retired")
        .unwrap();
    assert!(retired.at >= future.at);
}

#[test]
fn notices_tell_the_organisation_what_others_did_around_its_products() {
    let mut w = world();
    let c = counted(&w);
    let n = follow::notices(w.repo.store().connection(), &org(1), c.as_ref(), 50).unwrap();
    let k = kinds(&n);
    assert!(k.contains(&("rating".into(), hex(org(2)))), "{k:?}");
    assert!(k.contains(&("reuse".into(), hex(org(2)))), "{k:?}");
    assert!(k.contains(&("release".into(), hex(org(1)))), "{k:?}");
    // Not its own records, not deployments, never the unattested key's rating.
    assert!(
        !k.iter()
            .any(|(kind, o)| kind != "release" && *o == hex(org(1))),
        "{k:?}"
    );
    assert!(!k.iter().any(|(kind, _)| kind == "deployment"), "{k:?}");
    assert!(!k.iter().any(|(_, o)| *o == hex(org(3))), "{k:?}");
    // An end of support is a new notice with a new id.
    let before: HashSet<String> = n.iter().map(|e| e.id.clone()).collect();
    let h = DocHeader::product(org(1), [1; 16]);
    let mut p = Product::new("Melde-Suite", "V GmbH", ProductKind::Fachverfahren);
    p.tasks = vec!["Meldewesen".parse().unwrap()];
    p.current_version = Some("4.1".into());
    p.support_ends = Some("2027-06-30".parse().unwrap());
    w.repo.edit(&kp(1), h, now(), |ed| ed.put_root(&p)).unwrap();
    let n = follow::notices(w.repo.store().connection(), &org(1), c.as_ref(), 50).unwrap();
    let release = n.iter().find(|e| e.kind == "release").unwrap();
    assert!(!before.contains(&release.id));
    assert_eq!(release.record["support_ends"], "2027-06-30");
    assert!(allmende_formats::atom::title(release).contains("Support endet am 2027-06-30"));
    // Org 3 runs nothing: no notices.
    assert!(
        follow::notices(w.repo.store().connection(), &org(3), None, 50)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn the_watch_list_is_per_organisation_bounded_and_remembers_visits() {
    let w = world();
    let conn = w.repo.store().connection();
    let me = org(1);
    let p = format!("{:#}", w.p);
    assert!(watch::add(conn, &me, WatchKind::Product, &p.to_uppercase(), 10).unwrap());
    assert!(!watch::add(conn, &me, WatchKind::Product, &p, 11).unwrap());
    assert!(watch::add(conn, &me, WatchKind::Kreis, "05358", 12).unwrap());
    assert!(matches!(
        watch::add(conn, &me, WatchKind::Kreis, "5358", 12),
        Err(WatchError::Target(_))
    ));
    assert!(matches!(
        watch::add(conn, &me, WatchKind::Land, "17", 12),
        Err(WatchError::Target(_))
    ));
    assert!(matches!(
        watch::add(conn, &me, WatchKind::Task, &"x".repeat(500), 12),
        Err(WatchError::Target(_))
    ));
    let list = watch::list(conn, &me).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].kind, WatchKind::Product);
    assert_eq!(list[0].target, p);
    // Another organisation's list is its own.
    assert!(watch::list(conn, &org(2)).unwrap().is_empty());
    assert!(watch::remove(conn, &me, WatchKind::Kreis, "05358").unwrap());
    assert!(!watch::remove(conn, &me, WatchKind::Kreis, "05358").unwrap());
    // Bounded.
    for i in 0..watch::MAX_WATCHED - 1 {
        watch::add(conn, &me, WatchKind::Product, &format!("{i:064x}"), 13).unwrap();
    }
    assert!(matches!(
        watch::add(conn, &me, WatchKind::Org, &hex(org(2)), 14),
        Err(WatchError::Full)
    ));
    // Visits.
    assert_eq!(
        watch::last_visit(conn, &me, VisitedPage::Watch).unwrap(),
        None
    );
    assert_eq!(
        watch::mark_visit(conn, &me, VisitedPage::Watch, 100).unwrap(),
        None
    );
    assert_eq!(
        watch::mark_visit(conn, &me, VisitedPage::Watch, 200).unwrap(),
        Some(100)
    );
    assert_eq!(
        watch::last_visit(conn, &me, VisitedPage::Notices).unwrap(),
        None
    );
}

fn feed_of(events: &[Event]) -> String {
    allmende_formats::atom::feed(
        &allmende_formats::atom::FeedMeta {
            id: "tag:allmende.invalid,2026:feed/test",
            title: "Allmende: <Melde-Suite> & Co",
            self_url: "http://127.0.0.1:8080/api/v1/feeds/products/x?a=1&b=2",
            page_url: "http://127.0.0.1:8080/produkte/x",
            base: "http://127.0.0.1:8080",
            now: now().0,
        },
        events,
    )
}

#[test]
fn feeds_are_valid_atom_and_keep_hostile_text_inert() {
    let w = world();
    let conn = w.repo.store().connection();
    let mut events = follow::events(conn, &Subject::Product(w.p), None, 50).unwrap();
    // Text the schema would refuse, as if a name came from elsewhere.
    events[0].org_name = Some("Böse\u{1}\u{1b}[31m<b>Org</b>\u{fffe}".into());
    let xml = feed_of(&events);
    let feed = atom_syndication::Feed::read_from(xml.as_bytes()).unwrap();
    assert_eq!(feed.title().value.as_str(), "Allmende: <Melde-Suite> & Co");
    assert_eq!(feed.entries().len(), events.len());
    assert!(
        feed.links()
            .iter()
            .any(|l| l.rel() == "self" && l.href().ends_with("?a=1&b=2"))
    );
    let ids: HashSet<&str> = feed.entries().iter().map(|e| e.id()).collect();
    assert_eq!(ids.len(), events.len());
    for (entry, e) in feed.entries().iter().zip(&events) {
        assert_eq!(entry.id(), e.id);
        assert_eq!(
            entry.updated().timestamp(),
            e.at,
            "updated of {}",
            entry.id()
        );
        assert!(
            entry
                .links()
                .iter()
                .any(|l| l.href().contains(&format!("{:#}", w.p)))
        );
    }
    let hostile = feed
        .entries()
        .iter()
        .find(|e| e.summary().is_some_and(|s| s.value.contains("<script>")))
        .expect("the hostile rating text comes back as text");
    assert!(hostile.summary().unwrap().value.contains(HOSTILE));
    assert!(!xml.contains("<script>"));
    assert!(
        feed.entries()[0].authors()[0]
            .name()
            .starts_with("Böse[31m<b>Org</b>")
    );
    // An empty feed is valid too.
    let empty = atom_syndication::Feed::read_from(feed_of(&[]).as_bytes()).unwrap();
    assert!(empty.entries().is_empty());
}

#[test]
fn an_index_rebuild_keeps_the_times() {
    let w = world();
    let dir = w._dir;
    let before = follow::events(
        w.repo.store().connection(),
        &Subject::Product(w.p),
        None,
        50,
    )
    .unwrap();
    drop(w.repo);
    {
        let s = SqliteStore::open(&dir.path().join("s.db")).unwrap();
        s.connection()
            .execute("UPDATE meta SET value = '1' WHERE key = 'index_stale'", [])
            .unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let repo = Repo::open(
        SqliteStore::open(&dir.path().join("s.db")).unwrap(),
        ReplicaId([1; 16]),
    )
    .unwrap();
    let after =
        follow::events(repo.store().connection(), &Subject::Product(w.p), None, 50).unwrap();
    let a: Vec<(String, i64, i64)> = before
        .iter()
        .map(|e| (e.id.clone(), e.at, e.noticed_at))
        .collect();
    let b: Vec<(String, i64, i64)> = after
        .iter()
        .map(|e| (e.id.clone(), e.at, e.noticed_at))
        .collect();
    assert_eq!(a, b);
}
