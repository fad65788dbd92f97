//! A product's stewards, proposals and history in the web UI (`/produkte/{id}`,
//! `/produkte/{id}/verlauf`, and the steward's accept and decline buttons).

use allmende_protocol::ids::OrgId;
use allmende_protocol::stewardship::Decision;
use allmende_web_kit::layout::Section;
use allmende_web_kit::{Lang, Markup, html};
use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};

use crate::shell::tenant;
use crate::shell::{Ctx, PageError, UiError, UiState, not_found, render, see_other};
use crate::shell::{parse_doc, url_part};
use allmende_catalog::stewardship::{AuthorView, StewardshipView};

type Page = Result<Response, PageError>;

/// The query parameter that lists proposals by unverified authors too.
pub(super) const ALL_PROPOSALS: &str = "alle_vorschlaege";

/// Open proposals shown on a product page, newest first; the rest are counted (the API and
/// the history list every one).
const SHOWN_PROPOSALS: usize = 20;

fn internal(lang: Lang, e: allmende_api::http::ApiError) -> PageError {
    PageError::from((lang, UiError::Internal(e.to_string())))
}

/// The stewardship of product `doc` for the pages.
pub(super) async fn load(
    s: &UiState,
    lang: Lang,
    doc: allmende_protocol::ids::DocId,
    unverified: bool,
) -> Result<Option<StewardshipView>, PageError> {
    allmende_api::http::stewardship_view(&s.api, doc, unverified)
        .await
        .map_err(|e| internal(lang, e))
}

/// Whether the raw query asks for the proposals of unverified authors.
pub(super) fn wants_all(raw: Option<&str>) -> bool {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .any(|(k, v)| k == ALL_PROPOSALS && v == "1")
}

/// The organisation of this node (or a hosted member) that looks after the entry, if any:
/// its steward buttons are shown (the POST still checks who is signed in).
pub(super) fn steward_tenant(s: &UiState, v: &StewardshipView) -> Option<OrgId> {
    s.api
        .tenants
        .current()
        .iter()
        .map(|t| t.org)
        .find(|o| v.stewards.iter().any(|st| st.org == format!("{o:#}")))
}

fn badge(lang: Lang, verified: bool) -> Markup {
    html! {
        @if verified { span.badge.ok { "✓ " (lang.tr("verifiziert")) } }
        @else { span.badge.warn { (lang.tr("nicht verifiziert")) } }
    }
}

fn who(lang: Lang, a: &AuthorView) -> Markup {
    let name = a
        .name
        .clone()
        .or_else(|| a.org.as_ref().map(|o| format!("org:{}", &o[..12])))
        .unwrap_or_else(|| format!("{}:{}", lang.tr("Schlüssel"), &a.signer[..12]));
    html! {
        @match &a.org {
            Some(o) => { a href={ "/organisationen/" (o) } { (name) } },
            None => { (name) },
        }
        " " (badge(lang, a.verified))
    }
}

fn when(at: i64) -> String {
    let iso = allmende_formats::export::iso8601(allmende_protocol::schema::UnixTime(at));
    iso.replace('T', " ").trim_end_matches('Z').to_owned() + " UTC"
}

/// A field's value as a short text for a diff cell.
fn shown(lang: Lang, v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => lang.tr("(leer)").to_owned(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) if items.is_empty() => lang.tr("(leer)").to_owned(),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|i| match i {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

fn role(lang: Lang, r: &str, replaces_creator: bool) -> &'static str {
    match (r, replaces_creator) {
        ("creator", _) => lang.tr("hat den Eintrag angelegt"),
        ("co_steward", _) => lang.tr("Mitpflege, benannt von der anlegenden Organisation"),
        ("granted", true) => {
            lang.tr("vom Vertrauensanker übertragen (anstelle der anlegenden Organisation)")
        }
        _ => lang.tr("vom Vertrauensanker als Pflegende benannt"),
    }
}

fn standing(lang: Lang, s: &str) -> &'static str {
    match s {
        "steward" => lang.tr("Pflege"),
        "co_steward" => lang.tr("Mitpflege"),
        "history" => lang.tr("vor Einführung der Pflege"),
        _ => lang.tr("Vorschlag"),
    }
}

