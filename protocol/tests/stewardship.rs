#![allow(clippy::unwrap_used, clippy::expect_used)]
//! What a node shows of a shared product entry: the stewards' values, whoever else writes.

use allmende_protocol::auth::Certificates;
use allmende_protocol::change::{ReplicaId, SignedChange};
use allmende_protocol::doc::{DocHeader, DocKind, Document};
use allmende_protocol::identity::{Delegation, Keypair, Scope};
use allmende_protocol::ids::OrgId;
use allmende_protocol::schema::{Product, ProductKind, StewardGrant, UnixTime};
use allmende_protocol::stewardship::{
    Decision, EPOCH, FieldEdit, Grants, Resolution, Standing, StepCache, StewardRole,
    resolve_document,
};

/// After stewardship began.
const T: i64 = EPOCH.0 + 3_600;

fn kp(seed: u8) -> Keypair {
    Keypair::from_secret_bytes(&[seed; 32]).unwrap()
}

fn org(k: &Keypair) -> OrgId {
    OrgId::from_root_key(k.public())
}

fn copy(doc: &mut Document) -> Document {
    Document::load(*doc.header(), &doc.save()).unwrap()
}

fn product() -> Product {
    Product {
        description: Some("Sitzungsdienst und Ratsinformation".into()),
        licence: Some("EUPL-1.2".parse().unwrap()),
        ..Product::new(
            "Ratsinfo Offen",
            "Kreis Euskirchen",
            ProductKind::Fachverfahren,
        )
    }
}

/// One product document, written by several keys in turn, each with its own replica.
struct Entry {
    doc: Document,
    certs: Certificates,
    grants: Grants,
    changes: Vec<SignedChange>,
}

impl Entry {
    fn new(creator: &Keypair) -> Self {
        let mut e = Entry {
            doc: Document::new(DocHeader::product(org(creator), [7; 16])),
            certs: Certificates::new(),
            grants: Grants::new(),
            changes: Vec::new(),
        };
        e.edit(creator, T, |p| *p = product());
        e
    }

    /// `who` writes the fields `f` makes of the shown product, as the node does.
    fn edit(&mut self, who: &Keypair, at: i64, f: impl FnOnce(&mut Product)) -> SignedChange {
        let shown = self.shown();
        let mut p = shown.product().map(|r| r.unwrap()).unwrap_or_else(product);
        f(&mut p);
        let edits = shown.diff(&p).unwrap();
        self.write(who, at, |ed| ed.put_fields(&edits))
    }

    fn decide(&mut self, who: &Keypair, at: i64, id: &str, d: Decision) -> SignedChange {
        let shown = self.shown();
        let p = shown.proposal(id).expect("the proposal is listed").clone();
        let edits: Vec<FieldEdit> = p.pending(&shown).cloned().collect();
        let hash = p.author.change;
        self.write(who, at, |ed| {
            if d == Decision::Accepted {
                ed.put_fields(&edits)?;
            }
            ed.decide(hash, d)
        })
    }

    fn write(
        &mut self,
        who: &Keypair,
        at: i64,
        f: impl FnOnce(
            &mut allmende_protocol::doc::Editor<'_>,
        ) -> Result<(), allmende_protocol::doc::DocError>,
    ) -> SignedChange {
        let replica = ReplicaId([self.changes.len() as u8 + 1; 16]);
        let c = self
            .doc
            .edit(who, replica, UnixTime(at), f)
            .unwrap()
            .expect("the edit changes the document");
        self.changes.push(c.clone());
        c
    }

    fn shown(&mut self) -> Resolution {
        resolve_document(&mut self.doc, &self.certs, &self.grants)
    }

    fn name(&mut self) -> String {
        self.shown().product().unwrap().unwrap().name
    }
}

#[test]
fn a_non_stewards_rename_is_a_proposal_and_the_creators_values_stay() {
    let (creator, other) = (kp(1), kp(2));
    let mut e = Entry::new(&creator);
    e.edit(&other, T + 10, |p| {
        p.name = "Ratsinfo Offen (WARNUNG: nicht einsetzen)".into();
        p.vendor = "Betrug GmbH".into();
        p.licence = Some("LicenseRef-proprietary".parse().unwrap());
    });
    let shown = e.shown();
    let p = shown.product().unwrap().unwrap();
    assert_eq!(p.name, "Ratsinfo Offen");
    assert_eq!(p.vendor, "Kreis Euskirchen");
    assert_eq!(p.licence.unwrap().as_str(), "EUPL-1.2");
    assert_eq!(shown.fields["name"].set_by.org, Some(org(&creator)));

    assert_eq!(shown.proposals.len(), 1);
    let prop = &shown.proposals[0];
    assert_eq!(prop.author.signer, other.public());
    assert_eq!(prop.author.org, Some(org(&other)));
    let fields: Vec<&str> = prop.edits.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["licence", "name", "vendor"]);
    assert!(prop.is_open(&shown));
    assert_eq!(shown.history.len(), 2);
    assert_eq!(shown.history[1].standing, Standing::Proposal);
    assert_eq!(
        shown.stewards.iter().map(|s| s.org).collect::<Vec<_>>(),
        [org(&creator)]
    );
}

