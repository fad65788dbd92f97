//! The catalog index: kept current incrementally, equal to a rebuild, and searchable in German.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use allmende_node::query::{SearchQuery, dump_index, search};
use allmende_node::repo::Repo;
use allmende_node::store::SqliteStore;
use allmende_protocol::change::ReplicaId;
use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::identity::{Delegation, Keypair, Revocation, Scope};
use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::schema::{
    Attestation, Deployment, DeploymentStatus, Integration, IntegrationStatus, OperatedBy, OrgKind,
    OrgProfile, Product, ProductKind, Rating, RatingDimension, ReuseOutcome, ReuseReport, Score,
    UnixTime,
};
use proptest::prelude::*;

const T0: i64 = 1_700_000_000;
const NOW: UnixTime = UnixTime(T0 + 1_000_000);

fn kp(seed: u8) -> Keypair {
    Keypair::from_secret_bytes(&[seed; 32]).unwrap()
}

fn product(
    name: &str,
    description: &str,
    tasks: &[&str],
    standards: &[&str],
    licence: &str,
) -> Product {
    Product {
        description: Some(description.into()),
        tasks: tasks.iter().map(|t| t.parse().unwrap()).collect(),
        licence: Some(licence.parse().unwrap()),
        standards: standards.iter().map(|s| (*s).to_owned()).collect(),
        ..Product::new(name, "Hersteller", ProductKind::Fachverfahren)
    }
}

fn repo(dir: &std::path::Path) -> Repo<SqliteStore> {
    Repo::open(
        SqliteStore::open(&dir.join("s.db")).unwrap(),
        ReplicaId([1; 16]),
    )
    .unwrap()
}

#[derive(Debug, Clone)]
enum Op {
    Product {
        org: u8,
        slot: u8,
        name: u8,
    },
    Deploy {
        org: u8,
        key: u8,
        product: u8,
        status: u8,
        other: u8,
    },
    Undeploy {
        org: u8,
        key: u8,
    },
    Rate {
        org: u8,
        product: u8,
        score: u8,
    },
    Reuse {
        org: u8,
        key: u8,
        product: u8,
    },
    Attest {
        org: u8,
    },
    Revoke {
        org: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3u8, 0..4u8, 0..5u8).prop_map(|(org, slot, name)| Op::Product { org, slot, name }),
        (0..3u8, 0..3u8, 0..12u8, 0..4u8, 0..12u8).prop_map(
            |(org, key, product, status, other)| Op::Deploy {
                org,
                key,
                product,
                status,
                other
            }
        ),
        (0..3u8, 0..3u8).prop_map(|(org, key)| Op::Undeploy { org, key }),
        (0..3u8, 0..12u8, 1..6u8).prop_map(|(org, product, score)| Op::Rate {
            org,
            product,
            score
        }),
        (0..3u8, 0..2u8, 0..12u8).prop_map(|(org, key, product)| Op::Reuse { org, key, product }),
        (0..3u8).prop_map(|org| Op::Attest { org }),
        (0..3u8).prop_map(|org| Op::Revoke { org }),
    ]
}

/// Product slots: (org, slot) → document; 3 orgs × 4 slots.
fn product_header(org: u8, slot: u8) -> DocHeader {
    DocHeader::product(OrgId::from_root_key(kp(10 + org).public()), [slot; 16])
}

fn product_id(n: u8) -> DocId {
    product_header(n / 4, n % 4).id()
}

/// Publishes the profile of org `org` (0–2) in Köln, Nordrhein-Westfalen.
fn profile(repo: &mut Repo<SqliteStore>, org: u8) {
    let p = OrgProfile {
        name: format!("Stadt {org}"),
        kind: OrgKind::Kommune,
        ags: Some(format!("0531500{org}").parse().unwrap()),
        land: Some("05".parse().unwrap()),
        population: Some(1000),
        website: None,
        contact_role: None,
        it_dienstleister: None,
    };
    let _ = repo.edit(
        &kp(10 + org),
        DocHeader::singleton(
            DocKind::Profile,
            OrgId::from_root_key(kp(10 + org).public()),
        ),
        UnixTime(T0 + 1),
        |ed| ed.put_root(&p),
    );
}

