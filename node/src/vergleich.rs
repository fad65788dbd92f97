//! `allmende vergleich` (alias `compare`): the Nachbarvergleich on the command line, read from
//! the data directory's store ([`allmende_catalog::compare`], `docs/nachbarvergleich.md`).

use std::io::Write;

use allmende_catalog::compare::{self, CompareError, Comparison, Group};
use allmende_catalog::stats::Scope;
use allmende_protocol::ids::OrgId;
use allmende_store::datadir::DataDir;
use clap::Args;

/// Why `vergleich` failed: the user's input (exit code 2, the CLI maps it to its `BadInput`)
/// or anything else.
#[derive(Debug, thiserror::Error)]
pub enum VergleichError {
    /// Bad input; the message names the flag.
    #[error("{0}")]
    Refused(String),
    /// Anything else.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<std::io::Error> for VergleichError {
    fn from(e: std::io::Error) -> Self {
        VergleichError::Failed(e.into())
    }
}

/// `vergleich` flags.
#[derive(Debug, Args)]
pub struct VergleichArgs {
    /// The organisation to compare (default: this node's own, or the `--member`).
    #[arg(long, value_name = "ORG_ID")]
    pub org: Option<OrgId>,
    /// The comparison group: kreis, land or groesse (same kind and size class of official
    /// population); default: the first of these that can be formed.
    #[arg(long, alias = "group", value_name = "GRUPPE", value_parser = parse_group)]
    pub gruppe: Option<Group>,
    /// Count organisations no trust anchor attested too (always so when the node follows no
    /// anchor).
    #[arg(long, alias = "include-unverified")]
    pub alle: bool,
    /// Print the comparison as JSON (the API's shape).
    #[arg(long)]
    pub json: bool,
}

fn parse_group(s: &str) -> Result<Group, String> {
    s.parse()
}

/// Runs `allmende vergleich`.
pub fn run(
    dd: &DataDir,
    a: VergleichArgs,
    anchors: &[OrgId],
    out: &mut dyn Write,
) -> Result<(), VergleichError> {
    if !dd.db_path().exists() {
        return Err(anyhow::anyhow!("{} holds no store", dd.path().display()).into());
    }
    let org = match a.org {
        Some(o) => o,
        None => {
            dd.identity()
                .map_err(|e| {
                    VergleichError::Refused(format!(
                        "--org: no organisation given and none of this data directory ({e})"
                    ))
                })?
                .org
        }
    };
    let repo = dd.open_repo().map_err(anyhow::Error::from)?;
    let scope = Scope {
        anchors: anchors.to_vec(),
        include_unverified: a.alle || anchors.is_empty(),
    };
    let c = compare::compare(repo.store().connection(), &scope, &org, a.gruppe).map_err(|e| {
        match e {
            CompareError::UnknownOrg(_) => VergleichError::Refused(format!("--org: {e}")),
            CompareError::GroupUnavailable { group, reason } => VergleichError::Refused(format!(
                "--gruppe: die Gruppe {group} lässt sich für diese Organisation nicht bilden: {reason}"
            )),
            CompareError::Query(q) => VergleichError::Failed(anyhow::anyhow!("{q}")),
        }
    })?;
    if a.json {
        let json = serde_json::to_string_pretty(&c).map_err(anyhow::Error::from)?;
        writeln!(out, "{json}")?;
    } else {
        write!(out, "{}", table(&c))?;
    }
    Ok(())
}

fn eur(v: Option<u64>) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v} €"))
}

/// The comparison as readable text: the group, the differences, then per task a table.
pub fn table(c: &Comparison) -> String {
    let mut s = String::new();
    let name = if c.name.is_empty() {
        &c.organisation
    } else {
        &c.name
    };
    s.push_str(&format!("Nachbarvergleich: {name}\n"));
    s.push_str(&format!(
        "Gruppe: {} – {} ({} Organisationen, {} mit Einsätzen{})\n",
        c.group.label(),
        c.group_label,
        c.neighbours,
        c.neighbours_with_deployments,
        if c.include_unverified {
            "; auch nicht bestätigte gezählt"
        } else {
            "; nur bestätigte gezählt"
        }
    ));
    let others: Vec<String> = c
        .groups
        .iter()
        .map(|g| match &g.reason {
            None => format!("{} (--gruppe {})", g.label, g.group.key()),
            Some(_) => format!("{} (nicht möglich)", g.label),
        })
        .collect();
    s.push_str(&format!("Gruppen: {}\n", others.join(", ")));
    if !c.missing_tasks.is_empty() {
        s.push_str("\nAufgaben ohne eigenes Produkt:\n");
        for t in &c.missing_tasks {
            let n = c
                .tasks
                .iter()
                .find(|x| &x.task == t)
                .map_or(0, |x| x.neighbours);
            s.push_str(&format!("  {t}: {n} Nachbarn setzen etwas ein\n"));
        }
    }
    if !c.rare.is_empty() {
        s.push_str("\nEigene Produkte, die wenige Nachbarn einsetzen:\n");
        for r in &c.rare {
            s.push_str(&format!(
                "  {} ({}): {} von {} Nachbarn\n",
                r.name, r.task, r.organisations, r.neighbours
            ));
        }
    }
    if !c.left.is_empty() {
        s.push_str("\nVon Nachbarn abgelöst:\n");
        for l in &c.left {
            s.push_str(&format!(
                "  {}: {} abgelöst, {} weiter im Einsatz{}\n",
                l.name,
                l.left,
                l.organisations,
                if l.mine {
                    " (bei Ihnen noch im Einsatz)"
                } else {
                    ""
                }
            ));
        }
    }
    for t in &c.tasks {
        s.push_str(&format!(
            "\n{} – {} von {} Nachbarn{}\n",
            t.name,
            t.neighbours,
            c.neighbours_with_deployments,
            if t.mine.is_empty() {
                ", kein eigenes Produkt"
            } else {
                ""
            }
        ));
        let rows: Vec<[String; 7]> = t
            .products
            .iter()
            .map(|p| {
                [
                    p.name.clone(),
                    if p.mine { "ja" } else { "" }.into(),
                    p.organisations.to_string(),
                    p.left.to_string(),
                    p.score.map_or_else(|| "–".into(), |x| format!("{x:.1}")),
                    eur(p.costs.median_yearly_eur),
                    eur(p.costs.median_once_eur),
                ]
            })
            .collect();
        let header = [
            "Produkt",
            "eigenes",
            "Nachbarn",
            "abgelöst",
            "Bewertung",
            "jährlich (Median)",
            "einmalig (Median)",
        ];
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for r in &rows {
            for (w, cell) in widths.iter_mut().zip(r) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<&str>| {
            let mut l = String::from(" ");
            for (cell, w) in cells.iter().zip(&widths) {
                l.push(' ');
                l.push_str(cell);
                l.push_str(&" ".repeat(w - cell.chars().count()));
                l.push_str("  ");
            }
            format!("{}\n", l.trim_end())
        };
        s.push_str(&line(header.to_vec()));
        for r in &rows {
            s.push_str(&line(r.iter().map(String::as_str).collect()));
        }
        if t.products_omitted > 0 {
            s.push_str(&format!(
                "  … {} weitere Produkte nicht aufgeführt\n",
                t.products_omitted
            ));
        }
    }
    if c.tasks.is_empty() {
        s.push_str("\nKeine Einsätze mit einer Aufgabe, weder eigene noch der Nachbarn.\n");
    }
    s
}
