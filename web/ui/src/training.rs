//! Training offers in the UI: the overview by task (`/schulungen`), the form to offer
//! training for a product and the form to rate an offer. The queries are
//! [`allmende_catalog::exchange`]; the tables are shared with the product page
//! ([`super::exchange`]).

use allmende_catalog::exchange::{self, Scope, Training, TrainingFilter};
use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::schema::{
    Score, Task, TrainingFormat, TrainingOffer, TrainingRating, Validate, WebUrl,
};
use allmende_web_kit::form::{self, Field, FormState};
use allmende_web_kit::layout::Section;
use allmende_web_kit::{Lang, html};
use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};

use super::exchange::{format_label, training_rows};
use super::forms::{
    Check, known_product, own_record, product_of_query, query_value, refs, slugs, stored_failure,
    tenant_choice, unprocessable, yes_no_options, yes_no_value,
};
use super::pages::{db, org_names};
use crate::shell::{
    Ctx, PageError, UiState, not_found, render, see_other, stats_scope, tenant, url_part,
};

type Page = Result<Response, PageError>;

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
    let sc = stats_scope(&s, None);
    let groups = db(&s, lang, move |conn| {
        Ok(exchange::trainings_by_task(conn, &filter, &sc)?)
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
    let (doc, name) = product_of_query(&s, ctx.lang, raw.as_deref()).await?;
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
    let everyone = Scope {
        anchors: s.api.anchors.to_vec(),
        include_unverified: true,
    };
    let k = key.clone();
    // Any publisher's offer may be rated, verified or not: the scope decides what counts.
    let found = db(s, lang, move |conn| {
        Ok(exchange::training(conn, &org, &k, &everyone)?)
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