/// Orgs 0–2 write with keys 10–12; org key 12 writes through a delegate (key 20) that may be
/// revoked; the anchor (key 30) attests.
fn apply(repo: &mut Repo<SqliteStore>, ops: &[Op]) {
    let delegate = kp(20);
    let d = Delegation {
        issuer: OrgId::from_root_key(kp(12).public()),
        delegate: delegate.public(),
        scope: Scope::all(),
        not_before: UnixTime(T0),
        not_after: UnixTime(T0 + 10_000_000),
    }
    .sign(&kp(12))
    .unwrap();
    repo.add_delegation(d).unwrap();
    profile(repo, 0);
    profile(repo, 1);
    for (i, op) in ops.iter().enumerate() {
        let t = UnixTime(T0 + 10 + i as i64);
        let writer = |org: u8| if org == 2 { kp(20) } else { kp(10 + org) };
        let owner = |org: u8| OrgId::from_root_key(kp(10 + org).public());
        // Errors are fine (revoked writers, unchanged edits); the index must follow the store.
        let _ = match op.clone() {
            Op::Product { org, slot, name } => {
                let p = product(
                    &format!("Produkt {name}"),
                    "Bauanträge online",
                    &["Bauantrag"],
                    &["XBau"],
                    "EUPL-1.2",
                );
                repo.edit(&writer(org), product_header(org, slot), t, |ed| {
                    ed.put_root(&p)
                })
                .map(|_| ())
            }
            Op::Deploy {
                org,
                key,
                product,
                status,
                other,
            } => {
                let d = Deployment {
                    product: product_id(product),
                    version: None,
                    tasks: vec!["Bauantrag".parse().unwrap()],
                    since: None,
                    status: [
                        DeploymentStatus::Planned,
                        DeploymentStatus::Pilot,
                        DeploymentStatus::Production,
                        DeploymentStatus::Retired,
                    ][status as usize],
                    operated_by: OperatedBy::Itself,
                    integrations: if other != product {
                        vec![Integration {
                            product: product_id(other),
                            standard: "XBau".into(),
                            status: IntegrationStatus::Partly,
                        }]
                    } else {
                        vec![]
                    },
                    end_to_end: Some(status > 1),
                    cost_once_eur: Some(u64::from(key) * 100),
                    cost_yearly_eur: None,
                    contact_role: None,
                    exchange_ok: None,
                    until: None,
                    replaced_by: None,
                    end_reason: None,
                };
                repo.edit(
                    &writer(org),
                    DocHeader::singleton(DocKind::Deployments, owner(org)),
                    t,
                    |ed| ed.put(&format!("k{key}"), &d),
                )
                .map(|_| ())
            }
            Op::Undeploy { org, key } => repo
                .edit(
                    &writer(org),
                    DocHeader::singleton(DocKind::Deployments, owner(org)),
                    t,
                    |ed| ed.delete::<Deployment>(&format!("k{key}")),
                )
                .map(|_| ()),
            Op::Rate {
                org,
                product,
                score,
            } => {
                let r = Rating {
                    product: product_id(product),
                    scores: [(RatingDimension::Usability, Score::try_from(score).unwrap())]
                        .into_iter()
                        .collect(),
                    recommend: Some(score > 3),
                    text: None,
                    since: None,
                };
                let key = format!("{:#}", product_id(product));
                repo.edit(
                    &writer(org),
                    DocHeader::singleton(DocKind::Experience, owner(org)),
                    t,
                    |ed| ed.put(&key, &r),
                )
                .map(|_| ())
            }
            Op::Reuse { org, key, product } => {
                let r = ReuseReport {
                    product: product_id(product),
                    provider: None,
                    efa: key == 0,
                    effort_person_days: Some(5),
                    cost_once_eur: Some(1000),
                    cost_yearly_eur: None,
                    weeks_to_production: Some(4),
                    obstacles: vec![],
                    outcome: ReuseOutcome::Production,
                    recommend: Some(true),
                    text: None,
                };
                repo.edit(
                    &writer(org),
                    DocHeader::singleton(DocKind::Experience, owner(org)),
                    t,
                    |ed| ed.put(&format!("r{key}"), &r),
                )
                .map(|_| ())
            }
            Op::Attest { org } => {
                let a = Attestation {
                    org: owner(org),
                    name: format!("Stadt {org}"),
                    kind: OrgKind::Kommune,
                    ags: None,
                    attested_at: t,
                };
                let anchor = kp(30);
                let header =
                    DocHeader::singleton(DocKind::Trust, OrgId::from_root_key(anchor.public()));
                repo.edit(&anchor, header, t, |ed| {
                    ed.put(&format!("{:#}", owner(org)), &a)
                })
                .map(|_| ())
            }
            Op::Revoke { org } => {
                // Org 2's delegate is revoked; others revoke nothing (their root keys stay).
                if org == 2 {
                    let r = Revocation {
                        issuer: kp(12).public(),
                        subject: delegate.public(),
                        effective: UnixTime(t.0 - 5),
                        reason: "Test".into(),
                    }
                    .sign(&kp(12))
                    .unwrap();
                    repo.add_revocation(r).map(|_| ())
                } else {
                    Ok(())
                }
            }
        };
    }
    // Org 2's profile comes last, after its deployments (orgs 0 and 1 have theirs first).
    profile(repo, 2);
    // Org 1 moves to another Land and Kreis: its deployments move with it in the usage
    // counts by region.
    let moved = OrgProfile {
        name: "Stadt 1".into(),
        kind: OrgKind::Kommune,
        ags: Some("09162000".parse().unwrap()),
        land: Some("09".parse().unwrap()),
        population: Some(1000),
        website: None,
        contact_role: None,
        it_dienstleister: None,
    };
    let _ = repo.edit(
        &kp(11),
        DocHeader::singleton(DocKind::Profile, OrgId::from_root_key(kp(11).public())),
        UnixTime(NOW.0 + 1),
        |ed| ed.put_root(&moved),
    );
}