/// The product page's sections: who looks after the entry, the open proposals (with the
/// steward's buttons when `decider` is set), and where each shown value came from.
pub(super) fn sections(
    lang: Lang,
    v: &StewardshipView,
    decider: Option<OrgId>,
    csrf: &str,
    all: bool,
) -> Markup {
    let t = |x| lang.tr(x);
    let open: Vec<_> = v.proposals.iter().filter(|p| p.open).collect();
    html! {
        h2 #pflege { (t("Pflege des Eintrags")) }
        p {
            (t("Die Angaben setzen die Pflegenden; Änderungen anderer sind Vorschläge, über die sie entscheiden."))
            " " a href={ "/produkte/" (v.id) "/verlauf" } { (t("Verlauf aller Änderungen")) }
        }
        ul.stewards {
            @for st in &v.stewards {
                li {
                    a href={ "/organisationen/" (st.org) } { (st.name.clone().unwrap_or_else(|| format!("org:{}", &st.org[..12]))) }
                    " " (badge(lang, st.verified)) " · " (role(lang, &st.role, st.replaces_creator))
                }
            }
        }
        h2 #vorschlaege { (t("Änderungsvorschläge")) }
        @if open.is_empty() {
            p { (t("Keine offenen Vorschläge.")) }
        }
        @for p in open.iter().take(SHOWN_PROPOSALS) {
            article.proposal {
                h3 { (t("Vorschlag von")) " " (who(lang, &p.author)) }
                p.muted { (when(p.author.at)) }
                div.table-wrap { table {
                    caption { (t("Vorgeschlagene Änderungen")) }
                    thead { tr { th scope="col" { (t("Angabe")) } th scope="col" { (t("angezeigt")) } th scope="col" { (t("vorgeschlagen")) } } }
                    tbody { @for c in &p.changes { tr {
                        th scope="row" { (super::labels::field(lang, &c.field)) }
                        td { del { (shown(lang, &c.shown)) } }
                        td { ins { (shown(lang, &c.proposed)) } }
                    } } }
                } }
                @if let Some(org) = decider {
                    div.actions {
                        form method="post" action={ "/produkte/" (v.id) "/vorschlaege/" (p.id) "/annehmen" } {
                            (allmende_web_kit::form::csrf(csrf))
                            input type="hidden" name="_fuer" value=(format!("{org:#}"));
                            button type="submit" { (t("Vorschlag übernehmen")) }
                        }
                        form method="post" action={ "/produkte/" (v.id) "/vorschlaege/" (p.id) "/ablehnen" } {
                            (allmende_web_kit::form::csrf(csrf))
                            input type="hidden" name="_fuer" value=(format!("{org:#}"));
                            button.secondary type="submit" { (t("Vorschlag ablehnen")) }
                        }
                    }
                }
            }
        }
        @if open.len() > SHOWN_PROPOSALS {
            p.muted {
                (open.len() - SHOWN_PROPOSALS) " " (t("ältere offene Vorschläge; alle im")) " "
                a href={ "/produkte/" (v.id) "/verlauf" } { (t("Verlauf")) }
            }
        }
        @if v.hidden_unverified > 0 && !all {
            p {
                a href={ "/produkte/" (v.id) "?" (ALL_PROPOSALS) "=1#vorschlaege" } {
                    (v.hidden_unverified) " " (t("weitere Vorschläge nicht verifizierter Organisationen anzeigen"))
                }
            }
        }
        details.provenance {
            summary { (t("Herkunft der Angaben")) }
            div.table-wrap { table {
                thead { tr { th scope="col" { (t("Angabe")) } th scope="col" { (t("gesetzt von")) } th scope="col" { (t("am")) } th scope="col" { (t("vorgeschlagen von")) } } }
                tbody { @for (field, pv) in &v.fields {
                    @if !pv.value.is_null() {
                        tr {
                            th scope="row" { (super::labels::field(lang, field)) }
                            td { (who(lang, &pv.set_by)) }
                            td { (when(pv.set_by.at)) }
                            td { @match &pv.proposed_by { Some(a) => { (who(lang, a)) }, None => { "–" } } }
                        }
                    }
                } }
            } }
        }
    }
}

/// `GET /produkte/{id}/verlauf`: every change of the entry, like a wiki's history.
pub(super) async fn history(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Page {
    let lang = ctx.lang;
    let doc = parse_doc(lang, &id)?;
    let Some(v) = load(&s, lang, doc, true).await? else {
        return Err(not_found(
            lang,
            "Dieses Produkt ist auf diesem Knoten nicht bekannt.",
        ));
    };
    let t = |x| lang.tr(x);
    let name = v
        .fields
        .get("name")
        .and_then(|p| p.value.as_str())
        .unwrap_or("")
        .to_owned();
    let title = format!("{}: {name}", t("Verlauf"));
    let main = html! {
        h1 { (title) }
        p { a href={ "/produkte/" (v.id) } { (t("Zurück zum Produkt")) } }
        div.table-wrap { table {
            caption { (t("Alle Änderungen, älteste zuerst")) }
            thead { tr {
                th scope="col" { (t("Zeit")) } th scope="col" { (t("von")) } th scope="col" { (t("Art")) } th scope="col" { (t("Angaben")) }
            } }
            tbody { @for h in &v.history { tr {
                td { (when(h.author.at)) }
                td { (who(lang, &h.author)) }
                td {
                    (standing(lang, &h.standing))
                    @for (pid, d) in &h.decided {
                        br; (if d == "accepted" { t("übernimmt Vorschlag") } else { t("lehnt Vorschlag ab") }) " " span.mono { (&pid[..12]) }
                    }
                }
                td { (h.fields.iter().map(|f| super::labels::field(lang, f)).collect::<Vec<_>>().join(", ")) }
            } } }
        } }
    };
    Ok(render(&s, &ctx, Section::Products, &title, None, main)
        .await
        .into_response())
}

/// `POST /produkte/{id}/vorschlaege/{proposal}/{annehmen|ablehnen}`.
pub(super) async fn decide(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, proposal, what)): Path<(String, String, String)>,
    RawQuery(_raw): RawQuery,
) -> Page {
    let lang = ctx.lang;
    let doc = parse_doc(lang, &id)?;
    let decision = match what.as_str() {
        "annehmen" => Decision::Accepted,
        "ablehnen" => Decision::Declined,
        _ => return Err(not_found(lang, "Unter dieser Adresse gibt es keine Seite.")),
    };
    if proposal.len() != 64 || !proposal.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(not_found(lang, "Diesen Vorschlag gibt es nicht."));
    }
    let tn = match tenant(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return Ok(*r),
    };
    match allmende_api::http::decide(&s.api, &tn, doc, proposal.to_lowercase(), decision).await {
        Ok(_) => {}
        Err(e) => {
            let msg = format!(
                "{}: {e}",
                lang.tr("Der Knoten hat die Entscheidung nicht gespeichert")
            );
            return Err(PageError::from((lang, UiError::BadRequest(msg))));
        }
    }
    let flash = match decision {
        Decision::Accepted => "angenommen",
        Decision::Declined => "abgelehnt",
    };
    Ok(see_other(&format!(
        "/produkte/{:#}?gespeichert={}#vorschlaege",
        doc,
        url_part(flash)
    )))
}
