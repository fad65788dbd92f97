//! `allmende watch add|list|remove` and `allmende notices`: the watch list and the notices of
//! the node's own organisation from the command line (`docs/feeds.md`). They read and write
//! the local store directly, like the other commands; the list is local and never sent.

use allmende_catalog::follow::{self, Subject};
use allmende_protocol::ids::OrgId;
use allmende_store::datadir::DataDir;
use allmende_store::watch::{self, WatchKind};
use anyhow::bail;
use clap::Subcommand;

/// `watch …`.
#[derive(Debug, Subcommand)]
pub enum WatchCommand {
    /// Watch a product, task, organisation, Kreis or Land.
    Add {
        /// product, task, org, kreis or land.
        kind: String,
        /// Product or organisation id (64 hex), task, Kreis key (5 digits) or Land key.
        target: String,
    },
    /// The watch list with each entry's newest events.
    List {
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Stop watching an entry.
    Remove {
        /// product, task, org, kreis or land.
        kind: String,
        /// The id as added.
        target: String,
    },
}

fn kind(s: &str) -> anyhow::Result<WatchKind> {
    match WatchKind::parse(s) {
        Some(k) => Ok(k),
        None => bail!("kind {s:?}: product, task, org, kreis or land"),
    }
}

fn counted(
    conn: &rusqlite::Connection,
    anchors: &[OrgId],
    own: OrgId,
) -> anyhow::Result<Option<std::collections::HashSet<Vec<u8>>>> {
    Ok(follow::counted_orgs(conn, anchors, &[own])?)
}

/// Runs a `watch` command for the data directory's organisation.
pub fn watch_command(
    dd: &DataDir,
    c: WatchCommand,
    anchors: &[OrgId],
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let org = dd.identity()?.org;
    let repo = dd.open_repo()?;
    let conn = repo.store().connection();
    match c {
        WatchCommand::Add { kind: k, target } => {
            let k = kind(&k)?;
            let target = k
                .canonical(&target)
                .map_err(|e| anyhow::anyhow!("target: {e}"))?;
            if !follow::known(conn, k.slug(), &target)? {
                bail!("target: this node knows no {} {target}", k.slug());
            }
            let added = watch::add(conn, &org, k, &target, allmende_store::now().0)?;
            writeln!(
                out,
                "{} {} {target}",
                if added {
                    "watching"
                } else {
                    "already watching"
                },
                k.slug()
            )?;
        }
        WatchCommand::Remove { kind: k, target } => {
            let k = kind(&k)?;
            if watch::remove(conn, &org, k, &target)? {
                writeln!(out, "no longer watching {} {}", k.slug(), target.trim())?;
            } else {
                bail!("{} {} is not on the watch list", k.slug(), target.trim());
            }
        }
        WatchCommand::List { json } => {
            let counted = counted(conn, anchors, org)?;
            let mut all = Vec::new();
            for w in watch::list(conn, &org)? {
                let subject = match w.kind {
                    WatchKind::Product => Subject::Product(w.target.parse()?),
                    WatchKind::Org => Subject::Org(w.target.parse()?),
                    WatchKind::Task => Subject::Task(w.target.clone()),
                    WatchKind::Kreis => Subject::Kreis(w.target.clone()),
                    WatchKind::Land => Subject::Land(w.target.clone()),
                };
                let events = follow::events(conn, &subject, counted.as_ref(), 5)?;
                all.push((w, events));
            }
            if json {
                let v: Vec<serde_json::Value> = all
                    .iter()
                    .map(|(w, e)| serde_json::json!({ "kind": w.kind, "target": w.target, "added_at": w.added_at, "events": e }))
                    .collect();
                writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
            } else if all.is_empty() {
                writeln!(out, "the watch list is empty")?;
            } else {
                for (w, events) in &all {
                    writeln!(out, "{} {}", w.kind.slug(), w.target)?;
                    for e in events {
                        writeln!(
                            out,
                            "  {}  {}",
                            allmende_formats::atom::rfc3339(e.at),
                            allmende_formats::atom::title(e)
                        )?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// `allmende notices`: what others did around the products the organisation runs.
pub fn notices_command(
    dd: &DataDir,
    anchors: &[OrgId],
    json: bool,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let org = dd.identity()?.org;
    let repo = dd.open_repo()?;
    let conn = repo.store().connection();
    let counted = counted(conn, anchors, org)?;
    let notices = follow::notices(conn, &org, counted.as_ref(), follow::MAX_EVENTS)?;
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&notices)?)?;
    } else if notices.is_empty() {
        writeln!(out, "no notices")?;
    } else {
        for e in &notices {
            writeln!(
                out,
                "{}  {}",
                allmende_formats::atom::rfc3339(e.at),
                allmende_formats::atom::title(e)
            )?;
        }
    }
    Ok(())
}

/// Demo data for following changes (`allmende demo`), written into the node of `org` (whose
/// key is `key`): the first product it created and runs gets a current version and an end of
/// support (a notice), and its watch list holds that product and its Kreis, with a visit a day
/// ago, so that the pages show what is new.
pub fn demo(
    repo: &mut allmende_store::repo::Repo<allmende_store::store::SqliteStore>,
    key: &allmende_protocol::identity::Keypair,
    org: OrgId,
    now: allmende_protocol::schema::UnixTime,
) -> anyhow::Result<()> {
    use allmende_protocol::schema::Product;
    use allmende_store::store::Store;
    let runs = follow::products_run_by(repo.store().connection(), &org, 50)?;
    let mut chosen = None;
    for p in runs {
        if let Some(doc) = repo.store().document(&p)?
            && doc.header.owner == org
        {
            chosen = Some((p, doc.header));
            break;
        }
    }
    let Some((p, header)) = chosen else {
        return Ok(());
    };
    let json: String = repo.store().connection().query_row(
        "SELECT json FROM idx_product WHERE doc = ?1",
        [p.as_bytes().as_slice()],
        |r| r.get(0),
    )?;
    let mut product: Product = serde_json::from_str(&json)?;
    product.current_version = Some("5.2".into());
    product.support_ends = Some("2027-12-31".parse().map_err(|e| anyhow::anyhow!("{e}"))?);
    repo.edit(key, header, now, |ed| ed.put_root(&product))?;
    let conn = repo.store().connection();
    watch::add(conn, &org, WatchKind::Product, &format!("{p:#}"), now.0)?;
    let kreis: Option<String> = conn
        .query_row(
            "SELECT kreis FROM idx_org WHERE org = ?1",
            [org.as_bytes().as_slice()],
            |r| r.get(0),
        )
        .ok()
        .flatten();
    if let Some(k) = kreis {
        watch::add(conn, &org, WatchKind::Kreis, &k, now.0)?;
    }
    let yesterday = now.0 - 86_400;
    watch::mark_visit(conn, &org, watch::VisitedPage::Watch, yesterday)?;
    watch::mark_visit(conn, &org, watch::VisitedPage::Notices, yesterday)?;
    Ok(())
}