/// Rows of the trigger-kept usage counts that differ from counting the deployment rows now
/// (in either direction).
fn usage_mismatches(conn: &rusqlite::Connection) -> Vec<String> {
    let counted = "SELECT 'usage', '', product, count(*), sum(status IN ('production', 'pilot'))
          FROM idx_deployment GROUP BY product
        UNION ALL
        SELECT 'land', o.land, d.product, count(*), NULL FROM idx_deployment d
          JOIN idx_org o ON o.org = d.org WHERE o.land IS NOT NULL GROUP BY o.land, d.product
        UNION ALL
        SELECT 'kreis', o.kreis, d.product, count(*), NULL FROM idx_deployment d
          JOIN idx_org o ON o.org = d.org WHERE o.kreis IS NOT NULL GROUP BY o.kreis, d.product";
    let kept = "SELECT 'usage', '', product, deployments, in_use FROM idx_usage WHERE deployments > 0
        UNION ALL
        SELECT level, region, product, deployments, NULL FROM idx_usage_region WHERE deployments > 0";
    let mut out = Vec::new();
    for (label, a, b) in [
        ("kept, not counted", kept, counted),
        ("counted, not kept", counted, kept),
    ] {
        // Each side in parentheses: compound operators bind left to right.
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM ({a}) EXCEPT SELECT * FROM ({b})"))
            .unwrap();
        let rows = stmt
            .query_map([], |r| {
                let v: Vec<rusqlite::types::Value> =
                    (0..5).map(|i| r.get(i)).collect::<Result<_, _>>()?;
                Ok(format!("{label}: {v:?}"))
            })
            .unwrap();
        out.extend(rows.map(Result::unwrap));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn incremental_index_equals_a_rebuild(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let mut r = repo(dir.path());
        apply(&mut r, &ops);
        let mismatches = usage_mismatches(r.store().connection());
        prop_assert!(mismatches.is_empty(), "usage counts drifted: {:?}", mismatches);
        let incremental = dump_index(r.store().connection()).unwrap();
        r.rebuild_index().unwrap();
        let rebuilt = dump_index(r.store().connection()).unwrap();
        prop_assert_eq!(incremental, rebuilt);
    }
}

#[test]
fn index_is_rebuilt_when_marked_stale_and_follows_edits() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = repo(dir.path());
    let p = product(
        "Meldewesen Plus",
        "Einwohnermeldewesen",
        &["Meldewesen"],
        &["XMeld"],
        "LicenseRef-proprietary",
    );
    r.edit(&kp(10), product_header(0, 0), NOW, |ed| ed.put_root(&p))
        .unwrap();
    let hit = |r: &Repo<SqliteStore>, q: &str| {
        search(
            r.store().connection(),
            &SearchQuery {
                q: Some(q.into()),
                limit: 10,
                ..Default::default()
            },
        )
        .unwrap()
        .total
    };
    assert_eq!(hit(&r, "Meldewesen"), 1);
    let mut p2 = p.clone();
    p2.name = "Einwohner Pro".into();
    p2.description = Some("Personenstand".into());
    p2.tasks = vec![];
    r.edit(&kp(10), product_header(0, 0), NOW, |ed| ed.put_root(&p2))
        .unwrap();
    assert_eq!(hit(&r, "Meldewesen"), 0, "the old text left the index");
    assert_eq!(hit(&r, "Personenstand"), 1);
    // Mark stale (as an upgrade does) and reopen: the index is rebuilt and equal.
    let before = dump_index(r.store().connection()).unwrap();
    r.store()
        .connection()
        .execute("UPDATE meta SET value = '1' WHERE key = 'index_stale'", [])
        .unwrap();
    r.store()
        .connection()
        .execute("DELETE FROM idx_product", [])
        .unwrap();
    drop(r);
    let r = repo(dir.path());
    assert_eq!(dump_index(r.store().connection()).unwrap(), before);
}