#[test]
fn a_steward_accepts_or_declines_and_only_a_steward_decides() {
    let (creator, other, third) = (kp(1), kp(2), kp(3));
    let mut e = Entry::new(&creator);
    let rename = e.edit(&other, T + 10, |p| p.name = "Ratsinfo Offen 2".into());
    let relicense = e.edit(&third, T + 20, |p| {
        p.licence = Some("LicenseRef-proprietary".parse().unwrap())
    });
    let (rename_id, relicense_id) = (
        hex::encode(rename.hash().0),
        hex::encode(relicense.hash().0),
    );

    // Someone who is no steward "accepts" the relicensing: nothing changes.
    e.decide(&other, T + 30, &relicense_id, Decision::Accepted);
    let shown = e.shown();
    assert_eq!(
        shown.product().unwrap().unwrap().licence.unwrap().as_str(),
        "EUPL-1.2"
    );
    assert!(shown.proposal(&relicense_id).unwrap().decision.is_none());

    e.decide(&creator, T + 40, &rename_id, Decision::Accepted);
    e.decide(&creator, T + 50, &relicense_id, Decision::Declined);
    let shown = e.shown();
    let p = shown.product().unwrap().unwrap();
    assert_eq!(p.name, "Ratsinfo Offen 2");
    assert_eq!(p.licence.unwrap().as_str(), "EUPL-1.2");
    let name = &shown.fields["name"];
    assert_eq!(name.set_by.org, Some(org(&creator)));
    assert_eq!(name.proposed_by.map(|a| a.signer), Some(other.public()));
    let (d, by) = shown.proposal(&rename_id).unwrap().decision.unwrap();
    assert_eq!((d, by.org), (Decision::Accepted, Some(org(&creator))));
    let (d, _) = shown.proposal(&relicense_id).unwrap().decision.unwrap();
    assert_eq!(d, Decision::Declined);
    for id in [&rename_id, &relicense_id] {
        assert!(!shown.proposal(id).unwrap().is_open(&shown));
    }
    // The outsider's "acceptance" wrote the licence: that is a proposal of its own.
    assert_eq!(
        shown.proposals.iter().filter(|p| p.is_open(&shown)).count(),
        1
    );
}

#[test]
fn a_steward_taking_over_a_proposed_value_by_hand_sets_it() {
    // The proposal already holds the value in Automerge; the steward's write still counts.
    let (creator, other) = (kp(1), kp(2));
    let mut e = Entry::new(&creator);
    e.edit(&other, T + 10, |p| p.name = "Ratsinfo Offen 2".into());
    e.edit(&creator, T + 20, |p| p.name = "Ratsinfo Offen 2".into());
    assert_eq!(e.name(), "Ratsinfo Offen 2");
    let shown = e.shown();
    assert!(
        !shown.proposals[0].is_open(&shown),
        "nothing left to accept"
    );
}

#[test]
fn co_stewards_edit_but_only_principal_stewards_name_them() {
    let (creator, vendor, other) = (kp(1), kp(2), kp(3));
    let mut e = Entry::new(&creator);
    e.edit(&creator, T + 10, |p| p.co_stewards = vec![org(&vendor)]);
    e.edit(&vendor, T + 20, |p| {
        p.description = Some("Vom Hersteller gepflegt".into())
    });
    e.edit(&vendor, T + 30, |p| p.co_stewards.push(org(&other)));
    e.edit(&other, T + 40, |p| p.name = "Übernommen".into());
    let shown = e.shown();
    let p = shown.product().unwrap().unwrap();
    assert_eq!(p.description.as_deref(), Some("Vom Hersteller gepflegt"));
    assert_eq!(
        p.co_stewards,
        [org(&vendor)],
        "a co-steward cannot add stewards"
    );
    assert_eq!(p.name, "Ratsinfo Offen");
    assert_eq!(shown.proposals.len(), 2);
    assert_eq!(shown.history[2].standing, Standing::CoSteward);
    assert!(shown.is_steward(org(&vendor)) && !shown.is_steward(org(&other)));
}

