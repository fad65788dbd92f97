//! Learning from other bodies: whom to ask about a product, training offers and their ratings,
//! and "abgelöst durch" flows, read from a real SQLite store. What counts is what the
//! statistics count: attested organisations (everyone when no anchor is followed); a
//! publisher's rating of its own offer never counts, and a rating stored under a key that is
//! not its offer's is not indexed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use allmende_node::exchange::{self, Scope, TrainingFilter};
use allmende_node::repo::Repo;
use allmende_node::store::SqliteStore;
use allmende_protocol::change::ReplicaId;
use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::identity::Keypair;
use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::schema::{
    Attestation, Deployment, DeploymentStatus, OperatedBy, OrgKind, OrgProfile, Product,
    ProductKind, Score, TrainingFormat, TrainingOffer, TrainingRating, UnixTime,
};

const NOW: UnixTime = UnixTime(1_750_000_000);
const ANCHOR: u8 = 50;
/// Organisations 1–4 are attested; 9 is not.
const STRANGER: u8 = 9;
const OFFER: &str = "0123456789abcdef0123456789abcdef";

fn kp(seed: u8) -> Keypair {
    Keypair::from_secret_bytes(&[seed; 32]).unwrap()
}

fn org(seed: u8) -> OrgId {
    OrgId::from_root_key(kp(seed).public())
}

