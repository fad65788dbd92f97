//! Learning from other bodies about a product: whom to ask, training offers (with the
//! training overview by task and the forms to offer and rate training) and "abgelöst durch"
//! flows. The queries are [`allmende_catalog::exchange`]; the product page shows
//! [`product_sections`].

use allmende_catalog::exchange::{self, Contact, Flows, Scope, Training, TrainingFilter};
use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::schema::{
    Score, Task, TrainingFormat, TrainingOffer, TrainingRating, Validate, WebUrl,
};
use allmende_web_kit::form::{self, Field, FormState};
use allmende_web_kit::layout::Section;
use allmende_web_kit::{Lang, Markup, html};
use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use rusqlite::Connection;

use super::forms::{
    Check, choose_product_first, known_product, own_record, query_value, refs, slugs,
    stored_failure, tenant_choice, unprocessable, yes_no_options, yes_no_value,
};
use super::pages::{db, org_names, verified_badge};
use crate::shell::{
    Ctx, PageError, UiError, UiState, dec, int, not_found, render, see_other, tenant, url_part,
};

type Page = Result<Response, PageError>;

/// What a product page shows of the exchange between bodies.
pub(super) struct ProductExchange {
    contacts: Vec<Contact>,
    trainings: Vec<Training>,
    flows: Flows,
}

/// The statistics scope of this node: attested organisations, or everyone when it follows no
/// anchor.
fn scope(anchors: &[OrgId]) -> Scope<'_> {
    Scope {
        anchors,
        include_unverified: anchors.is_empty(),
    }
}

/// Reads the contacts, training offers and flows of `doc`.
pub(super) fn load(
    conn: &Connection,
    doc: DocId,
    anchors: &[OrgId],
) -> Result<ProductExchange, UiError> {
    let sc = scope(anchors);
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
fn duration(lang: Lang, minutes: u32) -> String {
    let (h, m) = (minutes / 60, minutes % 60);
    match (h, m) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{} h", int(lang, u64::from(h))),
        (h, m) => format!("{} h {m} min", int(lang, u64::from(h))),
    }
}