/// Descriptions for a synthetic catalog of 5,000 products.
fn synthetic(i: usize) -> Product {
    const WORDS: &[(&str, &str, &str)] = &[
        (
            "Bau",
            "Bauanträge und Baugenehmigungen digital bearbeiten",
            "XBau",
        ),
        (
            "Melde",
            "Einwohnermeldewesen mit Meldebescheinigungen",
            "XMeld",
        ),
        (
            "Straßen",
            "Straßenverkehrsbehörde: Sondernutzungen und Parkausweise",
            "XInneres",
        ),
        (
            "Gewerbe",
            "Gewerbeanzeigen entgegennehmen",
            "XGewerbeanzeige",
        ),
        (
            "Rats",
            "Sitzungen, Vorlagen und Beschlüsse des Rates",
            "OParl",
        ),
        ("Kita", "Kitaplätze vergeben und Gebühren berechnen", "XÖV"),
    ];
    let (stem, description, standard) = WORDS[i % WORDS.len()];
    let licence = if i.is_multiple_of(3) {
        "EUPL-1.2"
    } else {
        "LicenseRef-proprietary"
    };
    product(
        &format!("{stem}-Suite {i}"),
        description,
        &[stem],
        &[standard],
        licence,
    )
}

#[test]
fn german_search_and_facets_on_five_thousand_products() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = repo(dir.path());
    let creator = kp(10);
    for i in 0..5_000usize {
        let p = synthetic(i);
        let header = DocHeader::product(
            OrgId::from_root_key(creator.public()),
            (i as u128).to_be_bytes(),
        );
        r.edit(&creator, header, NOW, |ed| ed.put_root(&p)).unwrap();
    }
    let run = |q: &str, facets: &[(&str, &str)]| {
        search(
            r.store().connection(),
            &SearchQuery {
                q: (!q.is_empty()).then(|| q.to_owned()),
                facets: facets
                    .iter()
                    .map(|(f, v)| ((*f).to_owned(), (*v).to_owned()))
                    .collect(),
                limit: 5,
                ..Default::default()
            },
        )
        .unwrap()
    };
    let per_group = 5_000 / 6;
    // Plural and umlaut: "Bauantrag" finds "Bauanträge".
    let bau = run("Bauantrag", &[]);
    assert!(bau.total >= per_group as u64, "{}", bau.total);
    assert!(
        bau.hits.iter().all(|h| h.name.starts_with("Bau-Suite")),
        "{:?}",
        bau.hits
    );
    // ß = ss.
    assert_eq!(run("Strasse", &[]).total, run("Straße", &[]).total);
    assert!(run("Strassenverkehr", &[]).total >= per_group as u64);
    // Compound by prefix.
    assert!(run("Meldebescheinigung", &[]).total >= per_group as u64);
    assert!(run("Melde", &[]).total >= per_group as u64);
    assert_eq!(run("Quantencomputer", &[]).total, 0);
    // A facet query: open-source products using XBau.
    let open = run("", &[("standard", "XBau"), ("open_source", "yes")]);
    let expected = (0..5_000).filter(|i| i % 6 == 0 && i % 3 == 0).count() as u64;
    assert_eq!(open.total, expected);
    assert_eq!(open.facets["standard"]["XBau"], expected);
    // Text and facet together; facet counts cover all matches, not just the page.
    let both = run("Bauantrag", &[("licence", "EUPL-1.2")]);
    assert_eq!(both.total, expected);
    assert_eq!(both.hits.len(), 5);
    // An unknown facet is an error, not an empty result.
    let err = search(
        r.store().connection(),
        &SearchQuery {
            facets: vec![("colour".into(), "red".into())],
            limit: 5,
            ..Default::default()
        },
    );
    assert!(err.is_err());
    // Hostile text is harmless.
    for q in [
        "\"",
        "NEAR(a b)",
        "* OR *",
        "a:b",
        "-",
        "'; DROP TABLE idx_product; --",
    ] {
        let _ = run(q, &[]);
    }
    assert_eq!(run("", &[]).total, 5_000);
}