struct World {
    _dir: tempfile::TempDir,
    repo: Repo<SqliteStore>,
    /// The old Fachverfahren, its successor, and another successor.
    old: DocId,
    new: DocId,
    other: DocId,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut repo = Repo::open(
            SqliteStore::open(&dir.path().join("s.db")).unwrap(),
            ReplicaId([1; 16]),
        )
        .unwrap();
        let mut ids = Vec::new();
        for (i, (name, task)) in [
            ("Abfall-Alt", "99001001002000"),
            ("Abfall-Neu", "99001001002000"),
            ("Abfall-Anders", "99001001002000"),
        ]
        .into_iter()
        .enumerate()
        {
            let header = DocHeader::product(org(1), [i as u8 + 1; 16]);
            let p = Product {
                tasks: vec![task.parse().unwrap()],
                ..Product::new(name, "V GmbH", ProductKind::Fachverfahren)
            };
            repo.edit(&kp(1), header, NOW, |ed| ed.put_root(&p))
                .unwrap();
            ids.push(header.id());
        }
        for seed in [1, 2, 3, 4, STRANGER] {
            let p = OrgProfile {
                name: format!("Gemeinde {seed}"),
                kind: OrgKind::Kommune,
                ags: None,
                land: None,
                population: None,
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
        for seed in [1, 2, 3, 4] {
            let a = Attestation {
                org: org(seed),
                name: format!("Gemeinde {seed}"),
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
        World {
            _dir: dir,
            repo,
            old: ids[0],
            new: ids[1],
            other: ids[2],
        }
    }

    fn deploy(&mut self, seed: u8, key: &str, d: &Deployment) {
        let header = DocHeader::singleton(DocKind::Deployments, org(seed));
        self.repo
            .edit(&kp(seed), header, NOW, |ed| ed.put(key, d))
            .unwrap();
    }

    fn experience<T: allmende_protocol::doc::Record>(&mut self, seed: u8, key: &str, r: &T) {
        let header = DocHeader::singleton(DocKind::Experience, org(seed));
        self.repo
            .edit(&kp(seed), header, NOW, |ed| ed.put(key, r))
            .unwrap();
    }

    fn conn(&self) -> &rusqlite::Connection {
        self.repo.store().connection()
    }
}

fn anchors() -> Vec<OrgId> {
    vec![org(ANCHOR)]
}

fn verified(a: &[OrgId]) -> Scope {
    Scope {
        anchors: a.to_vec(),
        include_unverified: false,
    }
}

fn retired(product: DocId, successor: DocId, reason: &str) -> Deployment {
    Deployment {
        until: Some("2024-12-31".parse().unwrap()),
        replaced_by: Some(successor),
        end_reason: Some(reason.into()),
        ..Deployment::new(product, DeploymentStatus::Retired, OperatedBy::Itself)
    }
}

#[test]
fn contacts_are_the_deployments_open_to_questions_verified_first() {
    let mut w = World::new();
    let old = w.old;
    let open = |role: Option<&str>| Deployment {
        contact_role: role.map(str::to_owned),
        exchange_ok: Some(true),
        ..Deployment::new(old, DeploymentStatus::Production, OperatedBy::Itself)
    };
    w.deploy(2, "a", &open(Some("Bürgeramt, Produktverantwortliche")));
    w.deploy(3, "a", &open(None));
    // Runs it but does not want to be asked.
    w.deploy(
        4,
        "a",
        &Deployment {
            exchange_ok: Some(false),
            contact_role: Some("IT-Leitung".into()),
            ..Deployment::new(w.old, DeploymentStatus::Production, OperatedBy::Itself)
        },
    );
    w.deploy(STRANGER, "a", &open(Some("Hauptamt")));

    let a = anchors();
    let list = exchange::contacts(w.conn(), w.old, &verified(&a)).unwrap();
    let orgs: Vec<&str> = list.iter().map(|c| c.org.as_str()).collect();
    assert_eq!(
        orgs,
        [format!("{:#}", org(2)), format!("{:#}", org(3))],
        "org 4 said no, the stranger is not attested: {list:#?}"
    );
    assert_eq!(
        list[0].contact_role.as_deref(),
        Some("Bürgeramt, Produktverantwortliche")
    );
    assert_eq!(list[0].name.as_deref(), Some("Gemeinde 2"));
    assert!(list.iter().all(|c| c.verified));

    let all = exchange::contacts(
        w.conn(),
        w.old,
        &Scope {
            anchors: a.clone(),
            include_unverified: true,
        },
    )
    .unwrap();
    assert_eq!(all.len(), 3);
    assert!(!all[2].verified, "unverified last: {all:#?}");
    // Open mode (no anchor): everyone counts.
    assert_eq!(
        exchange::contacts(w.conn(), w.old, &verified(&[]))
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn flows_count_each_organisation_once_in_both_directions() {
    let mut w = World::new();
    let (old, new, other) = (w.old, w.new, w.other);
    w.deploy(1, "a", &retired(old, new, "Support eingestellt"));
    // Two deployments of one organisation making the same move count once.
    w.deploy(2, "a", &retired(old, new, "Support eingestellt"));
    w.deploy(2, "b", &retired(old, new, "Zu teuer"));
    w.deploy(3, "a", &retired(old, other, "Landeslösung"));
    // Not attested: does not count on a node that follows the anchor.
    w.deploy(
        STRANGER,
        "a",
        &retired(old, other, "Werbung für Abfall-Anders"),
    );
    w.deploy(
        STRANGER,
        "b",
        &retired(old, other, "Werbung für Abfall-Anders"),
    );

    let a = anchors();
    let f = exchange::flows(w.conn(), old, &verified(&a)).unwrap();
    assert!(f.replaced.is_empty());
    let moves: Vec<(&str, u64)> = f
        .replaced_by
        .iter()
        .map(|m| (m.to_name.as_deref().unwrap(), m.organisations))
        .collect();
    assert_eq!(moves, [("Abfall-Neu", 2), ("Abfall-Anders", 1)]);
    let mut reasons = f.replaced_by[0].reasons.clone();
    reasons.sort();
    assert_eq!(reasons, ["Support eingestellt", "Zu teuer"]);
    assert!(
        !f.replaced_by[1]
            .reasons
            .iter()
            .any(|r| r.contains("Werbung")),
        "an unattested organisation's reason is shown: {f:#?}"
    );

    // The successor sees the same move from the other side.
    let back = exchange::flows(w.conn(), new, &verified(&a)).unwrap();
    assert!(back.replaced_by.is_empty());
    assert_eq!(back.replaced.len(), 1);
    assert_eq!(back.replaced[0].from, format!("{old:#}"));
    assert_eq!(back.replaced[0].organisations, 2);

    // A deployment brought back into use leaves the flow.
    w.deploy(
        1,
        "a",
        &Deployment::new(old, DeploymentStatus::Production, OperatedBy::Itself),
    );
    let f = exchange::flows(w.conn(), old, &verified(&a)).unwrap();
    assert_eq!(f.replaced_by[0].organisations, 1);
}

#[test]
fn training_ratings_count_like_statistics_and_never_the_publisher_s_own() {
    let mut w = World::new();
    let offer = TrainingOffer {
        product: w.old,
        title: "Abfall-Alt für die Sachbearbeitung".into(),
        provider: "Studieninstitut".into(),
        format: TrainingFormat::Online,
        duration_minutes: Some(180),
        cost_eur: Some(0),
        link: None,
        roles: vec!["Sachbearbeitung Bürgeramt".into()],
        description: None,
    };
    w.experience(1, OFFER, &offer);
    let rating = |score: u8, recommend: bool| TrainingRating {
        org: org(1),
        offer: OFFER.into(),
        score: Score::try_from(score).unwrap(),
        recommend: Some(recommend),
        text: None,
    };
    let key = rating(1, true).key();
    w.experience(2, &key, &rating(4, true));
    w.experience(3, &key, &rating(2, false));
    // The publisher praises its own course; a stranger floods in a score.
    w.experience(1, &key, &rating(5, true));
    w.experience(STRANGER, &key, &rating(5, true));
    // Stored under another key: not indexed, never counted.
    w.experience(4, "something-else", &rating(5, true));

    let a = anchors();
    let list = exchange::trainings(
        w.conn(),
        &TrainingFilter {
            product: Some(w.old),
            ..Default::default()
        },
        &verified(&a),
    )
    .unwrap();
    assert_eq!(list.len(), 1);
    let t = &list[0];
    assert_eq!(t.offer, offer);
    assert_eq!(t.key, OFFER);
    assert_eq!(t.product_name.as_deref(), Some("Abfall-Alt"));
    assert_eq!(t.ratings, 2, "{t:#?}");
    assert_eq!(t.mean_score, Some(3.0));
    assert_eq!(t.recommend_share, Some(0.5));

    // By task: listed under the product's LeiKa task, with its name.
    let groups =
        exchange::trainings_by_task(w.conn(), &TrainingFilter::default(), &verified(&a)).unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].task, "99001001002000");
    assert_ne!(groups[0].name, groups[0].task, "the task has a name");
    // Filters: another task, another format.
    for filter in [
        TrainingFilter {
            task: Some("99009001001000".into()),
            ..Default::default()
        },
        TrainingFilter {
            format: Some(TrainingFormat::InPerson),
            ..Default::default()
        },
        TrainingFilter {
            product: Some(w.new),
            ..Default::default()
        },
    ] {
        assert!(
            exchange::trainings(w.conn(), &filter, &verified(&a))
                .unwrap()
                .is_empty(),
            "{filter:?}"
        );
    }

    // An offer by an unattested organisation is listed only on request.
    w.experience(STRANGER, OFFER, &offer);
    assert_eq!(
        exchange::trainings(w.conn(), &TrainingFilter::default(), &verified(&a))
            .unwrap()
            .len(),
        1
    );
    let all = exchange::trainings(
        w.conn(),
        &TrainingFilter::default(),
        &Scope {
            anchors: a.clone(),
            include_unverified: true,
        },
    )
    .unwrap();
    assert_eq!(all.len(), 2);
    // One offer by publisher and key.
    let one = exchange::training(w.conn(), &org(1), OFFER, &verified(&a))
        .unwrap()
        .unwrap();
    assert_eq!(one.ratings, 2);
    assert!(
        exchange::training(w.conn(), &org(2), OFFER, &verified(&a))
            .unwrap()
            .is_none()
    );
}

#[test]
fn the_index_rebuilt_from_scratch_equals_the_one_kept_as_records_came() {
    let mut w = World::new();
    let (old, new) = (w.old, w.new);
    w.deploy(1, "a", &retired(old, new, "Support eingestellt"));
    w.experience(
        1,
        OFFER,
        &TrainingOffer {
            product: old,
            title: "Kurs".into(),
            provider: "Anbieter".into(),
            format: TrainingFormat::Hybrid,
            duration_minutes: None,
            cost_eur: None,
            link: None,
            roles: vec![],
            description: None,
        },
    );
    w.experience(
        2,
        &format!("{:#}/{OFFER}", org(1)),
        &TrainingRating {
            org: org(1),
            offer: OFFER.into(),
            score: Score::try_from(3).unwrap(),
            recommend: None,
            text: Some("Gut".into()),
        },
    );
    let kept = allmende_node::query::dump_index(w.conn()).unwrap();
    assert!(kept.iter().any(|r| r.starts_with("idx_training:")));
    assert!(kept.iter().any(|r| r.starts_with("idx_training_rating:")));
    w.repo.rebuild_index().unwrap();
    assert_eq!(allmende_node::query::dump_index(w.conn()).unwrap(), kept);
}
