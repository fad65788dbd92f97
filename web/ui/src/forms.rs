//! The publishing forms: product (create, edit), deployment (add, edit), rating and
//! Nachnutzung report, plus sign-in for a UI reachable beyond loopback.
//!
//! Each form is one `FormState`: shown empty or prefilled, posted, checked field by field with
//! German messages, and on any error shown again with everything the user typed (status 422).
//! Only a form without errors is signed and stored, then the browser is redirected (303) to
//! the product page, which confirms it in a status message.

use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::schema::{
    Date, Deployment, DeploymentStatus, Efa, HostingModel, Integration, IntegrationStatus, Land,
    Licence, Obstacle, OperatedBy, Product, ProductKind, Rating, RatingDimension, ReuseOutcome,
    ReuseReport, Score, Task, Validate, WebUrl,
};
use allmende_web_kit::form::{self, Field, FormState};
use allmende_web_kit::layout::Section;
use allmende_web_kit::{Lang, Markup, html};
use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use rusqlite::Connection;

use super::pages::{db, org_names};
use crate::shell::{
    Ctx, OrPage, PageError, SESSION_COOKIE, Session, UiError, UiState, not_found, render, see_other,
};
use crate::shell::{parse_doc, tenant, url_part};
use allmende_api::http::Tenant;
use allmende_store::store::Store;

type Page = Result<Response, PageError>;

// ---------------------------------------------------------------------------------------------
// Who publishes

/// The "publish for" choice, shown when this machine's user may publish for several tenants.
pub(super) fn tenant_choice(
    s: &UiState,
    ctx: &Ctx,
    names: &std::collections::HashMap<Vec<u8>, String>,
    st: &FormState,
) -> Markup {
    let tenants = s.api.tenants.current();
    let all_tenants = match ctx.session {
        Some(Session::Node) => true,
        Some(Session::Org(_)) => false,
        None => s.demo,
    };
    if !all_tenants || tenants.len() < 2 {
        return html! {};
    }
    let options: Vec<(String, String)> = tenants
        .iter()
        .map(|t| {
            (
                format!("{:#}", t.org),
                names
                    .get(t.org.as_bytes().as_slice())
                    .cloned()
                    .unwrap_or_else(|| format!("{}", t.org)),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = options
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    form::select(
        ctx.lang,
        st,
        Field::new("_fuer", ctx.lang.tr("Veröffentlichen für")),
        &refs,
    )
}

pub(super) fn stored_failure(lang: Lang, e: allmende_api::http::ApiError) -> PageError {
    let status = e.status();
    let msg = format!(
        "{}: {e}",
        lang.tr("Der Knoten hat die Änderung nicht gespeichert")
    );
    if status == StatusCode::FORBIDDEN {
        PageError::from((lang, UiError::BadRequest(msg)))
    } else {
        PageError::from((lang, UiError::Internal(msg)))
    }
}

// ---------------------------------------------------------------------------------------------
// Field parsing with German messages

pub(super) struct Check<'a> {
    pub(super) st: &'a mut FormState,
    pub(super) lang: Lang,
}

impl Check<'_> {
    pub(super) fn text(&mut self, name: &str, max: usize, required: bool) -> Option<String> {
        let v = self.st.value(name).trim().to_owned();
        if v.is_empty() {
            if required {
                self.st.fail(name, self.lang.tr("Bitte ausfüllen."));
            }
            return None;
        }
        if v.chars().count() > max {
            self.st.fail(
                name,
                format!("{} {max}", self.lang.tr("Zu lang; höchstens Zeichen:")),
            );
            return None;
        }
        Some(v)
    }

    fn lines(&mut self, name: &str) -> Vec<String> {
        self.st
            .value(name)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Organisation ids, one a line; a line that is none fails the field.
    fn orgs(&mut self, name: &str) -> Vec<OrgId> {
        let mut out = Vec::new();
        for line in self.lines(name) {
            match line.parse::<OrgId>() {
                Ok(o) if !out.contains(&o) => out.push(o),
                Ok(_) => {}
                Err(_) => {
                    self.st.fail(
                        name,
                        self.lang.tr("Keine gültige Organisations-ID. Bitte je Zeile die 64 Hexadezimalzeichen der ID angeben, wie sie auf der Seite der Organisation steht."),
                    );
                    return Vec::new();
                }
            }
        }
        out
    }

    fn tasks(&mut self, name: &str) -> Vec<Task> {
        let mut out = Vec::new();
        for line in self.lines(name) {
            match line.parse::<Task>() {
                Ok(t) => out.push(t),
                Err(_) => {
                    self.st.fail(name, format!("„{}“: {}", line.chars().take(40).collect::<String>(), self.lang.tr("keine gültige Aufgabe. LeiKa-Schlüssel haben 14 Ziffern; sonst eine Bezeichnung ohne Steuerzeichen.")));
                }
            }
        }
        out
    }

    fn url(&mut self, name: &str) -> Option<WebUrl> {
        let v = self.text(name, 2000, false)?;
        match v.parse::<WebUrl>() {
            Ok(u) => Some(u),
            Err(_) => {
                self.st.fail(
                    name,
                    self.lang
                        .tr("Keine gültige Web-Adresse; sie beginnt mit https:// oder http://."),
                );
                None
            }
        }
    }

    pub(super) fn date(&mut self, name: &str) -> Option<Date> {
        let v = self.text(name, 20, false)?;
        match v.parse::<Date>() {
            Ok(d) => Some(d),
            Err(_) => {
                self.st.fail(
                    name,
                    self.lang
                        .tr("Kein gültiges Datum; bitte im Format JJJJ-MM-TT, z. B. 2024-03-01."),
                );
                None
            }
        }
    }

    pub(super) fn number(&mut self, name: &str, max: u64) -> Option<u64> {
        let raw = self.text(name, 30, false)?;
        let cleaned: String = raw
            .chars()
            .filter(|c| !matches!(c, '.' | ' ' | '€' | '\u{a0}'))
            .collect();
        match cleaned.parse::<u64>() {
            Ok(n) if n <= max => Some(n),
            Ok(_) => {
                self.st.fail(
                    name,
                    format!("{} {max}", self.lang.tr("Zu groß; höchstens")),
                );
                None
            }
            Err(_) => {
                self.st.fail(
                    name,
                    self.lang
                        .tr("Bitte eine ganze Zahl angeben (ohne Nachkommastellen)."),
                );
                None
            }
        }
    }

    pub(super) fn yes_no(&mut self, name: &str) -> Option<bool> {
        match self.st.value(name) {
            "ja" => Some(true),
            "nein" => Some(false),
            _ => None,
        }
    }

    pub(super) fn choice<T: std::str::FromStr>(&mut self, name: &str) -> Option<T> {
        match self.st.value(name).parse::<T>() {
            Ok(v) => Some(v),
            Err(_) => {
                self.st.fail(
                    name,
                    self.lang.tr("Bitte einen Eintrag aus der Liste wählen."),
                );
                None
            }
        }
    }

    /// Every value of a multiple choice, each once; an unknown value fails the field.
    fn many<T: std::str::FromStr + PartialEq>(&mut self, name: &str) -> Vec<T> {
        let mut out = Vec::new();
        let mut bad = false;
        for v in self.st.all(name) {
            match v.parse::<T>() {
                Ok(x) if !out.contains(&x) => out.push(x),
                Ok(_) => {}
                Err(_) => bad = true,
            }
        }
        if bad {
            self.st.fail(
                name,
                self.lang.tr("Bitte einen Eintrag aus der Liste wählen."),
            );
        }
        out
    }

    /// An optional choice: nothing when empty, a message when not in the list.
    fn optional<T: std::str::FromStr>(&mut self, name: &str) -> Option<T> {
        if self.st.value(name).is_empty() {
            return None;
        }
        self.choice(name)
    }

    /// Maps a record's own cross-field rule to a message at its field.
    pub(super) fn validate(&mut self, v: &impl Validate, fields: &[&str]) {
        if let Err(e) = v.validate() {
            let field = fields
                .iter()
                .find(|f| e.field.starts_with(**f))
                .copied()
                .unwrap_or(fields.first().copied().unwrap_or("_"));
            self.st.fail(
                field,
                format!("{} ({})", self.lang.tr("Ungültige Angabe"), e.message),
            );
        }
    }
}

const YES_NO: &[(&str, &str)] = &[("ja", "Ja"), ("nein", "Nein"), ("", "Keine Angabe")];

pub(super) fn yes_no_options(lang: Lang) -> Vec<(&'static str, &'static str)> {
    YES_NO.iter().map(|(v, l)| (*v, lang.tr(l))).collect()
}

pub(super) fn yes_no_value(b: Option<bool>) -> String {
    match b {
        Some(true) => "ja".into(),
        Some(false) => "nein".into(),
        None => String::new(),
    }
}

pub(super) fn slugs<T: Copy>(
    all: &[T],
    slug: impl Fn(&T) -> &'static str,
    lang: Lang,
) -> Vec<(&'static str, String)> {
    all.iter()
        .map(|v| (slug(v), super::labels::value(lang, slug(v))))
        .collect()
}

pub(super) fn refs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(a, b)| (*a, b.as_str())).collect()
}