#[test]
fn same_as_merges_resolve_to_the_smallest_id_whatever_the_order() {
    use allmende_node::stats::{Scope, usage};
    let headers: Vec<DocHeader> = (0..3u8).map(|i| product_header(0, i)).collect();
    let ids: Vec<DocId> = headers.iter().map(|h| h.id()).collect();
    let smallest = *ids.iter().min().unwrap();
    // Links: 1 → 0 and 2 → 1 (a chain), created in two different orders on two stores.
    let orders: [&[(usize, usize)]; 2] = [&[(1, 0), (2, 1)], &[(2, 1), (1, 0)]];
    let mut results = Vec::new();
    for order in orders {
        let dir = tempfile::tempdir().unwrap();
        let mut r = repo(dir.path());
        for (i, h) in headers.iter().enumerate() {
            let p = product(
                &format!("Meldewesen {i}"),
                "Meldewesen",
                &["Meldewesen"],
                &["XMeld"],
                "EUPL-1.2",
            );
            r.edit(&kp(10), *h, NOW, |ed| ed.put_root(&p)).unwrap();
            let d = Deployment::new(h.id(), DeploymentStatus::Production, OperatedBy::Itself);
            let header = DocHeader::singleton(
                DocKind::Deployments,
                OrgId::from_root_key(kp(11 + i as u8).public()),
            );
            r.edit(&kp(11 + i as u8), header, NOW, |ed| ed.put("d", &d))
                .unwrap();
        }
        for &(from, to) in order {
            let mut p = product(
                &format!("Meldewesen {from}"),
                "Meldewesen",
                &["Meldewesen"],
                &["XMeld"],
                "EUPL-1.2",
            );
            p.same_as = Some(ids[to]);
            r.edit(&kp(20), headers[from], NOW, |ed| ed.put_root(&p))
                .unwrap();
        }
        let listed = search(
            r.store().connection(),
            &SearchQuery {
                q: Some("Meldewesen".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(listed.total, 1, "merged entries are listed once");
        assert_eq!(listed.hits[0].id, format!("{smallest:#}"));
        assert_eq!(
            listed.hits[0].deployments, 3,
            "deployments of all entries count for the merged product"
        );
        let u = usage(
            r.store().connection(),
            &Scope {
                anchors: vec![],
                include_unverified: true,
            },
        )
        .unwrap();
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].organisations, 3);
        results.push(dump_index(r.store().connection()).unwrap());
        // Unmerging: writing the entries without "same as" separates them again.
        for (i, h) in headers.iter().enumerate() {
            let p = product(
                &format!("Meldewesen {i}"),
                "Meldewesen",
                &["Meldewesen"],
                &["XMeld"],
                "EUPL-1.2",
            );
            r.edit(&kp(20), *h, NOW, |ed| ed.put_root(&p)).unwrap();
        }
        let listed = search(
            r.store().connection(),
            &SearchQuery {
                q: Some("Meldewesen".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(listed.total, 3, "cleared same_as links still merge");
        // Facet values are matched under the canonical standard name.
        let spelled = search(
            r.store().connection(),
            &SearchQuery {
                facets: vec![("standard".into(), "X Meld".into())],
                limit: 10,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(spelled.total, 3);
    }
    assert_eq!(results[0], results[1]);
}
