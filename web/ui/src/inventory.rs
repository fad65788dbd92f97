//! The inventory import in the UI (Bestandsaufnahme, `docs/inventory.md`): upload a
//! spreadsheet (`/bestand`), see the preview with the column mapping, the matches and every
//! error and warning by sheet, row and column, decide unclear rows and deployments the file no
//! longer lists, and import it as one signed batch. The planning and the batch are the API's
//! ([`allmende_api::inventory`]), so UI, API and CLI import alike.
//!
//! The upload is kept in memory between the preview and the import, under a random token, for
//! the organisation that uploaded it only: at most four files for at most 30 minutes
//! (`shell::Uploads`); a newer upload drops the oldest. Nothing is written before "Importieren".

use std::sync::Arc;

use allmende_api::inventory::{InventoryFailure, Options, PlanFailure};
use allmende_formats::inventory::Severity;
use allmende_formats::inventory::plan::{Action, Matched, Plan};
use allmende_protocol::ids::OrgId;
use allmende_web_kit::layout::Section;
use allmende_web_kit::{Lang, Markup, html};
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::forms::tenant_choice;
use super::pages::{db, org_names};
use crate::shell::{Ctx, PageError, UiError, UiState, int, render, tenant};

type Page = Result<Response, PageError>;

pub(crate) use crate::shell::MAX_FILE_BYTES;

fn upload_form(lang: Lang, ctx: &Ctx, tenants: Markup, problem: Option<&str>) -> Markup {
    let t = |x| lang.tr(x);
    html! {
        h1 { (t("Bestand importieren")) }
        p.lead { (t("Laden Sie die Liste Ihrer Fachverfahren als Tabelle hoch (CSV, Excel .xlsx oder OpenDocument .ods, höchstens 4 MiB). Sie sehen zuerst eine Vorschau: wie die Spalten verstanden wurden, welche Produkte gefunden wurden, und jeden Fehler mit Tabelle, Zeile und Spalte. Geschrieben wird erst, wenn Sie „Importieren“ wählen.")) }
        p { (t("Ein erneuter Import der aktualisierten Tabelle aktualisiert, beendet und ergänzt Einsätze, statt sie zu verdoppeln. Die Zuordnung der Spalten wird gemerkt.")) }
        @if let Some(p) = problem {
            div.error-summary role="alert" tabindex="-1" {
                h2 { (t("Die Datei konnte nicht gelesen werden")) }
                p id="datei-fehler" { (p) }
            }
        }
        form.edit method="post" action="/bestand" enctype="multipart/form-data" novalidate {
            input type="hidden" name="_csrf" value=(ctx.csrf);
            (tenants)
            div.field {
                label for="datei" { (t("Tabelle")) }
                p.hint id="datei-hinweis" { (t("CSV, XLSX oder ODS; die erste Tabelle mit einer Kopfzeile wird gelesen.")) }
                @if problem.is_some() {
                    input id="datei" name="datei" type="file" accept=".csv,.xlsx,.ods,text/csv" aria-describedby="datei-hinweis datei-fehler" aria-invalid="true";
                } @else {
                    input id="datei" name="datei" type="file" accept=".csv,.xlsx,.ods,text/csv" aria-describedby="datei-hinweis";
                }
            }
            div.actions {
                button type="submit" { (t("Vorschau anzeigen")) }
            }
        }
        p.muted { (t("Eine Beispieltabelle liegt der Demo bei; das Format beschreibt docs/inventory.md.")) }
    }
}

/// `GET /bestand`.
pub(super) async fn form(State(s): State<UiState>, Extension(ctx): Extension<Ctx>) -> Page {
    if let Err(r) = tenant(&s, &ctx) {
        return Ok(*r);
    }
    let lang = ctx.lang;
    let names = db(&s, lang, org_names).await?;
    let main = upload_form(
        lang,
        &ctx,
        tenant_choice(&s, &ctx, &names, &Default::default()),
        None,
    );
    Ok(render(
        &s,
        &ctx,
        Section::Organisations,
        lang.tr("Bestand importieren"),
        None,
        main,
    )
    .await
    .into_response())
}

fn failure_text(e: &InventoryFailure) -> String {
    match e {
        InventoryFailure::Plan(PlanFailure::File(e)) => e.to_string(),
        other => other.to_string(),
    }
}