fn format_label(lang: Lang, f: TrainingFormat) -> &'static str {
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
fn training_rows(lang: Lang, list: &[Training], with_product: bool) -> Markup {
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

// ---------------------------------------------------------------------------------------------
// The training overview

/// `GET /schulungen?aufgabe=…&format=…`: training offers by task.
pub(super) async fn overview(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(raw): RawQuery,
) -> Page {
    let lang = ctx.lang;
    let t = |x| lang.tr(x);
    let task_text = query_value(raw.as_deref(), "aufgabe");
    let format_text = query_value(raw.as_deref(), "format");
    let mut filter = TrainingFilter::default();
    let mut problems: Vec<&'static str> = Vec::new();
    if !task_text.trim().is_empty() {
        match task_text.parse::<Task>() {
            Ok(task) => filter.task = Some(task.as_str().to_owned()),
            Err(_) => problems.push(t(
                "Diese Aufgabe ist kein gültiger LeiKa-Schlüssel und keine Aufgabenbezeichnung.",
            )),
        }
    }
    if !format_text.is_empty() {
        match format_text.parse::<TrainingFormat>() {
            Ok(f) => filter.format = Some(f),
            Err(_) => problems.push(t("Unbekanntes Format.")),
        }
    }
    let anchors = s.api.anchors.clone();
    let groups = db(&s, lang, move |conn| {
        Ok(exchange::trainings_by_task(conn, &filter, scope(&anchors))?)
    })
    .await?;
    let formats: Vec<(&str, &str)> = std::iter::once(("", t("alle Formate")))
        .chain(
            TrainingFormat::ALL
                .iter()
                .map(|f| (f.slug(), format_label(lang, *f))),
        )
        .collect();
    let main = html! {
        h1 { (t("Schulungen")) }
        p.lead { (t("Schulungsangebote zu Produkten, die Organisationen im Netz veröffentlichen und bewerten, geordnet nach den Aufgaben der Produkte.")) }
        @for p in &problems { p.error role="alert" { (p) } }
        form.filters method="get" action="/schulungen" {
            div.field {
                label for="aufgabe" { (t("Aufgabe")) }
                input id="aufgabe" name="aufgabe" type="text" value=(task_text) aria-describedby="aufgabe-hinweis";
                p.hint id="aufgabe-hinweis" { (t("LeiKa-Schlüssel (14 Ziffern) oder Aufgabenbezeichnung")) }
            }
            div.field {
                label for="format" { (t("Format")) }
                select id="format" name="format" {
                    @for (v, l) in &formats {
                        option value=(v) selected[*v == format_text.as_str()] { (l) }
                    }
                }
            }
            div.actions { button type="submit" { (t("Anzeigen")) } }
        }
        @if groups.is_empty() {
            p { (t("Keine Schulungsangebote gefunden.")) }
        }
        @for g in &groups {
            h2 {
                @if g.task.is_empty() { (t("Ohne Aufgabe")) }
                @else { a href={ "/aufgaben/" (url_part(&g.task)) } { (g.name) } }
            }
            (training_rows(lang, &g.trainings, true))
        }
    };
    Ok(
        render(&s, &ctx, Section::Tasks, t("Schulungen"), None, main)
            .await
            .into_response(),
    )
}

// ---------------------------------------------------------------------------------------------
// Offer a training

const OFFER_LABELS: &[(&str, &str)] = &[
    ("title", "Titel"),
    ("provider", "Anbieter"),
    ("format", "Format"),
    ("duration_minutes", "Dauer (Minuten)"),
    ("cost_eur", "Kosten je Person (Euro)"),
    ("link", "Link zur Anmeldung oder Beschreibung"),
    ("roles", "Für welche Rollen"),
    ("description", "Inhalt"),
];

async fn offer_page(
    s: &UiState,
    ctx: &Ctx,
    doc: DocId,
    name: &str,
    st: &FormState,
) -> Result<axum::response::Html<String>, PageError> {
    let lang = ctx.lang;
    let names = db(s, lang, org_names).await?;
    let t = |x| lang.tr(x);
    let labels: Vec<(&str, &str)> = OFFER_LABELS.iter().map(|(f, l)| (*f, t(l))).collect();
    let formats = slugs(TrainingFormat::ALL, |f| f.slug(), lang);
    let title = format!("{}: {name}", t("Schulung anbieten"));
    let main = html! {
        h1 { (title) }
        (form::summary(lang, st, &labels))
        form.edit method="post" action="/schulungen/neu" novalidate {
            (form::csrf(&ctx.csrf))
            input type="hidden" name="produkt" value=(format!("{doc:#}"));
            (tenant_choice(s, ctx, &names, st))
            (form::input(lang, st, Field::new("title", t("Titel")).required(), "text"))
            (form::input(lang, st, Field::new("provider", t("Anbieter")).required().hint(t("Hersteller, IT-Dienstleister, Studieninstitut, …")), "text"))
            (form::select(lang, st, Field::new("format", t("Format")).required(), &refs(&formats)))
            (form::input(lang, st, Field::new("duration_minutes", t("Dauer (Minuten)")).hint(t("Ganze Minuten, z. B. 360 für einen Schulungstag")), "text"))
            (form::input(lang, st, Field::new("cost_eur", t("Kosten je Person (Euro)")).hint(t("Ganze Euro; 0 für kostenlos")), "text"))
            (form::input(lang, st, Field::new("link", t("Link zur Anmeldung oder Beschreibung")).hint(t("https://…")), "url"))
            (form::textarea(lang, st, Field::new("roles", t("Für welche Rollen")).hint(t("Eine Rolle je Zeile, z. B. Sachbearbeitung, Administration; keine Personennamen")), 3))
            (form::textarea(lang, st, Field::new("description", t("Inhalt")), 4))
            div.actions {
                button type="submit" { (t("Schulung veröffentlichen")) }
                a.button.secondary href={ "/produkte/" (format!("{doc:#}")) } { (t("Abbrechen")) }
            }
        }
    };
    Ok(render(s, ctx, Section::Products, &title, None, main).await)
}

/// `GET /schulungen/neu?produkt=…`.
pub(super) async fn offer_new(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(raw): RawQuery,
) -> Page {
    if let Err(r) = tenant(&s, &ctx) {
        return Ok(*r);
    }
    let id = query_value(raw.as_deref(), "produkt");
    if id.is_empty() {
        return Err(choose_product_first(ctx.lang));
    }
    let (doc, name) = known_product(&s, ctx.lang, &id).await?;
    let st = FormState::with_values(vec![("format".into(), "online".into())]);
    Ok(offer_page(&s, &ctx, doc, &name, &st).await?.into_response())
}

fn parse_offer(st: &mut FormState, lang: Lang, product: DocId) -> Option<TrainingOffer> {
    let mut c = Check { st, lang };
    let title = c.text("title", 200, true);
    let provider = c.text("provider", 200, true);
    let format = c.choice::<TrainingFormat>("format");
    let duration_minutes = c
        .number("duration_minutes", u64::from(u32::MAX))
        .and_then(|m| u32::try_from(m).ok());
    let cost_eur = c.number("cost_eur", 10_000_000_000);
    let link = match c.st.value("link").trim() {
        "" => None,
        v => match v.parse::<WebUrl>() {
            Ok(u) => Some(u),
            Err(_) => {
                c.st.fail(
                    "link",
                    lang.tr("Bitte eine vollständige Adresse mit http:// oder https:// angeben."),
                );
                None
            }
        },
    };
    let roles: Vec<String> =
        c.st.value("roles")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
    let description = c.text("description", 5_000, false);
    let offer = TrainingOffer {
        product,
        title: title?,
        provider: provider?,
        format: format?,
        duration_minutes,
        cost_eur,
        link,
        roles,
        description,
    };
    c.validate(
        &offer,
        &[
            "title",
            "provider",
            "duration_minutes",
            "cost_eur",
            "roles",
            "description",
        ],
    );
    (!c.st.has_errors()).then_some(offer)
}

/// `POST /schulungen/neu`.
pub(super) async fn offer_create(State(s): State<UiState>, Extension(ctx): Extension<Ctx>) -> Page {
    let lang = ctx.lang;
    let tn = match tenant(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return Ok(*r),
    };
    let mut st = FormState::with_values(ctx.form.clone());
    let (doc, name) = known_product(&s, lang, st.value("produkt")).await?;
    let Some(offer) = parse_offer(&mut st, lang, doc) else {
        return Ok(unprocessable(offer_page(&s, &ctx, doc, &name, &st).await?));
    };
    let key = allmende_api::http::record_key().map_err(|e| stored_failure(lang, e))?;
    let header = DocHeader::singleton(DocKind::Experience, tn.org);
    allmende_api::http::write(&s.api, &tn, header, move |ed| ed.put(&key, &offer))
        .await
        .map_err(|e| stored_failure(lang, e))?;
    Ok(see_other(&format!(
        "/produkte/{doc:#}?gespeichert=schulung#schulungen"
    )))
}

// ---------------------------------------------------------------------------------------------
// Rate a training

/// The offer `org`/`key` as the rating form shows it, or 404.
async fn known_offer(
    s: &UiState,
    lang: Lang,
    org: &str,
    key: &str,
) -> Result<(OrgId, String, Training), PageError> {
    let unknown = || {
        not_found(
            lang,
            "Dieses Schulungsangebot ist auf diesem Knoten nicht bekannt.",
        )
    };
    let org: OrgId = org.parse().map_err(|_| unknown())?;
    let key: String = key.chars().take(64).collect();
    let anchors = s.api.anchors.clone();
    let k = key.clone();
    // Any publisher's offer may be rated, verified or not: the scope decides what counts.
    let found = db(s, lang, move |conn| {
        Ok(exchange::training(
            conn,
            &org,
            &k,
            Scope {
                anchors: &anchors,
                include_unverified: true,
            },
        )?)
    })
    .await?;
    let training = found.ok_or_else(unknown)?;
    Ok((org, key, training))
}

async fn rate_page(
    s: &UiState,
    ctx: &Ctx,
    training: &Training,
    st: &FormState,
) -> Result<axum::response::Html<String>, PageError> {
    let lang = ctx.lang;
    let names = db(s, lang, org_names).await?;
    let t = |x| lang.tr(x);
    let labels = [
        ("score", t("Gesamturteil")),
        ("recommend", t("Würden Sie die Schulung weiterempfehlen?")),
        ("text", t("Erfahrung")),
    ];
    let scores: Vec<(&str, &str)> = vec![
        ("", t("bitte wählen")),
        ("1", "1"),
        ("2", "2"),
        ("3", "3"),
        ("4", "4"),
        ("5", "5"),
    ];
    let title = format!("{}: {}", t("Schulung bewerten"), training.offer.title);
    let action = format!(
        "/schulungen/{}/{}/bewerten",
        training.org,
        url_part(&training.key)
    );
    let main = html! {
        h1 { (title) }
        p.lead { (training.offer.provider) " · " (format_label(lang, training.offer.format))
            @if let Some(p) = &training.product_name { " · " a href={ "/produkte/" (format!("{:#}", training.offer.product)) } { (p) } } }
        (form::summary(lang, st, &labels))
        form.edit method="post" action=(action) novalidate {
            (form::csrf(&ctx.csrf))
            (tenant_choice(s, ctx, &names, st))
            (form::select(lang, st, Field::new("score", t("Gesamturteil")).required().hint(t("1 = mangelhaft, 5 = sehr gut")), &scores))
            (form::choices(st, Field::new("recommend", t("Würden Sie die Schulung weiterempfehlen?")), &yes_no_options(lang), false))
            (form::textarea(lang, st, Field::new("text", t("Erfahrung")).hint(t("Was hat die Schulung gebracht? Bitte keine personenbezogenen Daten.")), 4))
            div.actions {
                button type="submit" { (t("Bewertung veröffentlichen")) }
                a.button.secondary href="/schulungen" { (t("Abbrechen")) }
            }
        }
    };
    Ok(render(s, ctx, Section::Tasks, &title, None, main).await)
}

/// `GET /schulungen/{org}/{key}/bewerten`.
pub(super) async fn rate_form(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    Path((org, key)): Path<(String, String)>,
) -> Page {
    let tn = match tenant(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return Ok(*r),
    };
    let (_, _, training) = known_offer(&s, ctx.lang, &org, &key).await?;
    let own_key = format!("{}/{}", training.org, training.key);
    let existing: Option<TrainingRating> =
        own_record(&s, ctx.lang, "idx_training_rating", tn.org, own_key).await?;
    let st = match existing {
        Some(r) => FormState::with_values(vec![
            ("score".into(), r.score.get().to_string()),
            ("recommend".into(), yes_no_value(r.recommend)),
            ("text".into(), r.text.unwrap_or_default()),
        ]),
        None => FormState::with_values(vec![("recommend".into(), String::new())]),
    };
    Ok(rate_page(&s, &ctx, &training, &st).await?.into_response())
}

/// `POST /schulungen/{org}/{key}/bewerten`.
pub(super) async fn rate_save(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    Path((org, key)): Path<(String, String)>,
) -> Page {
    let lang = ctx.lang;
    let tn = match tenant(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return Ok(*r),
    };
    let (offer_org, offer_key, training) = known_offer(&s, lang, &org, &key).await?;
    let mut st = FormState::with_values(ctx.form.clone());
    let mut c = Check { st: &mut st, lang };
    let score = match c
        .st
        .value("score")
        .parse::<u8>()
        .ok()
        .and_then(|n| Score::try_from(n).ok())
    {
        Some(sc) => Some(sc),
        None => {
            c.st.fail("score", lang.tr("Bitte eine Punktzahl von 1 bis 5 wählen."));
            None
        }
    };
    let recommend = c.yes_no("recommend");
    let text = c.text("text", 2_000, false);
    let rating = score.map(|score| TrainingRating {
        org: offer_org,
        offer: offer_key,
        score,
        recommend,
        text,
    });
    if let Some(r) = &rating {
        c.validate(r, &["score", "text"]);
    }
    let Some(rating) = rating.filter(|r| !st.has_errors() && r.validate().is_ok()) else {
        return Ok(unprocessable(rate_page(&s, &ctx, &training, &st).await?));
    };
    let header = DocHeader::singleton(DocKind::Experience, tn.org);
    let key = rating.key();
    allmende_api::http::write(&s.api, &tn, header, move |ed| ed.put(&key, &rating))
        .await
        .map_err(|e| stored_failure(lang, e))?;
    Ok(see_other(&format!(
        "/produkte/{:#}?gespeichert=schulungsbewertung#schulungen",
        training.offer.product
    )))
}
