//! `allmende import bestand FILE`: the inventory import (Bestandsaufnahme) from the command
//! line. Without `--dry-run` the plan is written as one signed batch when it is ready;
//! otherwise (and with `--dry-run`) the preview is printed: the mapping, every row's match,
//! what is added, updated and ended, and every error and warning with sheet, row and column.
//! The planning is the API's ([`allmende_api::inventory`]); the write is the repository
//! thread's batch ([`allmende_repo_thread::inventory::write_import`]) on the store directly,
//! which a running node picks up like every command-line commit.

use std::io::Read;
use std::path::{Path, PathBuf};

use allmende_api::inventory::{Options, PlanFailure, batch_of, plan_import};
use allmende_formats::inventory::Limits;
use allmende_formats::inventory::plan::{Action, Matched, Plan};
use allmende_store::datadir::DataDir;

/// `import bestand` arguments.
#[derive(Debug, clap::Args)]
pub struct BestandArgs {
    /// The inventory: CSV, XLSX or ODS.
    pub file: PathBuf,
    /// Only show the preview; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Map a column to a field, e.g. `--map C:vendor` (`--map D:` ignores D); repeatable.
    /// Fields: name, vendor, repository, version, tasks, status, since, operator, cost_once,
    /// cost_yearly, contact_role.
    #[arg(long, value_name = "COLUMN:FIELD")]
    pub map: Vec<String>,
    /// Decide a row's product: `--choose 12:new`, `--choose 12:skip` or `--choose 12:<id>`.
    #[arg(long, value_name = "ROW:CHOICE")]
    pub choose: Vec<String>,
    /// Keep a deployment the file no longer lists (its key, from the preview).
    #[arg(long, value_name = "KEY")]
    pub keep: Vec<String>,
    /// Leave rows with errors out instead of refusing the import.
    #[arg(long)]
    pub skip_errors: bool,
    /// Print the preview as JSON (as the API answers).
    #[arg(long)]
    pub json: bool,
}

/// Why `import bestand` failed.
#[derive(Debug, thiserror::Error)]
pub enum BestandError {
    /// The user's input is wrong (the file, an option, a plan that is not ready): exit code 2.
    #[error("{0}")]
    Input(String),
    /// Anything else.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<std::io::Error> for BestandError {
    fn from(e: std::io::Error) -> Self {
        Self::Other(e.into())
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, BestandError> {
    let max = Limits::default().max_bytes;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(|e| BestandError::Input(format!("{}: {e}", path.display())))?
        .take(max as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Runs `import bestand`.
pub fn run(
    dd: &DataDir,
    a: &BestandArgs,
    out: &mut dyn std::io::Write,
) -> Result<(), BestandError> {
    let id = dd.identity().map_err(anyhow::Error::from)?;
    let mut repo = dd.open_repo().map_err(anyhow::Error::from)?;
    let bytes = read_file(&a.file)?;
    let mut pairs: Vec<(String, String)> = Vec::new();
    pairs.extend(a.map.iter().map(|v| ("map".to_string(), v.clone())));
    pairs.extend(a.choose.iter().map(|v| ("choose".to_string(), v.clone())));
    pairs.extend(a.keep.iter().map(|v| ("keep".to_string(), v.clone())));
    if a.skip_errors {
        pairs.push(("skip_errors".into(), "true".into()));
    }
    let options = Options::from_pairs(pairs, &[]).map_err(BestandError::Input)?;
    let plan = match plan_import(repo.store().connection(), id.org, &bytes, &options) {
        Ok(p) => p,
        Err(PlanFailure::File(e)) => {
            return Err(BestandError::Input(format!("{}: {e}", a.file.display())));
        }
        Err(e) => return Err(anyhow::Error::from(e).into()),
    };
    if a.json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&plan).map_err(anyhow::Error::from)?
        )?;
    } else {
        print_plan(&plan, out)?;
    }
    if a.dry_run {
        writeln!(out, "Probelauf (--dry-run): nichts geschrieben.")?;
        return Ok(());
    }
    if !plan.ready {
        return Err(BestandError::Input(format!(
            "nicht importiert: {} Fehler, {} Zeilen ohne Entscheidung; Datei korrigieren, mit --choose entscheiden oder --skip-errors angeben",
            plan.counts.errors, plan.counts.choose
        )));
    }
    let (written, _) = allmende_repo_thread::inventory::write_import(
        &mut repo,
        &id.keypair,
        id.org,
        batch_of(&plan, &id.org),
        allmende_store::now(),
    )
    .map_err(anyhow::Error::from)?;
    writeln!(
        out,
        "Importiert in einem signierten Schritt: {} Einsätze geschrieben, {} Produkte angelegt.",
        written.deployments,
        written.products.len()
    )?;
    Ok(())
}

/// The preview as text.
pub fn print_plan(plan: &Plan, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let c = &plan.counts;
    writeln!(
        out,
        "Tabelle {} ({:?}), Kopfzeile {}; Zuordnung: {}",
        plan.sheet,
        plan.format,
        plan.header_row,
        plan.mapping
            .iter()
            .map(|(col, f)| format!("{col}={}", f.slug()))
            .collect::<Vec<_>>()
            .join(" ")
    )?;
    writeln!(
        out,
        "{} Zeilen ({} leere übersprungen): {} neu, {} geändert, {} unverändert, {} beendet, {} behalten, {} zu entscheiden, {} ausgelassen; {} neue Produkte; {} Fehler, {} Warnungen",
        c.rows,
        c.empty_rows,
        c.add,
        c.update,
        c.unchanged,
        c.end,
        c.keep,
        c.choose,
        c.skip,
        c.new_products,
        c.errors,
        c.warnings
    )?;
    for r in &plan.rows {
        let action = match r.action {
            Action::Add => "neu",
            Action::Update => "ändern",
            Action::Unchanged => "unverändert",
            Action::Choose => "ENTSCHEIDEN",
            Action::Skip => "ausgelassen",
        };
        let how = match (r.matched, r.score) {
            (Matched::Auto, Some(s)) => format!("gefunden {s:.2}"),
            (Matched::Chosen, _) => "gewählt".into(),
            (Matched::New, _) => "neuer Eintrag".into(),
            _ => String::new(),
        };
        writeln!(
            out,
            "  Zeile {:>4}  {:<12} {}  →  {} {}",
            r.row,
            action,
            r.name,
            r.product_label.as_deref().unwrap_or("–"),
            how
        )?;
        if r.action == Action::Choose {
            for cand in &r.candidates {
                writeln!(
                    out,
                    "              --choose {}:{:#}   {} ({}) {:.2}",
                    r.row, cand.entry.id, cand.entry.name, cand.entry.vendor, cand.score
                )?;
            }
            writeln!(
                out,
                "              --choose {}:new   (neuer Eintrag)",
                r.row
            )?;
        }
    }
    for e in &plan.ending {
        writeln!(
            out,
            "  {}: {}  (nicht mehr in der Datei{})",
            if e.kept { "behalten" } else { "beenden" },
            e.product_name,
            if e.kept {
                String::new()
            } else {
                format!("; behalten mit --keep {}", e.key)
            }
        )?;
    }
    for i in &plan.issues {
        let level = match i.severity {
            allmende_formats::inventory::Severity::Error => "Fehler",
            allmende_formats::inventory::Severity::Warning => "Warnung",
        };
        writeln!(out, "  {level}: {}: {}", i.position, i.message)?;
    }
    Ok(())
}