#[test]
fn a_key_the_creator_delegated_products_to_speaks_for_it_and_others_do_not() {
    let (creator, delegate, deployments_only) = (kp(1), kp(2), kp(3));
    let mut e = Entry::new(&creator);
    for (k, kind) in [
        (&delegate, DocKind::Product),
        (&deployments_only, DocKind::Deployments),
    ] {
        let d = Delegation {
            issuer: org(&creator),
            delegate: k.public(),
            scope: Scope::default().with(kind),
            not_before: UnixTime(0),
            not_after: UnixTime(i64::MAX),
        }
        .sign(&creator)
        .unwrap();
        e.certs.add_delegation(d).unwrap();
    }
    e.edit(&deployments_only, T + 10, |p| p.name = "Nicht so".into());
    e.edit(&delegate, T + 20, |p| {
        p.vendor = "Kreis Euskirchen (KDVZ)".into()
    });
    let shown = e.shown();
    let p = shown.product().unwrap().unwrap();
    assert_eq!(
        (p.name.as_str(), p.vendor.as_str()),
        ("Ratsinfo Offen", "Kreis Euskirchen (KDVZ)")
    );
    assert_eq!(shown.fields["vendor"].set_by.org, Some(org(&creator)));
}

#[test]
fn an_anchor_can_add_a_vendor_or_hand_an_orphaned_entry_over() {
    let (creator, vendor, anchor) = (kp(1), kp(2), kp(9));
    let mut e = Entry::new(&creator);
    let pid = e.doc.id();
    e.edit(&vendor, T + 10, |p| {
        p.website = Some("https://ratsinfo.example".parse().unwrap())
    });
    assert!(e.shown().product().unwrap().unwrap().website.is_none());

    e.grants.add(
        org(&anchor),
        StewardGrant {
            product: pid,
            org: org(&vendor),
            replaces_creator: true,
            since: UnixTime(T + 100),
            reason: Some("Ersteller aufgelöst".into()),
        },
    );
    e.edit(&vendor, T + 200, |p| {
        p.name = "Ratsinfo Offen (Hersteller)".into()
    });
    e.edit(&creator, T + 300, |p| p.name = "Ratsinfo Alt".into());
    let shown = e.shown();
    let p = shown.product().unwrap().unwrap();
    assert_eq!(
        p.name, "Ratsinfo Offen (Hersteller)",
        "the creator no longer decides"
    );
    assert!(
        p.website.is_none(),
        "the vendor's change before the grant stays a proposal"
    );
    assert_eq!(shown.stewards.len(), 1);
    assert_eq!(
        shown.stewards[0].role,
        StewardRole::Granted {
            anchor: org(&anchor),
            replaces_creator: true
        }
    );
    // A node that does not follow the anchor still shows the creator's values.
    let mut plain = Entry {
        doc: copy(&mut e.doc),
        certs: Certificates::new(),
        grants: Grants::new(),
        changes: vec![],
    };
    assert_eq!(plain.name(), "Ratsinfo Alt");
}

#[test]
fn history_before_stewardship_is_accepted_and_backdating_onto_new_changes_is_not() {
    let (creator, other, late) = (kp(1), kp(2), kp(3));
    let mut e = Entry {
        doc: Document::new(DocHeader::product(org(&creator), [7; 16])),
        certs: Certificates::new(),
        grants: Grants::new(),
        changes: vec![],
    };
    let before = EPOCH.0 - 86_400;
    e.edit(&creator, before, |p| *p = product());
    e.edit(&other, before + 10, |p| p.vendor = "Kommunale DVZ".into());
    let shown = e.shown();
    assert_eq!(shown.product().unwrap().unwrap().vendor, "Kommunale DVZ");
    assert_eq!(shown.history[1].standing, Standing::History);
    assert!(shown.proposals.is_empty());

    // After the epoch a change by the creator; then someone claims a time before it.
    e.edit(&creator, T, |p| p.description = Some("neu".into()));
    e.edit(&late, before + 20, |p| p.name = "Zurückdatiert".into());
    let shown = e.shown();
    assert_eq!(shown.product().unwrap().unwrap().name, "Ratsinfo Offen");
    assert_eq!(shown.history.last().unwrap().standing, Standing::Proposal);
}

#[test]
fn every_arrival_order_shows_the_same_entry() {
    let (creator, co, other) = (kp(1), kp(2), kp(3));
    let mut e = Entry::new(&creator);
    e.edit(&creator, T + 1, |p| p.co_stewards = vec![org(&co)]);
    // Two stewards and a proposer edit concurrently (each on the state after the second
    // change), then the creator decides.
    let mut base = copy(&mut e.doc);
    let mut branches = Vec::new();
    for (who, at, name) in [
        (&creator, T + 5, "A"),
        (&co, T + 5, "B"),
        (&other, T + 4, "C"),
    ] {
        let mut b = Entry {
            doc: copy(&mut base),
            certs: Certificates::new(),
            grants: Grants::new(),
            changes: vec![],
        };
        b.edit(who, at, |p| p.name = name.into());
        branches.extend(b.changes);
    }
    let mut all = e.changes.clone();
    all.extend(branches);
    let header = *e.doc.header();
    let certs = Certificates::new();
    let apply = |order: &[SignedChange]| {
        let mut d = Document::new(header);
        for c in order {
            let v = c.clone().verify(header.id()).unwrap();
            d.apply([certs.authorise(&header, v, UnixTime(T + 100)).unwrap()])
                .unwrap();
        }
        resolve_document(&mut d, &certs, &Grants::new())
    };
    let forward = apply(&all);
    let mut reversed = all[..2].to_vec();
    reversed.extend(all[2..].iter().rev().cloned());
    let backward = apply(&reversed);
    assert_eq!(forward, backward);
    // Same time: the larger hash wins between the two stewards; the proposal never does.
    let name = forward.product().unwrap().unwrap().name;
    assert!(name == "A" || name == "B", "{name}");
    assert_eq!(forward.proposals.len(), 1);
}

