//! Learning from other bodies about a product: whom to ask, training offers (with the
//! training overview by task and the forms to offer and rate training) and "abgelöst durch"
//! flows. The queries are [`allmende_catalog::exchange`]; the product page shows
//! [`product_sections`], and `training.rs` holds the overview and the forms.

use allmende_catalog::exchange::{self, Contact, Flows, Scope, Training, TrainingFilter};
use allmende_protocol::ids::DocId;
use allmende_protocol::schema::TrainingFormat;
use allmende_web_kit::{Lang, Markup, html};
use rusqlite::Connection;

use crate::shell::{UiError, dec, int, url_part, verified_badge};

/// What a product page shows of the exchange between bodies.
pub(super) struct ProductExchange {
    contacts: Vec<Contact>,
    trainings: Vec<Training>,
    flows: Flows,
}

/// Reads the contacts, training offers and flows of `doc` in the statistics scope `sc`.
pub(super) fn load(conn: &Connection, doc: DocId, sc: &Scope) -> Result<ProductExchange, UiError> {
    Ok(ProductExchange {
        contacts: exchange::contacts(conn, doc, sc)?,
        trainings: exchange::trainings(
            conn,
            &TrainingFilter {
                product: Some(doc),
                ..Default::default()
            },
            sc,
        )?,
        flows: exchange::flows(conn, doc, sc)?,
    })
}

/// "90 min", "6 h", "1 h 30 min".
pub(super) fn duration(lang: Lang, minutes: u32) -> String {
    let (h, m) = (minutes / 60, minutes % 60);
    match (h, m) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{} h", int(lang, u64::from(h))),
        (h, m) => format!("{} h {m} min", int(lang, u64::from(h))),
    }
}

pub(super) fn format_label(lang: Lang, f: TrainingFormat) -> &'static str {
    lang.tr(match f {
        TrainingFormat::InPerson => "Präsenz",
        TrainingFormat::Online => "Online (live)",
        TrainingFormat::SelfPaced => "Selbstlernkurs",
        TrainingFormat::Hybrid => "Hybrid",
    })
}

fn status_label(lang: Lang, slug: &str) -> String {
    super::labels::value(lang, slug)
}

fn cost(lang: Lang, eur: Option<u64>) -> String {
    match eur {
        Some(0) => lang.tr("kostenlos").to_owned(),
        Some(c) => format!("{} €", int(lang, c)),
        None => "–".to_owned(),
    }
}

fn rating_cell(lang: Lang, t: &Training) -> Markup {
    html! {
        @match t.mean_score {
            Some(m) => {
                (dec(lang, m)) " / 5 "
                span.muted { "(" (int(lang, t.ratings)) " " (lang.tr(if t.ratings == 1 { "Bewertung" } else { "Bewertungen" })) ")" }
            }
            None => span.muted { (lang.tr("noch keine Bewertung")) },
        }
    }
}

/// The rows of a training table (with or without the product column).
pub(super) fn training_rows(lang: Lang, list: &[Training], with_product: bool) -> Markup {
    let t = |x| lang.tr(x);
    html! {
        div.table-wrap { table {
            thead { tr {
                th scope="col" { (t("Schulung")) }
                @if with_product { th scope="col" { (t("Produkt")) } }
                th scope="col" { (t("Anbieter")) } th scope="col" { (t("Format")) }
                th scope="col" { (t("Dauer")) } th scope="col" { (t("Kosten je Person")) }
                th scope="col" { (t("Für")) } th scope="col" { (t("Bewertung")) }
                th scope="col" { (t("Veröffentlicht von")) }
            } }
            tbody { @for tr_ in list {
                @let o = &tr_.offer;
                tr {
                    th scope="row" {
                        @match &o.link {
                            Some(u) => a href=(u.as_str()) rel="noopener noreferrer" { (o.title) },
                            None => (o.title),
                        }
                        @if let Some(d) = &o.description { br; span.muted { (d.chars().take(200).collect::<String>()) } }
                    }
                    @if with_product {
                        td { a href={ "/produkte/" (format!("{:#}", o.product)) } { (tr_.product_name.clone().unwrap_or_else(|| t("unbekanntes Produkt").to_owned())) } }
                    }
                    td { (o.provider) }
                    td { (format_label(lang, o.format)) }
                    td { (o.duration_minutes.map(|m| duration(lang, m)).unwrap_or_else(|| "–".into())) }
                    td.num { (cost(lang, o.cost_eur)) }
                    td { @if o.roles.is_empty() { "–" } @else { (o.roles.join(", ")) } }
                    td {
                        (rating_cell(lang, tr_)) " "
                        a href={ "/schulungen/" (tr_.org) "/" (url_part(&tr_.key)) "/bewerten" }
                            aria-label={ (t("Schulung bewerten")) ": " (o.title) } { (t("bewerten")) }
                    }
                    td {
                        a href={ "/organisationen/" (tr_.org) } { (tr_.org_name.clone().unwrap_or_else(|| format!("org:{}", &tr_.org[..12]))) }
                        " " (verified_badge(lang, tr_.verified))
                    }
                }
            } }
        } }
    }
}