pub(super) fn unprocessable(page: axum::response::Html<String>) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
}

// ---------------------------------------------------------------------------------------------
// Product

const PRODUCT_FIELDS: &[&str] = &[
    "name",
    "vendor",
    "kind",
    "description",
    "licence",
    "tasks",
    "categories",
    "standards",
    "hosting",
    "repository",
    "website",
    "prerequisites",
    "cost_model",
    "sla",
    "efa_land",
    "reuse_route",
    "accessibility_statement",
    "dpia_available",
    "test_instance",
    "co_stewards",
    "current_version",
    "support_ends",
];

fn product_state(p: &Product) -> FormState {
    let mut v: Vec<(String, String)> = vec![
        ("name".into(), p.name.clone()),
        ("vendor".into(), p.vendor.clone()),
        ("kind".into(), p.kind.slug().into()),
        (
            "description".into(),
            p.description.clone().unwrap_or_default(),
        ),
        (
            "licence".into(),
            p.licence
                .as_ref()
                .map(|l| l.as_str().to_owned())
                .unwrap_or_default(),
        ),
        (
            "tasks".into(),
            p.tasks
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        ("categories".into(), p.categories.join("\n")),
        ("standards".into(), p.standards.join("\n")),
        (
            "repository".into(),
            p.repository
                .as_ref()
                .map(|u| u.as_str().to_owned())
                .unwrap_or_default(),
        ),
        (
            "website".into(),
            p.website
                .as_ref()
                .map(|u| u.as_str().to_owned())
                .unwrap_or_default(),
        ),
        (
            "prerequisites".into(),
            p.prerequisites.clone().unwrap_or_default(),
        ),
        (
            "cost_model".into(),
            p.cost_model.clone().unwrap_or_default(),
        ),
        ("sla".into(), p.sla.clone().unwrap_or_default()),
        (
            "efa_land".into(),
            p.efa
                .as_ref()
                .map(|e| e.providing_land.code().to_owned())
                .unwrap_or_default(),
        ),
        (
            "reuse_route".into(),
            p.efa
                .as_ref()
                .and_then(|e| e.reuse_route.clone())
                .unwrap_or_default(),
        ),
        (
            "accessibility_statement".into(),
            p.accessibility_statement
                .as_ref()
                .map(|u| u.as_str().to_owned())
                .unwrap_or_default(),
        ),
        ("dpia_available".into(), yes_no_value(p.dpia_available)),
        ("test_instance".into(), yes_no_value(p.test_instance)),
        (
            "current_version".into(),
            p.current_version.clone().unwrap_or_default(),
        ),
        (
            "support_ends".into(),
            p.support_ends
                .as_ref()
                .map(|d| d.as_str().to_owned())
                .unwrap_or_default(),
        ),
        (
            "co_stewards".into(),
            p.co_stewards
                .iter()
                .map(|o| format!("{o:#}"))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    ];
    for h in &p.hosting {
        v.push(("hosting".into(), h.slug().into()));
    }
    FormState::with_values(v)
}

/// Reads a product from the form; `base` keeps the fields the form does not show.
fn parse_product(st: &mut FormState, lang: Lang, base: Option<&Product>) -> Option<Product> {
    let mut c = Check { st, lang };
    let name = c.text("name", 200, true);
    let vendor = c.text("vendor", 200, true);
    let kind = c.choice::<ProductKind>("kind");
    let description = c.text("description", 20_000, false);
    let licence = c.text("licence", 200, false).and_then(|l| match l.parse::<Licence>() {
        Ok(l) => Some(l),
        Err(_) => {
            c.st.fail("licence", lang.tr("Keine gültige Lizenzangabe. Bitte eine SPDX-Kennung angeben, z. B. EUPL-1.2, MIT, GPL-3.0-or-later oder LicenseRef-proprietary für eine proprietäre Lizenz."));
            None
        }
    });
    let tasks = c.tasks("tasks");
    let categories = c.lines("categories");
    let standards = c.lines("standards");
    let hosting = c.many::<HostingModel>("hosting");
    let repository = c.url("repository");
    let website = c.url("website");
    let accessibility_statement = c.url("accessibility_statement");
    let prerequisites = c.text("prerequisites", 5_000, false);
    let cost_model = c.text("cost_model", 2_000, false);
    let sla = c.text("sla", 2_000, false);
    let reuse_route = c.text("reuse_route", 500, false);
    let efa = c.optional::<Land>("efa_land").map(|providing_land| Efa {
        providing_land,
        reuse_route,
        available_from: base
            .and_then(|b| b.efa.as_ref())
            .and_then(|e| e.available_from.clone()),
    });
    let dpia_available = c.yes_no("dpia_available");
    let test_instance = c.yes_no("test_instance");
    let co_stewards = c.orgs("co_stewards");
    let current_version = c.text("current_version", 100, false);
    let support_ends = c.date("support_ends");
    let p = Product {
        name: name?,
        vendor: vendor?,
        kind: kind?,
        description,
        categories,
        tasks,
        licence,
        repository,
        website,
        standards,
        hosting,
        prerequisites,
        cost_model,
        sla,
        efa,
        accessibility_statement,
        dpia_available,
        test_instance,
        vendor_org: base.and_then(|b| b.vendor_org),
        same_as: base.and_then(|b| b.same_as),
        co_stewards,
        current_version,
        support_ends,
    };
    c.validate(&p, PRODUCT_FIELDS);
    (!c.st.has_errors()).then_some(p)
}

struct ProductFormView<'a> {
    title: &'a str,
    action: String,
    submit: &'a str,
    similar: Vec<allmende_catalog::query::ProductHit>,
}

/// What a POST of a form with the task picker asks for besides saving.
enum PickerStep {
    /// Save the form.
    Save,
    /// Show the form again with the picker's hits (the search button, or Enter in the
    /// search field).
    Search,
    /// Add the ticked hits to the tasks field and show the form again.
    Take,
}

/// The picker step of a posted form; `Take` moves the ticked tasks into the `tasks` field
/// (one a line, without repeats) and empties the search.
fn picker_step(st: &mut FormState) -> PickerStep {
    match st.value("_aktion") {
        "aufgaben-uebernehmen" => {
            let picked: Vec<String> = st
                .values
                .iter()
                .filter(|(k, _)| k == "aufgabe_neu")
                .map(|(_, v)| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect();
            let mut lines: Vec<String> = st
                .value("tasks")
                .lines()
                .map(|l| l.trim().to_owned())
                .filter(|l| !l.is_empty())
                .collect();
            for p in picked {
                if !lines.contains(&p) {
                    lines.push(p);
                }
            }
            st.values.retain(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "tasks" | "aufgabe_neu" | "aufgabe_suche" | "_aktion"
                )
            });
            st.values.push(("tasks".into(), lines.join("\n")));
            PickerStep::Take
        }
        "aufgaben-suchen" => PickerStep::Search,
        _ if !st.value("aufgabe_suche").trim().is_empty() => PickerStep::Search,
        _ => PickerStep::Save,
    }
}

/// The task picker: a search over the names of the shipped OZG/LeiKa catalogue, inside the
/// form so that nothing typed is lost, without JavaScript (a search posts the form, which
/// comes back with the hits as check boxes; "übernehmen" adds the ticked ones to the tasks).
fn task_picker(lang: Lang, st: &FormState) -> Markup {
    let t = |x| lang.tr(x);
    let q = st.value("aufgabe_suche").trim().to_owned();
    let hits = if q.is_empty() {
        vec![]
    } else {
        allmende_catalog::refdata::search_tasks(&q, 20)
    };
    html! {
        section.task-picker aria-labelledby="aufgabensuche-titel" {
            h2 id="aufgabensuche-titel" { (t("Aufgabe im OZG-/LeiKa-Katalog suchen")) }
            div.field {
                label for="aufgabe_suche" { (t("Suchbegriff")) }
                p.hint id="aufgabe_suche-hinweis" { (t("z. B. Abbruchgenehmigung, Hundesteuer oder ein LeiKa-Schlüssel")) }
                input id="aufgabe_suche" name="aufgabe_suche" type="search" value=(q) aria-describedby="aufgabe_suche-hinweis";
            }
            button.secondary type="submit" name="_aktion" value="aufgaben-suchen" formnovalidate { (t("Aufgaben suchen")) }
            @if !q.is_empty() {
                @if hits.is_empty() {
                    p role="status" { (t("Keine Aufgabe im Katalog passt zu diesem Suchbegriff.")) }
                } @else {
                    fieldset {
                        legend { (t("Gefundene Aufgaben")) " (" (hits.len()) ")" }
                        @for (i, h) in hits.iter().enumerate() {
                            div.choice {
                                input type="checkbox" id={ "aufgabe-neu-" (i) } name="aufgabe_neu" value=(h.task);
                                label for={ "aufgabe-neu-" (i) } {
                                    (h.name) " "
                                    span.muted { "(" (crate::labels::task_key(&h.task).unwrap_or_default())
                                        @if let Some(o) = &h.ozg { " · " (t("OZG-Leistung")) ": " (o) }
                                        ")" }
                                }
                            }
                        }
                        button.secondary type="submit" name="_aktion" value="aufgaben-uebernehmen" formnovalidate { (t("Ausgewählte Aufgaben übernehmen")) }
                    }
                }
            }
        }
    }
}