/// How long resolving takes for a product with many changes (run with
/// `cargo test --release -p allmende-protocol --test stewardship -- --ignored --nocapture`).
#[test]
#[ignore = "a measurement, not a check"]
fn resolving_a_product_with_many_changes() {
    let (creator, other) = (kp(1), kp(2));
    for n in [1_000usize, 10_000] {
        let mut e = Entry::new(&creator);
        let replica = ReplicaId([42; 16]);
        for i in 0..n {
            let edits = vec![FieldEdit {
                field: "description".into(),
                value: Some(format!("\"Vorschlag {i}\"")),
            }];
            e.doc
                .edit_shown(&other, replica, UnixTime(T + i as i64), None, |ed| {
                    ed.put_fields(&edits)
                })
                .unwrap();
        }
        let started = std::time::Instant::now();
        let all = e.doc.all_changes();
        println!("{n} changes: read in {:?}", started.elapsed());
        let started = std::time::Instant::now();
        let ops: usize = all.iter().map(|c| c.decode().operations.len()).sum();
        println!("{n} changes: {ops} ops decoded in {:?}", started.elapsed());
        let started = std::time::Instant::now();
        let r = e.shown();
        println!(
            "{n} changes: resolved in {:?} ({} proposals)",
            started.elapsed(),
            r.proposals.len()
        );
        let cache = StepCache::default();
        cache.resolve(&mut e.doc, &e.certs, &e.grants);
        e.edit(&other, T + n as i64 + 1, |p| p.sla = Some("neu".into()));
        let started = std::time::Instant::now();
        cache.resolve(&mut e.doc, &e.certs, &e.grants);
        println!(
            "{n} changes: one more resolved with the cache in {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn the_step_cache_shows_what_a_full_replay_shows() {
    let (creator, other, co) = (kp(1), kp(2), kp(3));
    let cache = StepCache::new(4, 1_000);
    let mut e = Entry::new(&creator);
    let same = |e: &mut Entry, cache: &StepCache| {
        let full = resolve_document(&mut e.doc, &e.certs, &e.grants);
        assert_eq!(cache.resolve(&mut e.doc, &e.certs, &e.grants), full);
    };
    same(&mut e, &cache);
    e.edit(&other, T + 10, |p| p.name = "Vorschlag".into());
    same(&mut e, &cache);
    e.edit(&creator, T + 20, |p| p.co_stewards = vec![org(&co)]);
    // A change that claims an earlier time than those kept sorts before them.
    e.edit(&co, T + 5, |p| p.vendor = "Zurückdatiert".into());
    same(&mut e, &cache);
    // The certificates are not kept: a delegation learnt later counts at once.
    let d = Delegation {
        issuer: org(&creator),
        delegate: other.public(),
        scope: Scope::default().with(DocKind::Product),
        not_before: UnixTime(0),
        not_after: UnixTime(i64::MAX),
    }
    .sign(&creator)
    .unwrap();
    e.certs.add_delegation(d).unwrap();
    assert_eq!(e.shown().product().unwrap().unwrap().name, "Vorschlag");
    same(&mut e, &cache);

    // The same document rebuilt without its last change (as after a revocation), then with
    // another one: the kept changes no longer hold a head of it, so it is read anew.
    let header = *e.doc.header();
    let mut rebuilt = Document::new(header);
    let kept = e.changes.len() - 1;
    for c in &e.changes[..kept] {
        let v = c.clone().verify(header.id()).unwrap();
        rebuilt
            .apply([e.certs.authorise(&header, v, UnixTime(T + 100)).unwrap()])
            .unwrap();
    }
    let mut r = Entry {
        doc: rebuilt,
        certs: e.certs.clone(),
        grants: Grants::new(),
        changes: e.changes[..kept].to_vec(),
    };
    same(&mut r, &cache);
    r.edit(&creator, T + 30, |p| p.sla = Some("99 %".into()));
    same(&mut r, &cache);
}