/// `POST /bestand` (multipart): keeps the file and shows its preview.
pub(super) async fn upload(State(s): State<UiState>, Extension(ctx): Extension<Ctx>) -> Page {
    let lang = ctx.lang;
    let tn = match tenant(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return Ok(*r),
    };
    let refuse = |s: UiState, ctx: Ctx, msg: String| async move {
        let names = db(&s, ctx.lang, org_names).await?;
        let tenants = tenant_choice(&s, &ctx, &names, &Default::default());
        let main = upload_form(ctx.lang, &ctx, tenants, Some(&msg));
        let page = render(
            &s,
            &ctx,
            Section::Organisations,
            ctx.lang.tr("Bestand importieren"),
            None,
            main,
        )
        .await;
        Ok::<Response, PageError>((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    };
    let Some(file) = ctx.file.clone().filter(|f| !f.bytes.is_empty()) else {
        return refuse(
            s,
            ctx.clone(),
            lang.tr("Bitte wählen Sie eine Datei aus.").to_owned(),
        )
        .await;
    };
    if file.bytes.len() > MAX_FILE_BYTES {
        return refuse(
            s,
            ctx.clone(),
            lang.tr("Die Datei ist größer als 4 MiB.").to_owned(),
        )
        .await;
    }
    let plan = allmende_api::inventory::preview(
        &s.api.repo,
        tn.org,
        file.bytes.clone(),
        Options::default(),
    )
    .await;
    let plan = match plan {
        Ok(p) => p,
        Err(e) => return refuse(s, ctx.clone(), failure_text(&e)).await,
    };
    let token = s
        .uploads
        .put(tn.org, file.name.clone(), file.bytes)
        .map_err(|e| PageError(lang, e))?;
    Ok(preview_page(&s, &ctx, &token, &file.name, &plan, None)
        .await
        .into_response())
}

/// The options the preview form posts back: `choose`, `keep`, `skip_errors`, `map`.
fn posted_options(ctx: &Ctx) -> Result<Options, String> {
    let pairs = ctx
        .form
        .iter()
        .filter(|(k, _)| matches!(k.as_str(), "choose" | "keep" | "skip_errors" | "map"))
        .cloned();
    Options::from_pairs(pairs, &[])
}

/// The upload named by the form's `datei` token, for the tenant.
fn posted_upload(s: &UiState, ctx: &Ctx, org: OrgId) -> Option<(String, String, Arc<Vec<u8>>)> {
    let token = ctx
        .form
        .iter()
        .find(|(k, _)| k == "datei")
        .map(|(_, v)| v.clone())?;
    let (name, bytes) = s.uploads.get(org, &token)?;
    Some((token, name, bytes))
}

/// `POST /bestand/vorschau`: the preview again, with the user's choices.
pub(super) async fn repreview(State(s): State<UiState>, Extension(ctx): Extension<Ctx>) -> Page {
    let lang = ctx.lang;
    let tn = match tenant(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return Ok(*r),
    };
    let Some((token, name, bytes)) = posted_upload(&s, &ctx, tn.org) else {
        return gone(&s, &ctx).await;
    };
    let options = posted_options(&ctx).map_err(|m| PageError(lang, UiError::BadRequest(m)))?;
    let plan = allmende_api::inventory::preview(&s.api.repo, tn.org, bytes.to_vec(), options)
        .await
        .map_err(|e| PageError(lang, UiError::BadRequest(failure_text(&e))))?;
    Ok(preview_page(&s, &ctx, &token, &name, &plan, None)
        .await
        .into_response())
}

/// The upload expired (or belongs to another organisation): start again.
async fn gone(s: &UiState, ctx: &Ctx) -> Page {
    let lang = ctx.lang;
    let names = db(s, lang, org_names).await?;
    let tenants = tenant_choice(s, ctx, &names, &Default::default());
    let main = upload_form(
        lang,
        ctx,
        tenants,
        Some(lang.tr("Die hochgeladene Datei ist nicht mehr vorhanden (nach 30 Minuten oder nach weiteren Uploads). Bitte laden Sie sie erneut hoch.")),
    );
    let page = render(
        s,
        ctx,
        Section::Organisations,
        lang.tr("Bestand importieren"),
        None,
        main,
    )
    .await;
    Ok((StatusCode::GONE, page).into_response())
}

/// `POST /bestand/import`: plans again with the choices and writes it as one batch.
pub(super) async fn import(State(s): State<UiState>, Extension(ctx): Extension<Ctx>) -> Page {
    let lang = ctx.lang;
    let tn = match tenant(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return Ok(*r),
    };
    let Some((token, name, bytes)) = posted_upload(&s, &ctx, tn.org) else {
        return gone(&s, &ctx).await;
    };
    let options = posted_options(&ctx).map_err(|m| PageError(lang, UiError::BadRequest(m)))?;
    let done = allmende_api::inventory::import(
        &s.api.repo,
        tn.keypair.clone(),
        tn.org,
        bytes.to_vec(),
        options,
    )
    .await
    .map_err(|e| PageError(lang, UiError::BadRequest(failure_text(&e))))?;
    match done {
        Err(plan) => {
            let page = preview_page(
                &s,
                &ctx,
                &token,
                &name,
                &plan,
                Some(lang.tr("Nicht importiert: Die Vorschau hat noch Fehler oder offene Entscheidungen. Entscheiden Sie die markierten Zeilen oder lassen Sie fehlerhafte Zeilen aus.")),
            )
            .await;
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Ok((plan, written)) => {
            s.uploads.remove(&token);
            let t = |x| lang.tr(x);
            let main = html! {
                h1 { (t("Bestand importiert")) }
                p.flash role="status" { (t("Alle Änderungen wurden in einem Schritt signiert. Andere Knoten erhalten sie beim nächsten Abgleich.")) }
                dl.facts {
                    dt { (t("Datei")) } dd { (name) }
                    dt { (t("Einsätze geschrieben")) } dd { (int(lang, written.deployments as u64)) }
                    dt { (t("davon neu")) } dd { (int(lang, plan.counts.add as u64)) }
                    dt { (t("aktualisiert")) } dd { (int(lang, plan.counts.update as u64)) }
                    dt { (t("beendet")) } dd { (int(lang, plan.counts.end as u64)) }
                    dt { (t("Produkte neu angelegt")) } dd { (int(lang, written.products.len() as u64)) }
                }
                p { a href={ "/organisationen/" (format!("{:#}", tn.org)) } { (t("Zur Seite Ihrer Organisation")) } }
            };
            Ok(render(
                &s,
                &ctx,
                Section::Organisations,
                t("Bestand importiert"),
                None,
                main,
            )
            .await
            .into_response())
        }
    }
}

fn action_label(lang: Lang, a: Action) -> &'static str {
    lang.tr(match a {
        Action::Add => "neu",
        Action::Update => "aktualisieren",
        Action::Unchanged => "unverändert",
        Action::Choose => "bitte entscheiden",
        Action::Skip => "ausgelassen",
    })
}

fn matched_label(lang: Lang, m: Matched) -> &'static str {
    lang.tr(match m {
        Matched::Auto => "gefunden",
        Matched::Chosen => "gewählt",
        Matched::New => "neuer Eintrag",
        Matched::Open => "offen",
    })
}

async fn preview_page(
    s: &UiState,
    ctx: &Ctx,
    token: &str,
    name: &str,
    plan: &Plan,
    problem: Option<&str>,
) -> axum::response::Html<String> {
    let lang = ctx.lang;
    let t = |x| lang.tr(x);
    let c = &plan.counts;
    let tenant_field = ctx
        .form
        .iter()
        .find(|(k, _)| k == "_fuer")
        .map(|(_, v)| v.clone());
    let main = html! {
        h1 { (t("Vorschau des Bestands")) }
        p.lead { (name) " · " (t("Tabelle")) " „" (plan.sheet) "“ · " (t("Kopfzeile")) " " (plan.header_row) }
        @if let Some(p) = problem {
            div.error-summary role="alert" tabindex="-1" { p { (p) } }
        }
        h2 { (t("Zusammenfassung")) }
        dl.facts {
            dt { (t("Zeilen gelesen")) } dd { (int(lang, c.rows as u64)) }
            dt { (t("Einsätze neu")) } dd { (int(lang, c.add as u64)) }
            dt { (t("Einsätze aktualisieren")) } dd { (int(lang, c.update as u64)) }
            dt { (t("unverändert")) } dd { (int(lang, c.unchanged as u64)) }
            dt { (t("Einsätze beenden")) } dd { (int(lang, c.end as u64)) }
            dt { (t("Produkte neu anlegen")) } dd { (int(lang, c.new_products as u64)) }
            dt { (t("Zeilen zu entscheiden")) } dd { (int(lang, c.choose as u64)) }
            dt { (t("Fehler")) } dd { (int(lang, c.errors as u64)) }
            dt { (t("Warnungen")) } dd { (int(lang, c.warnings as u64)) }
        }
        h2 { (t("Zuordnung der Spalten")) }
        div.table-wrap { table {
            caption { (t("Wie die Spalten der Tabelle verstanden wurden")) }
            thead { tr { th scope="col" { (t("Spalte")) } th scope="col" { (t("Überschrift")) } th scope="col" { (t("Feld")) } } }
            tbody { @for (col, label) in &plan.columns { tr {
                th scope="row" { (col) }
                td { (label) }
                td { @match plan.mapping.get(col) { Some(f) => (t(f.label())), None => span.muted { (t("nicht verwendet")) } } }
            } } }
        } }
        @if !plan.issues.is_empty() {
            h2 id="meldungen" { (t("Fehler und Warnungen")) }
            div.table-wrap tabindex="0" role="region" aria-labelledby="meldungen" { table {
                thead { tr { th scope="col" { (t("Art")) } th scope="col" { (t("Stelle")) } th scope="col" { (t("Meldung")) } } }
                tbody { @for i in plan.issues.iter().take(500) { tr {
                    td { @if i.severity == Severity::Error { span.badge.warn { (t("Fehler")) } } @else { span.badge { (t("Warnung")) } } }
                    td { (i.position.to_string()) }
                    td { (i.message) }
                } } }
            } }
        }
        form.edit method="post" action="/bestand/import" novalidate {
            input type="hidden" name="_csrf" value=(ctx.csrf);
            input type="hidden" name="datei" value=(token);
            @if let Some(f) = &tenant_field { input type="hidden" name="_fuer" value=(f); }
            h2 id="zeilen" { (t("Zeilen")) }
            div.table-wrap tabindex="0" role="region" aria-labelledby="zeilen" { table {
                thead { tr {
                    th scope="col" { (t("Zeile")) } th scope="col" { (t("Produkt laut Tabelle")) }
                    th scope="col" { (t("Hersteller laut Tabelle")) } th scope="col" { (t("Aktion")) }
                    th scope="col" { (t("Produkt im Katalog")) }
                } }
                tbody { @for r in &plan.rows { tr {
                    th scope="row" { (r.row) }
                    td { (r.name) }
                    td { (r.vendor.as_deref().unwrap_or("–")) }
                    td { (action_label(lang, r.action)) }
                    td {
                        @if r.action == Action::Choose || !r.candidates.is_empty() && r.matched != Matched::Auto {
                            @let id = format!("wahl-{}", r.row);
                            label for=(id) { (t("Produkt für Zeile")) " " (r.row) }
                            select id=(id) name="choose" {
                                option value="" { (t("bitte wählen")) }
                                @for cand in &r.candidates {
                                    @let v = format!("{}:{:#}", r.row, cand.entry.id);
                                    option value=(v) selected[r.product == Some(cand.entry.id) && r.matched == Matched::Chosen] {
                                        (cand.entry.name) " (" (cand.entry.vendor) ") – " (format!("{:.0} %", cand.score * 100.0))
                                    }
                                }
                                option value=(format!("{}:new", r.row)) selected[r.matched == Matched::New && r.action != Action::Choose] { (t("neuen Eintrag anlegen")) }
                                option value=(format!("{}:skip", r.row)) { (t("Zeile auslassen")) }
                            }
                        } @else {
                            (r.product_label.as_deref().unwrap_or("–"))
                            " " span.muted { "(" (matched_label(lang, r.matched))
                                @if let Some(sc) = r.score { @if r.matched == Matched::Auto { ", " (format!("{:.0} %", sc * 100.0)) } } ")" }
                        }
                    }
                } } }
            } }
            @if !plan.ending.is_empty() {
                fieldset.field {
                    legend { (t("Einsätze, die die Tabelle nicht mehr nennt")) }
                    p.hint { (t("Sie werden beim Import beendet (Status „eingestellt“). Markieren Sie die, die bleiben sollen.")) }
                    @for e in &plan.ending {
                        @let id = format!("behalten-{}", e.key);
                        div.choice {
                            input type="checkbox" id=(id) name="keep" value=(e.key) checked[e.kept];
                            label for=(id) { (t("behalten:")) " " (e.product_name) }
                        }
                    }
                }
            }
            div.field {
                div.choice {
                    input type="checkbox" id="skip_errors" name="skip_errors" value="true";
                    label for="skip_errors" { (t("Zeilen mit Fehlern auslassen")) }
                }
            }
            div.actions {
                button type="submit" { (t("Importieren")) }
                button.secondary type="submit" formaction="/bestand/vorschau" { (t("Vorschau aktualisieren")) }
                a.button.secondary href="/bestand" { (t("Andere Datei")) }
            }
        }
    };
    render(
        s,
        ctx,
        Section::Organisations,
        t("Vorschau des Bestands"),
        None,
        main,
    )
    .await
}