async fn product_page_form(
    s: &UiState,
    ctx: &Ctx,
    st: &FormState,
    view: ProductFormView<'_>,
) -> Result<axum::response::Html<String>, PageError> {
    let lang = ctx.lang;
    let names = db(s, lang, org_names).await?;
    let t = |x| lang.tr(x);
    let kinds = slugs(ProductKind::ALL, |k| k.slug(), lang);
    let hosting = slugs(HostingModel::ALL, |h| h.slug(), lang);
    let mut lands: Vec<(&'static str, String)> = vec![("", t("kein EfA-Angebot").to_owned())];
    lands.extend(Land::all().map(|l| (l.code(), l.name().to_owned())));
    let labels: Vec<(&str, &str)> = vec![
        ("name", t("Name")),
        ("vendor", t("Hersteller")),
        ("kind", t("Art")),
        ("description", t("Beschreibung")),
        ("licence", t("Lizenz (SPDX-Kennung)")),
        ("tasks", t("Aufgaben")),
        ("categories", t("Kategorien")),
        ("standards", t("Standards und Schnittstellen")),
        ("hosting", t("Betrieb")),
        ("repository", t("Repository")),
        ("website", t("Website")),
        ("prerequisites", t("Voraussetzungen")),
        ("cost_model", t("Kostenmodell")),
        ("sla", t("Service-Level")),
        ("efa_land", t("Einer für Alle: anbietendes Land")),
        ("reuse_route", t("Weg zur Nachnutzung")),
        (
            "accessibility_statement",
            t("Erklärung zur Barrierefreiheit"),
        ),
        (
            "dpia_available",
            t("Datenschutz-Folgenabschätzung verfügbar"),
        ),
        ("test_instance", t("Testinstanz verfügbar")),
        ("co_stewards", t("Mitpflegende Organisationen")),
        ("current_version", t("Aktuelle Version")),
        ("support_ends", t("Support endet am")),
    ];
    let label = |n: &str| labels.iter().find(|(k, _)| *k == n).map_or("", |(_, l)| *l);
    let main = html! {
        h1 { (view.title) }
        (form::summary(lang, st, &labels))
        @if !view.similar.is_empty() {
            div.error-summary role="alert" aria-labelledby="aehnlich-titel" {
                h2 id="aehnlich-titel" { (t("Dieses Produkt gibt es wahrscheinlich schon")) }
                p { (t("Bitte prüfen Sie, ob einer dieser Einträge gemeint ist. Doppelte Einträge zersplittern Erfahrungen und Bewertungen.")) }
                ul { @for h in &view.similar { li { a href={ "/produkte/" (h.id) } { (h.name) " – " (h.vendor) } } } }
                div.choice {
                    input type="checkbox" id="trotzdem" name="trotzdem" value="1" form="produktformular";
                    label for="trotzdem" { (t("Keiner davon ist gemeint: trotzdem neu anlegen")) }
                }
            }
        }
        form.edit id="produktformular" method="post" action=(view.action) novalidate {
            (form::csrf(&ctx.csrf))
            (tenant_choice(s, ctx, &names, st))
            (form::input(lang, st, Field::new("name", label("name")).required(), "text"))
            (form::input(lang, st, Field::new("vendor", label("vendor")).required().hint(t("Hersteller oder herausgebende Stelle")), "text"))
            (form::select(lang, st, Field::new("kind", label("kind")).required(), &refs(&kinds)))
            (form::textarea(lang, st, Field::new("description", label("description")), 6))
            (form::input(lang, st, Field::new("licence", label("licence")).hint(t("z. B. EUPL-1.2, MIT oder LicenseRef-proprietary")), "text"))
            (form::textarea(lang, st, Field::new("tasks", label("tasks")).hint(t("Eine je Zeile: LeiKa-Schlüssel (14 Ziffern) oder Bezeichnung")), 3))
            (form::textarea(lang, st, Field::new("categories", label("categories")).hint(t("Eine je Zeile, z. B. ein OZG-Themenfeld")), 2))
            (form::textarea(lang, st, Field::new("standards", label("standards")).hint(t("Einer je Zeile, z. B. XBau, FIT-Connect, OSCI")), 3))
            (form::choices(st, Field::new("hosting", label("hosting")), &refs(&hosting), true))
            (form::input(lang, st, Field::new("repository", label("repository")), "url"))
            (form::input(lang, st, Field::new("website", label("website")), "url"))
            (form::textarea(lang, st, Field::new("prerequisites", label("prerequisites")), 3))
            (form::textarea(lang, st, Field::new("cost_model", label("cost_model")), 2))
            (form::textarea(lang, st, Field::new("sla", label("sla")), 2))
            (form::select(lang, st, Field::new("efa_land", label("efa_land")), &refs(&lands)))
            (form::input(lang, st, Field::new("reuse_route", label("reuse_route")).hint(t("z. B. FIT-Store, Kooperationsvertrag")), "text"))
            (form::input(lang, st, Field::new("accessibility_statement", label("accessibility_statement")), "url"))
            (form::choices(st, Field::new("dpia_available", label("dpia_available")), &yes_no_options(lang), false))
            (form::choices(st, Field::new("test_instance", label("test_instance")), &yes_no_options(lang), false))
            (form::input(lang, st, Field::new("current_version", label("current_version")).hint(t("Die zuletzt vom Hersteller veröffentlichte Version, z. B. 4.2")), "text"))
            (form::input(lang, st, Field::new("support_ends", label("support_ends")).hint(t("Abkündigung: Datum im Format JJJJ-MM-TT")), "text"))
            (form::textarea(lang, st, Field::new("co_stewards", label("co_stewards")).hint(t("Organisationen, die den Eintrag mit Ihnen pflegen, z. B. der Hersteller: je Zeile eine Organisations-ID. Festlegen kann das nur, wer den Eintrag angelegt hat; von anderen ist es ein Vorschlag.")), 2))
            div.actions {
                button type="submit" { (view.submit) }
                a.button.secondary href="/produkte" { (t("Abbrechen")) }
            }
            (task_picker(lang, st))
        }
    };
    Ok(render(s, ctx, Section::Products, view.title, None, main).await)
}

pub(super) async fn product_new(State(s): State<UiState>, Extension(ctx): Extension<Ctx>) -> Page {
    if let Err(r) = tenant(&s, &ctx) {
        return Ok(*r);
    }
    let st = FormState::with_values(vec![("kind".into(), "software".into())]);
    let t = |x| ctx.lang.tr(x);
    let view = ProductFormView {
        title: t("Produkt anlegen"),
        action: "/produkte/neu".into(),
        submit: t("Produkt anlegen"),
        similar: vec![],
    };
    Ok(product_page_form(&s, &ctx, &st, view)
        .await?
        .into_response())
}

pub(super) async fn product_create(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
) -> Page {
    let lang = ctx.lang;
    let tn = match tenant(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return Ok(*r),
    };
    let mut st = FormState::with_values(ctx.form.clone());
    let t = |x| lang.tr(x);
    let view = |similar| ProductFormView {
        title: t("Produkt anlegen"),
        action: "/produkte/neu".into(),
        submit: t("Produkt anlegen"),
        similar,
    };
    if !matches!(picker_step(&mut st), PickerStep::Save) {
        return Ok(product_page_form(&s, &ctx, &st, view(vec![]))
            .await?
            .into_response());
    }
    let Some(product) = parse_product(&mut st, lang, None) else {
        return Ok(unprocessable(
            product_page_form(&s, &ctx, &st, view(vec![])).await?,
        ));
    };
    if st.value("trotzdem") != "1" {
        let (name, vendor) = (product.name.clone(), product.vendor.clone());
        let similar = db(&s, lang, move |c| {
            Ok(allmende_catalog::query::similar(c, &name, &vendor)?)
        })
        .await?;
        if !similar.is_empty() {
            return Ok(unprocessable(
                product_page_form(&s, &ctx, &st, view(similar)).await?,
            ));
        }
    }
    let nonce = allmende_store::datadir::random_bytes::<16>()
        .map_err(|e| PageError::from((lang, UiError::Internal(e.to_string()))))?;
    let header = DocHeader::product(tn.org, nonce);
    allmende_api::http::write(&s.api, &tn, header, move |ed| ed.put_root(&product))
        .await
        .map_err(|e| stored_failure(lang, e))?;
    // A change by an organisation that does not look after the entry is a proposal.
    let (doc, org) = (header.id(), tn.org);
    let steward = s
        .api
        .repo
        .call(move |st| st.repo().is_steward(&doc, org))
        .await
        .map_err(|e| stored_failure(lang, e.into()))?
        .map_err(|e| stored_failure(lang, allmende_api::http::map_repo(e)))?;
    Ok(see_other(&format!(
        "/produkte/{doc:#}?gespeichert={}",
        if steward { "produkt" } else { "vorschlag" }
    )))
}

async fn load_product_for_edit(
    s: &UiState,
    lang: Lang,
    id: &str,
) -> Result<(DocHeader, Product), PageError> {
    let doc = parse_doc(lang, id)?;
    let found = s
        .api
        .repo
        .call(move |st| -> Result<Option<(DocHeader, Product)>, UiError> {
            let Some(stored) = st
                .repo()
                .store()
                .document(&doc)
                .map_err(|e| UiError::Internal(e.to_string()))?
            else {
                return Ok(None);
            };
            if stored.header.kind != DocKind::Product {
                return Ok(None);
            }
            let json: Option<String> = st
                .repo()
                .store()
                .connection()
                .query_row(
                    "SELECT json FROM idx_product WHERE doc = ?1",
                    [doc.as_bytes().as_slice()],
                    |r| r.get(0),
                )
                .ok();
            Ok(json
                .and_then(|j| serde_json::from_str(&j).ok())
                .map(|p| (stored.header, p)))
        })
        .await
        .or_page(lang)?
        .or_page(lang)?;
    found.ok_or_else(|| not_found(lang, "Dieses Produkt ist auf diesem Knoten nicht bekannt."))
}

pub(super) async fn product_edit(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Page {
    if let Err(r) = tenant(&s, &ctx) {
        return Ok(*r);
    }
    let (header, p) = load_product_for_edit(&s, ctx.lang, &id).await?;
    let st = product_state(&p);
    let t = |x| ctx.lang.tr(x);
    let title = format!("{}: {}", t("Produkt bearbeiten"), p.name);
    let view = ProductFormView {
        title: &title,
        action: format!("/produkte/{:#}/bearbeiten", header.id()),
        submit: t("Änderungen veröffentlichen"),
        similar: vec![],
    };
    Ok(product_page_form(&s, &ctx, &st, view)
        .await?
        .into_response())
}

pub(super) async fn product_update(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Page {
    let lang = ctx.lang;
    let tn = match tenant(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return Ok(*r),
    };
    let (header, old) = load_product_for_edit(&s, lang, &id).await?;
    let mut st = FormState::with_values(ctx.form.clone());
    let t = |x| lang.tr(x);
    let title = format!("{}: {}", t("Produkt bearbeiten"), old.name);
    let view = || ProductFormView {
        title: &title,
        action: format!("/produkte/{:#}/bearbeiten", header.id()),
        submit: t("Änderungen veröffentlichen"),
        similar: vec![],
    };
    if !matches!(picker_step(&mut st), PickerStep::Save) {
        return Ok(product_page_form(&s, &ctx, &st, view())
            .await?
            .into_response());
    }
    let Some(product) = parse_product(&mut st, lang, Some(&old)) else {
        return Ok(unprocessable(
            product_page_form(&s, &ctx, &st, view()).await?,
        ));
    };
    allmende_api::http::write(&s.api, &tn, header, move |ed| ed.put_root(&product))
        .await
        .map_err(|e| stored_failure(lang, e))?;
    Ok(see_other(&format!(
        "/produkte/{:#}?gespeichert=produkt",
        header.id()
    )))
}

// ---------------------------------------------------------------------------------------------
// Rating

fn product_name(conn: &Connection, doc: &DocId) -> Result<Option<String>, UiError> {
    match conn.query_row(
        "SELECT name FROM idx_product WHERE doc = ?1",
        [doc.as_bytes().as_slice()],
        |r| r.get(0),
    ) {
        Ok(n) => Ok(Some(n)),
        Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn known_product(
    s: &UiState,
    lang: Lang,
    id: &str,
) -> Result<(DocId, String), PageError> {
    let doc = parse_doc(lang, id.trim())?;
    let name = db(s, lang, move |c| product_name(c, &doc)).await?;
    name.map(|n| (doc, n))
        .ok_or_else(|| not_found(lang, "Dieses Produkt ist auf diesem Knoten nicht bekannt."))
}

/// The tenant's stored record `key` in `table`, if any.
pub(super) async fn own_record<T: serde::de::DeserializeOwned + Send + 'static>(
    s: &UiState,
    lang: Lang,
    table: &'static str,
    org: OrgId,
    key: String,
) -> Result<Option<T>, PageError> {
    db(s, lang, move |c| {
        let json: Option<String> = match c.query_row(
            &format!(
                "SELECT json FROM {table} WHERE {} AND key = ?2",
                allmende_catalog::query::OWN_ROWS
            ),
            rusqlite::params![org.as_bytes().as_slice(), key],
            |r| r.get(0),
        ) {
            Ok(j) => Some(j),
            Err(rusqlite::Error::QueryReturnedNoRows) => None,
            Err(e) => return Err(e.into()),
        };
        Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
    })
    .await
}

fn rating_labels(lang: Lang) -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<(&'static str, &'static str)> = RatingDimension::ALL
        .iter()
        .map(|d| (d.slug(), dimension_label(lang, *d)))
        .collect();
    v.push((
        "recommend",
        lang.tr("Würden Sie das Produkt weiterempfehlen?"),
    ));
    v.push(("text", lang.tr("Erfahrungsbericht")));
    v.push(("since", lang.tr("Im Einsatz seit")));
    v
}

fn dimension_label(lang: Lang, d: RatingDimension) -> &'static str {
    lang.tr(match d {
        RatingDimension::Functionality => "Funktionalität",
        RatingDimension::Usability => "Bedienbarkeit",
        RatingDimension::Interoperability => "Interoperabilität",
        RatingDimension::Support => "Support",
        RatingDimension::Stability => "Stabilität",
        RatingDimension::ValueForMoney => "Preis-Leistung",
        RatingDimension::Accessibility => "Barrierefreiheit",
    })
}

async fn rating_page(
    s: &UiState,
    ctx: &Ctx,
    doc: DocId,
    name: &str,
    st: &FormState,
) -> Result<axum::response::Html<String>, PageError> {
    let lang = ctx.lang;
    let names = db(s, lang, org_names).await?;
    let t = |x| lang.tr(x);
    let scores: Vec<(&str, &str)> = vec![
        ("", t("keine Angabe")),
        ("1", t("1 – mangelhaft")),
        ("2", t("2 – ausreichend")),
        ("3", t("3 – befriedigend")),
        ("4", t("4 – gut")),
        ("5", t("5 – sehr gut")),
    ];
    let labels = rating_labels(lang);
    let title = format!("{}: {name}", t("Bewertung"));
    let main = html! {
        h1 { (title) }
        p { (t("Ihre Bewertung wird mit dem Schlüssel Ihrer Organisation signiert und im Netzwerk veröffentlicht. Eine Organisation hat je Produkt eine Bewertung; eine neue ersetzt die alte.")) }
        (form::summary(lang, st, &labels))
        form.edit method="post" action={ "/produkte/" (format!("{doc:#}")) "/bewerten" } novalidate {
            (form::csrf(&ctx.csrf))
            (tenant_choice(s, ctx, &names, st))
            fieldset.field {
                legend { (t("Punktzahlen (1 = mangelhaft, 5 = sehr gut)")) }
                @for d in RatingDimension::ALL {
                    (form::select(lang, st, Field::new(d.slug(), dimension_label(lang, *d)), &scores))
                }
            }
            (form::choices(st, Field::new("recommend", t("Würden Sie das Produkt weiterempfehlen?")), &[("ja", t("Ja")), ("nein", t("Nein")), ("", t("Keine Angabe"))], false))
            (form::textarea(lang, st, Field::new("text", t("Erfahrungsbericht")).hint(t("Was lief gut, was nicht? Bitte keine personenbezogenen Daten.")), 6))
            (form::input(lang, st, Field::new("since", t("Im Einsatz seit")).hint(t("Datum im Format JJJJ-MM-TT, z. B. 2023-01-15")), "text"))
            div.actions {
                button type="submit" { (t("Bewertung veröffentlichen")) }
                a.button.secondary href={ "/produkte/" (format!("{doc:#}")) } { (t("Abbrechen")) }
            }
        }
    };
    Ok(render(s, ctx, Section::Products, &title, None, main).await)
}

pub(super) async fn rating_form(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Page {
    let tn = match tenant(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return Ok(*r),
    };
    let (doc, name) = known_product(&s, ctx.lang, &id).await?;
    let existing: Option<Rating> =
        own_record(&s, ctx.lang, "idx_rating", tn.org, format!("{doc:#}")).await?;
    let st = match existing {
        Some(r) => {
            let mut v: Vec<(String, String)> = r
                .scores
                .iter()
                .map(|(d, sc)| (d.slug().to_owned(), sc.get().to_string()))
                .collect();
            v.push(("recommend".into(), yes_no_value(r.recommend)));
            v.push(("text".into(), r.text.unwrap_or_default()));
            v.push((
                "since".into(),
                r.since.map(|d| d.as_str().to_owned()).unwrap_or_default(),
            ));
            FormState::with_values(v)
        }
        None => FormState::with_values(vec![("recommend".into(), String::new())]),
    };
    Ok(rating_page(&s, &ctx, doc, &name, &st)
        .await?
        .into_response())
}

pub(super) async fn rating_save(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Page {
    let lang = ctx.lang;
    let tn = match tenant(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return Ok(*r),
    };
    let (doc, name) = known_product(&s, lang, &id).await?;
    let mut st = FormState::with_values(ctx.form.clone());
    let mut c = Check { st: &mut st, lang };
    let mut scores = std::collections::BTreeMap::new();
    for d in RatingDimension::ALL {
        match c.st.value(d.slug()) {
            "" => {}
            v => match v.parse::<u8>().ok().and_then(|n| Score::try_from(n).ok()) {
                Some(sc) => {
                    scores.insert(*d, sc);
                }
                None => c.st.fail(
                    d.slug(),
                    lang.tr("Bitte eine Punktzahl von 1 bis 5 wählen."),
                ),
            },
        }
    }
    let recommend = c.yes_no("recommend");
    let text = c.text("text", 10_000, false);
    let since = c.date("since");
    let rating = Rating {
        product: doc,
        scores,
        recommend,
        text,
        since,
    };
    if rating.scores.is_empty()
        && rating.recommend.is_none()
        && rating.text.is_none()
        && !c.st.has_errors()
    {
        c.st.fail(RatingDimension::Functionality.slug(), lang.tr("Bitte mindestens eine Punktzahl, eine Empfehlung oder einen Erfahrungsbericht angeben."));
    }
    c.validate(&rating, &["functionality", "text"]);
    if st.has_errors() {
        return Ok(unprocessable(rating_page(&s, &ctx, doc, &name, &st).await?));
    }
    let header = DocHeader::singleton(DocKind::Experience, tn.org);
    let key = format!("{doc:#}");
    allmende_api::http::write(&s.api, &tn, header, move |ed| ed.put(&key, &rating))
        .await
        .map_err(|e| stored_failure(lang, e))?;
    Ok(see_other(&format!(
        "/produkte/{doc:#}?gespeichert=bewertung"
    )))
}

// ---------------------------------------------------------------------------------------------
// Deployment

/// Products to choose an integration partner from (by name; a long catalog is cut).
fn partner_products(conn: &Connection, except: &DocId) -> Result<Vec<(String, String)>, UiError> {
    let mut stmt = conn.prepare("SELECT doc, name, vendor FROM idx_product WHERE doc != ?1 ORDER BY name COLLATE NOCASE LIMIT 2000")?;
    let rows = stmt.query_map([except.as_bytes().as_slice()], |r| {
        Ok((
            hex::encode(r.get::<_, Vec<u8>>(0)?),
            format!("{} ({})", r.get::<_, String>(1)?, r.get::<_, String>(2)?),
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// IT-Dienstleister known to this node.
fn providers(conn: &Connection) -> Result<Vec<(String, String)>, UiError> {
    let mut stmt = conn.prepare(
        "SELECT org, name FROM idx_org WHERE kind = 'it-dienstleister' ORDER BY name LIMIT 500",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((hex::encode(r.get::<_, Vec<u8>>(0)?), r.get::<_, String>(1)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

const INTEGRATION_ROWS: usize = 3;

fn deployment_state(d: &Deployment) -> FormState {
    let mut v: Vec<(String, String)> = vec![
        ("status".into(), d.status.slug().into()),
        ("version".into(), d.version.clone().unwrap_or_default()),
        (
            "since".into(),
            d.since
                .as_ref()
                .map(|x| x.as_str().to_owned())
                .unwrap_or_default(),
        ),
        (
            "tasks".into(),
            d.tasks
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        (
            "operated_by".into(),
            match &d.operated_by {
                OperatedBy::Itself => "self".into(),
                OperatedBy::Saas => "saas".into(),
                OperatedBy::ItDienstleister { org } => format!("{org:#}"),
            },
        ),
        ("end_to_end".into(), yes_no_value(d.end_to_end)),
        (
            "cost_once_eur".into(),
            d.cost_once_eur.map(|c| c.to_string()).unwrap_or_default(),
        ),
        (
            "cost_yearly_eur".into(),
            d.cost_yearly_eur.map(|c| c.to_string()).unwrap_or_default(),
        ),
        (
            "contact_role".into(),
            d.contact_role.clone().unwrap_or_default(),
        ),
        ("exchange_ok".into(), yes_no_value(d.exchange_ok)),
        (
            "until".into(),
            d.until
                .as_ref()
                .map(|x| x.as_str().to_owned())
                .unwrap_or_default(),
        ),
        (
            "replaced_by".into(),
            d.replaced_by.map(|p| format!("{p:#}")).unwrap_or_default(),
        ),
        (
            "end_reason".into(),
            d.end_reason.clone().unwrap_or_default(),
        ),
    ];
    for (i, it) in d.integrations.iter().take(INTEGRATION_ROWS).enumerate() {
        v.push((format!("int{i}_product"), format!("{:#}", it.product)));
        v.push((format!("int{i}_standard"), it.standard.clone()));
        v.push((format!("int{i}_status"), it.status.slug().into()));
    }
    FormState::with_values(v)
}

fn parse_deployment(
    st: &mut FormState,
    lang: Lang,
    product: DocId,
    old: Option<&Deployment>,
) -> Option<Deployment> {
    let mut c = Check { st, lang };
    let status = c.choice::<DeploymentStatus>("status");
    let version = c.text("version", 100, false);
    let since = c.date("since");
    let tasks = c.tasks("tasks");
    let operated_by = match c.st.value("operated_by") {
        "self" | "" => Some(OperatedBy::Itself),
        "saas" => Some(OperatedBy::Saas),
        other => match other.parse::<OrgId>() {
            Ok(org) => Some(OperatedBy::ItDienstleister { org }),
            Err(_) => {
                c.st.fail(
                    "operated_by",
                    lang.tr("Bitte einen Eintrag aus der Liste wählen."),
                );
                None
            }
        },
    };
    let end_to_end = c.yes_no("end_to_end");
    let cost_once_eur = c.number("cost_once_eur", 10_000_000_000);
    let cost_yearly_eur = c.number("cost_yearly_eur", 10_000_000_000);
    let contact_role = c.text("contact_role", 200, false);
    let exchange_ok = c.yes_no("exchange_ok");
    let until = c.date("until");
    let replaced_by = match c.st.value("replaced_by") {
        "" => None,
        other => match other.parse::<DocId>() {
            Ok(p) => Some(p),
            Err(_) => {
                c.st.fail(
                    "replaced_by",
                    lang.tr("Bitte einen Eintrag aus der Liste wählen."),
                );
                None
            }
        },
    };
    let end_reason = c.text("end_reason", 2_000, false);
    let mut integrations = Vec::new();
    for i in 0..INTEGRATION_ROWS {
        let (pf, sf, tf) = (
            format!("int{i}_product"),
            format!("int{i}_standard"),
            format!("int{i}_status"),
        );
        let partner = c.st.value(&pf).to_owned();
        if partner.is_empty() {
            continue;
        }
        let Ok(other) = partner.parse::<DocId>() else {
            c.st.fail(&pf, lang.tr("Bitte einen Eintrag aus der Liste wählen."));
            continue;
        };
        let Some(standard) = c.text(&sf, 100, true) else {
            continue;
        };
        let Some(status) = c.choice::<IntegrationStatus>(&tf) else {
            continue;
        };
        integrations.push(Integration {
            product: other,
            standard,
            status,
        });
    }
    // Integrations beyond what the form shows are kept.
    if let Some(old) = old {
        integrations.extend(old.integrations.iter().skip(INTEGRATION_ROWS).cloned());
    }
    let d = Deployment {
        product,
        version,
        tasks,
        since,
        status: status?,
        operated_by: operated_by?,
        integrations,
        end_to_end,
        cost_once_eur,
        cost_yearly_eur,
        contact_role,
        exchange_ok,
        until,
        replaced_by,
        end_reason,
    };
    c.validate(
        &d,
        &[
            "version",
            "tasks",
            "integrations",
            "cost_once_eur",
            "cost_yearly_eur",
            "contact_role",
            "until",
            "replaced_by",
            "end_reason",
        ],
    );
    if let Some(field) =
        c.st.errors
            .keys()
            .find(|k| k.as_str() == "integrations")
            .cloned()
    {
        // A cross-field rule on the integrations: show it at the first partner field.
        let msg = c.st.errors.remove(&field).unwrap_or_default();
        c.st.fail("int0_product", msg);
    }
    (!c.st.has_errors()).then_some(d)
}

async fn deployment_page(
    s: &UiState,
    ctx: &Ctx,
    doc: DocId,
    name: &str,
    action: &str,
    st: &FormState,
) -> Result<axum::response::Html<String>, PageError> {
    let lang = ctx.lang;
    let (names, partners, dls) = db(s, lang, move |c| {
        Ok((org_names(c)?, partner_products(c, &doc)?, providers(c)?))
    })
    .await?;
    let t = |x| lang.tr(x);
    let statuses = slugs(DeploymentStatus::ALL, |d| d.slug(), lang);
    let mut operated: Vec<(String, String)> = vec![
        ("self".into(), t("selbst").into()),
        ("saas".into(), t("Hersteller (SaaS)").into()),
    ];
    operated.extend(
        dls.iter()
            .map(|(id, n)| (id.clone(), format!("{}: {n}", t("IT-Dienstleister")))),
    );
    let operated_refs: Vec<(&str, &str)> = operated
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let mut partner_opts: Vec<(&str, &str)> = vec![("", t("keine"))];
    partner_opts.extend(partners.iter().map(|(a, b)| (a.as_str(), b.as_str())));
    let int_status = slugs(IntegrationStatus::ALL, |d| d.slug(), lang);
    let labels: Vec<(&str, &str)> = vec![
        ("status", t("Status")),
        ("version", t("Version")),
        ("since", t("Im Einsatz seit")),
        ("tasks", t("Aufgaben")),
        ("operated_by", t("Betrieben von")),
        ("end_to_end", t("Durchgängig digital (Ende-zu-Ende)")),
        ("cost_once_eur", t("Kosten einmalig (Euro)")),
        ("cost_yearly_eur", t("Kosten jährlich (Euro)")),
        ("int0_product", t("Partnerprodukt")),
        ("int1_product", t("Partnerprodukt")),
        ("int2_product", t("Partnerprodukt")),
        ("int0_standard", t("Standard")),
        ("int1_standard", t("Standard")),
        ("int2_standard", t("Standard")),
        ("int0_status", t("Funktioniert die Verbindung?")),
        ("int1_status", t("Funktioniert die Verbindung?")),
        ("int2_status", t("Funktioniert die Verbindung?")),
        ("contact_role", t("Ansprechbare Stelle (Rolle)")),
        ("exchange_ok", t("Ansprechbar für Erfahrungsaustausch")),
        ("until", t("Im Einsatz bis")),
        ("replaced_by", t("Abgelöst durch")),
        ("end_reason", t("Grund der Ablösung")),
    ];
    let mut successor_opts: Vec<(&str, &str)> = vec![("", t("keines / unbekannt"))];
    successor_opts.extend(partners.iter().map(|(a, b)| (a.as_str(), b.as_str())));
    let title = format!("{}: {name}", t("Einsatz"));
    let main = html! {
        h1 { (title) }
        (form::summary(lang, st, &labels))
        form.edit method="post" action=(action) novalidate {
            (form::csrf(&ctx.csrf))
            input type="hidden" name="produkt" value=(format!("{doc:#}"));
            (tenant_choice(s, ctx, &names, st))
            (form::select(lang, st, Field::new("status", t("Status")).required(), &refs(&statuses)))
            (form::input(lang, st, Field::new("version", t("Version")), "text"))
            (form::input(lang, st, Field::new("since", t("Im Einsatz seit")).hint(t("Datum im Format JJJJ-MM-TT, z. B. 2023-01-15")), "text"))
            (form::textarea(lang, st, Field::new("tasks", t("Aufgaben")).hint(t("Nur falls abweichend vom Produkt; eine je Zeile")), 2))
            (form::select(lang, st, Field::new("operated_by", t("Betrieben von")), &operated_refs))
            (form::choices(st, Field::new("end_to_end", t("Durchgängig digital (Ende-zu-Ende)")), &yes_no_options(lang), false))
            (form::input(lang, st, Field::new("cost_once_eur", t("Kosten einmalig (Euro)")).hint(t("Ganze Euro, z. B. 12000")), "text"))
            (form::input(lang, st, Field::new("cost_yearly_eur", t("Kosten jährlich (Euro)")).hint(t("Ganze Euro, z. B. 12000")), "text"))
            fieldset.field {
                legend { (t("Erfahrungsaustausch")) }
                (form::choices(st, Field::new("exchange_ok", t("Ansprechbar für Erfahrungsaustausch")).hint(t("Andere Behörden dürfen Ihre Organisation zu diesem Einsatz ansprechen.")), &yes_no_options(lang), false))
                (form::input(lang, st, Field::new("contact_role", t("Ansprechbare Stelle (Rolle)")).hint(t("Eine Rolle oder Stelle, kein Personenname, keine E-Mail-Adresse oder Telefonnummer: die Angaben sind öffentlich. Z. B. „Fachbereich Bürgerdienste, Produktverantwortliche“")), "text"))
            }
            fieldset.field {
                legend { (t("Ende des Einsatzes")) }
                p.hint { (t("Nur bei Status „eingestellt“.")) }
                (form::input(lang, st, Field::new("until", t("Im Einsatz bis")).hint(t("Datum im Format JJJJ-MM-TT, z. B. 2024-06-30")), "text"))
                (form::select(lang, st, Field::new("replaced_by", t("Abgelöst durch")), &successor_opts))
                (form::textarea(lang, st, Field::new("end_reason", t("Grund der Ablösung")), 2))
            }
            @for i in 0..INTEGRATION_ROWS {
                fieldset.field {
                    legend { (t("Anbindung an ein anderes Produkt")) " " (i + 1) }
                    (form::select(lang, st, Field::new(labels[8 + i].0, t("Partnerprodukt")), &partner_opts))
                    (form::input(lang, st, Field::new(labels[11 + i].0, t("Standard")).hint(t("z. B. XMeld, XBau, OSCI")), "text"))
                    (form::select(lang, st, Field::new(labels[14 + i].0, t("Funktioniert die Verbindung?")), &refs(&int_status)))
                }
            }
            div.actions {
                button type="submit" { (t("Einsatz veröffentlichen")) }
                a.button.secondary href={ "/produkte/" (format!("{doc:#}")) } { (t("Abbrechen")) }
            }
            (task_picker(lang, st))
        }
    };
    Ok(render(s, ctx, Section::Products, &title, None, main).await)
}

pub(super) fn query_value(raw: Option<&str>, key: &str) -> String {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.chars().take(200).collect())
        .unwrap_or_default()
}

fn choose_product_first(lang: Lang) -> PageError {
    PageError::from((lang, UiError::BadRequest(lang.tr("Bitte wählen Sie zuerst das Produkt: Suchen Sie es unter „Produkte“ und wählen Sie dort „Einsatz melden“ oder „Nachnutzung berichten“.").to_owned())))
}

/// The product a new-record form is for, from its query's `produkt` (a 400 asking to choose
/// one first when it is missing, a 404 when the node does not know it): its id and name.
pub(super) async fn product_of_query(
    s: &UiState,
    lang: Lang,
    raw: Option<&str>,
) -> Result<(DocId, String), PageError> {
    let id = query_value(raw, "produkt");
    if id.is_empty() {
        return Err(choose_product_first(lang));
    }
    known_product(s, lang, &id).await
}

pub(super) async fn deployment_new(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(raw): RawQuery,
) -> Page {
    if let Err(r) = tenant(&s, &ctx) {
        return Ok(*r);
    }
    let (doc, name) = product_of_query(&s, ctx.lang, raw.as_deref()).await?;
    let st = FormState::with_values(vec![
        ("status".into(), "production".into()),
        ("operated_by".into(), "self".into()),
    ]);
    Ok(deployment_page(&s, &ctx, doc, &name, "/einsaetze/neu", &st)
        .await?
        .into_response())
}

pub(super) async fn deployment_create(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
) -> Page {
    let lang = ctx.lang;
    let tn = match tenant(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return Ok(*r),
    };
    let mut st = FormState::with_values(ctx.form.clone());
    let (doc, name) = known_product(&s, lang, st.value("produkt")).await?;
    if !matches!(picker_step(&mut st), PickerStep::Save) {
        return Ok(deployment_page(&s, &ctx, doc, &name, "/einsaetze/neu", &st)
            .await?
            .into_response());
    }
    let Some(d) = parse_deployment(&mut st, lang, doc, None) else {
        return Ok(unprocessable(
            deployment_page(&s, &ctx, doc, &name, "/einsaetze/neu", &st).await?,
        ));
    };
    let key = allmende_api::http::record_key().map_err(|e| stored_failure(lang, e))?;
    let header = DocHeader::singleton(DocKind::Deployments, tn.org);
    allmende_api::http::write(&s.api, &tn, header, move |ed| ed.put(&key, &d))
        .await
        .map_err(|e| stored_failure(lang, e))?;
    Ok(see_other(&format!("/produkte/{doc:#}?gespeichert=einsatz")))
}

/// The tenant's deployment under `key` (cut to 64 characters), with its product's id and name.
async fn own_deployment(
    s: &UiState,
    lang: Lang,
    tn: &Tenant,
    key: &str,
) -> Result<(String, Deployment, DocId, String), PageError> {
    let key: String = key.chars().take(64).collect();
    let Some(d) = own_record::<Deployment>(s, lang, "idx_deployment", tn.org, key.clone()).await?
    else {
        return Err(not_found(
            lang,
            "Ihre Organisation hat keinen Einsatz unter dieser Kennung.",
        ));
    };
    let (doc, name) = known_product(s, lang, &format!("{:#}", d.product)).await?;
    Ok((key, d, doc, name))
}

pub(super) async fn deployment_edit(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    Path(key): Path<String>,
) -> Page {
    let tn = match tenant(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return Ok(*r),
    };
    let (key, d, doc, name) = own_deployment(&s, ctx.lang, &tn, &key).await?;
    let st = deployment_state(&d);
    Ok(deployment_page(
        &s,
        &ctx,
        doc,
        &name,
        &format!("/einsaetze/{}/bearbeiten", url_part(&key)),
        &st,
    )
    .await?
    .into_response())
}

pub(super) async fn deployment_update(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    Path(key): Path<String>,
) -> Page {
    let lang = ctx.lang;
    let tn = match tenant(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return Ok(*r),
    };
    let (key, old, doc, name) = own_deployment(&s, lang, &tn, &key).await?;
    let mut st = FormState::with_values(ctx.form.clone());
    if !matches!(picker_step(&mut st), PickerStep::Save) {
        let action = format!("/einsaetze/{}/bearbeiten", url_part(&key));
        return Ok(deployment_page(&s, &ctx, doc, &name, &action, &st)
            .await?
            .into_response());
    }
    let Some(d) = parse_deployment(&mut st, lang, doc, Some(&old)) else {
        return Ok(unprocessable(
            deployment_page(
                &s,
                &ctx,
                doc,
                &name,
                &format!("/einsaetze/{}/bearbeiten", url_part(&key)),
                &st,
            )
            .await?,
        ));
    };
    let header = DocHeader::singleton(DocKind::Deployments, tn.org);
    allmende_api::http::write(&s.api, &tn, header, move |ed| ed.put(&key, &d))
        .await
        .map_err(|e| stored_failure(lang, e))?;
    Ok(see_other(&format!("/produkte/{doc:#}?gespeichert=einsatz")))
}

// ---------------------------------------------------------------------------------------------
// Nachnutzung report

async fn reuse_page(
    s: &UiState,
    ctx: &Ctx,
    doc: DocId,
    name: &str,
    st: &FormState,
) -> Result<axum::response::Html<String>, PageError> {
    let lang = ctx.lang;
    let (names, orgs) = db(s, lang, |c| {
        let mut stmt = c.prepare(
            "SELECT org, name FROM idx_org WHERE kind != 'kommune' ORDER BY name LIMIT 1000",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((hex::encode(r.get::<_, Vec<u8>>(0)?), r.get::<_, String>(1)?))
        })?;
        Ok((org_names(c)?, rows.collect::<Result<Vec<_>, _>>()?))
    })
    .await?;
    let t = |x| lang.tr(x);
    let outcomes = slugs(ReuseOutcome::ALL, |d| d.slug(), lang);
    let obstacles = slugs(Obstacle::ALL, |d| d.slug(), lang);
    let mut provider_opts: Vec<(&str, &str)> = vec![("", t("keine Angabe"))];
    provider_opts.extend(orgs.iter().map(|(a, b)| (a.as_str(), b.as_str())));
    let labels: Vec<(&str, &str)> = vec![
        ("outcome", t("Ergebnis")),
        ("provider", t("Anbieter")),
        ("efa", t("Nachnutzung nach Einer für Alle")),
        ("effort_person_days", t("Aufwand (Personentage)")),
        ("cost_once_eur", t("Kosten einmalig (Euro)")),
        ("cost_yearly_eur", t("Kosten jährlich (Euro)")),
        ("weeks_to_production", t("Wochen bis zum Betrieb")),
        ("obstacles", t("Hindernisse")),
        (
            "recommend",
            t("Würden Sie die Nachnutzung weiterempfehlen?"),
        ),
        ("text", t("Bericht")),
    ];
    let label = |n: &str| labels.iter().find(|(k, _)| *k == n).map_or("", |(_, l)| *l);
    let title = format!("{}: {name}", t("Nachnutzungsbericht"));
    let main = html! {
        h1 { (title) }
        p { (t("Berichten Sie, wie die Nachnutzung einer Lösung einer anderen Stelle gelaufen ist: Aufwand, Kosten, Dauer und Hindernisse helfen den nächsten.")) }
        (form::summary(lang, st, &labels))
        form.edit method="post" action="/nachnutzung/neu" novalidate {
            (form::csrf(&ctx.csrf))
            input type="hidden" name="produkt" value=(format!("{doc:#}"));
            (tenant_choice(s, ctx, &names, st))
            (form::select(lang, st, Field::new("outcome", label("outcome")).required(), &refs(&outcomes)))
            (form::select(lang, st, Field::new("provider", label("provider")).hint(t("Die Stelle, deren Lösung Sie nachgenutzt haben")), &provider_opts))
            (form::choices(st, Field::new("efa", label("efa")), &[("ja", t("Ja")), ("nein", t("Nein"))], false))
            (form::input(lang, st, Field::new("effort_person_days", label("effort_person_days")), "text"))
            (form::input(lang, st, Field::new("cost_once_eur", label("cost_once_eur")).hint(t("Ganze Euro, z. B. 12000")), "text"))
            (form::input(lang, st, Field::new("cost_yearly_eur", label("cost_yearly_eur")).hint(t("Ganze Euro, z. B. 12000")), "text"))
            (form::input(lang, st, Field::new("weeks_to_production", label("weeks_to_production")), "text"))
            (form::choices(st, Field::new("obstacles", label("obstacles")), &refs(&obstacles), true))
            (form::choices(st, Field::new("recommend", label("recommend")), &yes_no_options(lang), false))
            (form::textarea(lang, st, Field::new("text", label("text")).hint(t("Bitte keine personenbezogenen Daten.")), 6))
            div.actions {
                button type="submit" { (t("Bericht veröffentlichen")) }
                a.button.secondary href={ "/produkte/" (format!("{doc:#}")) } { (t("Abbrechen")) }
            }
        }
    };
    Ok(render(s, ctx, Section::Products, &title, None, main).await)
}

pub(super) async fn reuse_new(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(raw): RawQuery,
) -> Page {
    if let Err(r) = tenant(&s, &ctx) {
        return Ok(*r);
    }
    let (doc, name) = product_of_query(&s, ctx.lang, raw.as_deref()).await?;
    let st = FormState::with_values(vec![
        ("outcome".into(), "production".into()),
        ("efa".into(), "nein".into()),
    ]);
    Ok(reuse_page(&s, &ctx, doc, &name, &st).await?.into_response())
}

pub(super) async fn reuse_create(State(s): State<UiState>, Extension(ctx): Extension<Ctx>) -> Page {
    let lang = ctx.lang;
    let tn = match tenant(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return Ok(*r),
    };
    let mut st = FormState::with_values(ctx.form.clone());
    let (doc, name) = known_product(&s, lang, st.value("produkt")).await?;
    let mut c = Check { st: &mut st, lang };
    let outcome = c.choice::<ReuseOutcome>("outcome");
    let provider = c.optional::<OrgId>("provider");
    let efa = c.yes_no("efa").unwrap_or(false);
    let effort = c.number("effort_person_days", u64::from(u32::MAX));
    let cost_once_eur = c.number("cost_once_eur", 10_000_000_000);
    let cost_yearly_eur = c.number("cost_yearly_eur", 10_000_000_000);
    let weeks = c.number("weeks_to_production", 1_000);
    let obstacles = c.many::<Obstacle>("obstacles");
    let recommend = c.yes_no("recommend");
    let text = c.text("text", 10_000, false);
    let report = outcome.map(|outcome| ReuseReport {
        product: doc,
        provider,
        efa,
        effort_person_days: effort.and_then(|e| u32::try_from(e).ok()),
        cost_once_eur,
        cost_yearly_eur,
        weeks_to_production: weeks.and_then(|w| u32::try_from(w).ok()),
        obstacles,
        outcome,
        recommend,
        text,
    });
    if let Some(r) = &report {
        c.validate(
            r,
            &[
                "effort_person_days",
                "cost_once_eur",
                "cost_yearly_eur",
                "weeks_to_production",
                "obstacles",
                "text",
                "outcome",
            ],
        );
    }
    let report = match report {
        Some(r) if !st.has_errors() => r,
        _ => return Ok(unprocessable(reuse_page(&s, &ctx, doc, &name, &st).await?)),
    };
    let key = allmende_api::http::record_key().map_err(|e| stored_failure(lang, e))?;
    let header = DocHeader::singleton(DocKind::Experience, tn.org);
    allmende_api::http::write(&s.api, &tn, header, move |ed| ed.put(&key, &report))
        .await
        .map_err(|e| stored_failure(lang, e))?;
    Ok(see_other(&format!("/produkte/{doc:#}?gespeichert=bericht")))
}

// ---------------------------------------------------------------------------------------------
// Sign-in (UI reachable beyond loopback)

async fn login_page(
    s: &UiState,
    ctx: &Ctx,
    st: &FormState,
    weiter: &str,
) -> axum::response::Html<String> {
    let lang = ctx.lang;
    let t = |x| lang.tr(x);
    let main = html! {
        h1 { (t("Anmelden")) }
        p { (t("Zum Veröffentlichen melden Sie sich an, auch auf diesem Rechner: Lesen kann jeder, der den Knoten erreicht, veröffentlichen nur, wer angemeldet ist.")) }
        p { (t("Am einfachsten mit dem Anmeldelink, den allmende run beim Start ausgibt (Zeile UI login). Jeder Link gilt einmal; einen neuen erhält, wer das Admin-Token hat, mit POST /api/v1/ui/login.")) }
        p { (t("Oder mit dem Admin-Token Ihrer Organisation. Es steht in der Datei admin.token im Datenverzeichnis des Knotens (bei betreuten Mitgliedern in members/).")) }
        (form::summary(lang, st, &[("token", t("Admin-Token"))]))
        form.edit method="post" action="/anmelden" novalidate {
            (form::csrf(&ctx.csrf))
            input type="hidden" name="weiter" value=(weiter);
            (form::input(lang, st, Field::new("token", t("Admin-Token")).required(), "password"))
            div.actions { button type="submit" { (t("Anmelden")) } }
        }
    };
    render(s, ctx, Section::None, t("Anmelden"), None, main).await
}

/// Opens a session: sets its cookie on a redirect to `weiter`.
fn open_session(s: &UiState, lang: Lang, what: Session, weiter: &str) -> Page {
    let sid = crate::shell::new_token()
        .map_err(|_| PageError::from((lang, UiError::Internal("no randomness".into()))))?;
    if let Ok(mut m) = s.sessions.lock() {
        m.insert(sid.clone(), what);
    }
    let mut resp = see_other(weiter);
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={sid}; Path=/; HttpOnly; SameSite=Strict"
    )) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// A local path to continue at after signing in (never another site).
fn safe_next(v: &str) -> String {
    if v.starts_with('/') && !v.starts_with("//") && !v.contains('\\') && v.len() < 500 {
        v.to_owned()
    } else {
        "/".to_owned()
    }
}

pub(super) async fn login_form(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(raw): RawQuery,
) -> Page {
    let weiter = safe_next(&query_value(raw.as_deref(), "weiter"));
    let link = query_value(raw.as_deref(), "token");
    if link.is_empty() {
        return Ok(login_page(&s, &ctx, &FormState::default(), &weiter)
            .await
            .into_response());
    }
    // A one-time login link (`allmende run`, POST /api/v1/ui/login).
    if s.api.ui_logins.redeem(&link) {
        return open_session(&s, ctx.lang, Session::Node, &weiter);
    }
    let mut st = FormState::default();
    st.fail(
        "token",
        ctx.lang.tr(
            "Dieser Anmeldelink ist ungültig oder wurde schon benutzt. Jeder Link gilt nur einmal.",
        ),
    );
    Ok((
        StatusCode::UNAUTHORIZED,
        login_page(&s, &ctx, &st, &weiter).await,
    )
        .into_response())
}

pub(super) async fn login(State(s): State<UiState>, Extension(ctx): Extension<Ctx>) -> Page {
    let lang = ctx.lang;
    let st = FormState::with_values(ctx.form.clone());
    let weiter = safe_next(st.value("weiter"));
    let tenants = s.api.tenants.current();
    let Some(org) = allmende_api::http::tenant_index(&tenants, st.value("token").trim().as_bytes())
        .map(|i| tenants[i].org)
    else {
        let mut st = FormState::default();
        st.fail(
            "token",
            lang.tr("Dieses Token gehört zu keiner Organisation dieses Knotens."),
        );
        return Ok((
            StatusCode::UNAUTHORIZED,
            login_page(&s, &ctx, &st, &weiter).await,
        )
            .into_response());
    };
    // The admin token publishes for every tenant (as it does through the API with ?for=).
    let what = if s.api.organisation == Some(org) {
        Session::Node
    } else {
        Session::Org(org)
    };
    open_session(&s, lang, what, &weiter)
}

pub(super) async fn logout(State(s): State<UiState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(sid) = crate::shell::cookies(&headers).get(SESSION_COOKIE)
        && let Ok(mut m) = s.sessions.lock()
    {
        m.remove(sid.as_str());
    }
    let mut resp = see_other("/");
    resp.headers_mut().append(
        header::SET_COOKIE,
        axum::http::HeaderValue::from_static(
            "allmende_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_product_form_names_each_field_and_keeps_nothing_half() {
        let mut st = FormState::with_values(vec![
            ("name".into(), "  ".into()),
            ("vendor".into(), "Muster GmbH".into()),
            ("kind".into(), "fachverfahren".into()),
            ("licence".into(), "EUPL 1.2".into()),
            ("tasks".into(), "99009001\nBauantrag".into()),
            ("website".into(), "javascript:alert(1)".into()),
            ("hosting".into(), "saas".into()),
            ("hosting".into(), "mond".into()),
        ]);
        assert!(parse_product(&mut st, Lang::De, None).is_none());
        for f in ["name", "licence", "tasks", "website", "hosting"] {
            assert!(st.errors.contains_key(f), "{f}: {:?}", st.errors);
        }
        assert!(!st.errors.contains_key("vendor"));
        assert_eq!(st.value("vendor"), "Muster GmbH");
    }

    #[test]
    fn a_good_product_form_becomes_a_product() {
        let mut st = FormState::with_values(vec![
            ("name".into(), "Bauantrag Online".into()),
            ("vendor".into(), "Land NRW".into()),
            ("kind".into(), "onlinedienst".into()),
            ("licence".into(), "EUPL-1.2".into()),
            ("tasks".into(), "99009001001000\n\nBauantrag\n".into()),
            ("standards".into(), "XBau\nFIT-Connect".into()),
            ("efa_land".into(), "05".into()),
            ("dpia_available".into(), "ja".into()),
        ]);
        let p = parse_product(&mut st, Lang::De, None).unwrap();
        assert_eq!(p.tasks.len(), 2);
        assert_eq!(p.standards, vec!["XBau", "FIT-Connect"]);
        assert_eq!(p.efa.unwrap().providing_land.code(), "05");
        assert_eq!(p.dpia_available, Some(true));
        let back = product_state(&Product::new("A", "B", ProductKind::Software));
        assert_eq!(back.value("kind"), "software");
    }

    #[test]
    fn numbers_accept_german_grouping_and_refuse_decimals() {
        let mut st = FormState::with_values(vec![
            ("a".into(), "12.000 €".into()),
            ("b".into(), "12,5".into()),
            ("c".into(), "-3".into()),
        ]);
        let mut c = Check {
            st: &mut st,
            lang: Lang::De,
        };
        assert_eq!(c.number("a", 100_000), Some(12_000));
        assert_eq!(c.number("b", 100_000), None);
        assert_eq!(c.number("c", 100_000), None);
        assert_eq!(c.number("missing", 100_000), None);
        assert_eq!(st.errors.len(), 2);
    }

    #[test]
    fn sign_in_only_continues_on_this_site() {
        assert_eq!(safe_next("/produkte/neu"), "/produkte/neu");
        for bad in ["//evil.example/", "https://evil.example/", "/\\evil", ""] {
            assert_eq!(safe_next(bad), "/", "{bad}");
        }
    }
}