/// The product page's sections: whom to ask, training, and what replaced it or what it replaced.
pub(super) fn product_sections(lang: Lang, product_id: &str, x: &ProductExchange) -> Markup {
    let t = |s| lang.tr(s);
    let name = |n: &Option<String>, id: &str| {
        n.clone()
            .unwrap_or_else(|| format!("doc:{}", &id[..id.len().min(12)]))
    };
    html! {
        h2 id="erfahrungsaustausch" { (t("Erfahrungsaustausch")) }
        @if x.contacts.is_empty() {
            p { (t("Noch keine Organisation hat sich zu diesem Produkt als ansprechbar gemeldet.")) " "
                (t("Wer es einsetzt, kann das beim Einsatz angeben.")) }
        } @else {
            p.muted { (t("Diese Organisationen setzen das Produkt ein und beantworten Fragen anderer Behörden dazu.")) }
            div.table-wrap { table {
                thead { tr { th scope="col" { (t("Organisation")) } th scope="col" { (t("Ansprechbare Stelle")) } th scope="col" { (t("Status")) } } }
                tbody { @for c in &x.contacts { tr {
                    th scope="row" {
                        a href={ "/organisationen/" (c.org) } { (c.name.clone().unwrap_or_else(|| format!("org:{}", &c.org[..12]))) }
                        " " (verified_badge(lang, c.verified))
                    }
                    td { (c.contact_role.clone().unwrap_or_else(|| "–".into())) }
                    td { (status_label(lang, &c.status)) }
                } } }
            } }
        }
        h2 id="abloesungen" { (t("Ablösungen")) }
        @if x.flows.replaced_by.is_empty() && x.flows.replaced.is_empty() {
            p { (t("Keine Ablösungen gemeldet.")) }
        } @else {
            @if !x.flows.replaced_by.is_empty() {
                h3 { (t("Abgelöst durch")) }
                ul.flows { @for f in &x.flows.replaced_by { li {
                    (name(&f.from_name, &f.from)) " → " a href={ "/produkte/" (f.to) } { (name(&f.to_name, &f.to)) } ": "
                    (int(lang, f.organisations)) " " (if f.organisations == 1 { t("Organisation") } else { t("Organisationen") })
                    @if !f.reasons.is_empty() { ul { @for r in &f.reasons { li.quote { (r) } } } }
                } } }
            }
            @if !x.flows.replaced.is_empty() {
                h3 { (t("Löste ab")) }
                ul.flows { @for f in &x.flows.replaced { li {
                    a href={ "/produkte/" (f.from) } { (name(&f.from_name, &f.from)) } " → " (name(&f.to_name, &f.to)) ": "
                    (int(lang, f.organisations)) " " (if f.organisations == 1 { t("Organisation") } else { t("Organisationen") })
                    @if !f.reasons.is_empty() { ul { @for r in &f.reasons { li.quote { (r) } } } }
                } } }
            }
        }
        h2 id="schulungen" { (t("Schulungen")) }
        div.actions {
            a.button.secondary href={ "/schulungen/neu?produkt=" (product_id) } { (t("Schulung anbieten")) }
            a.button.secondary href="/schulungen" { (t("Alle Schulungen nach Aufgabe")) }
        }
        @if x.trainings.is_empty() {
            p { (t("Noch keine Schulungsangebote.")) }
        } @else {
            (training_rows(lang, &x.trainings, false))
        }
    }
}
