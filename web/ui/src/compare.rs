//! The Nachbarvergleich page (`/vergleich`, `/organisationen/{id}/vergleich`): one
//! organisation's products per task next to what a group of comparable bodies runs
//! ([`allmende_catalog::compare`], `docs/nachbarvergleich.md`).
//!
//! `/vergleich` compares the node's own organisation, or with `?org=ID` any organisation (a
//! form lists the organisations this node hosts). `?gruppe=kreis|land|groesse` picks the
//! group (links switch it), `?alle=1` counts unattested organisations too, as on the
//! statistics pages. The tables are the accessible source; the chart repeats their numbers.
//!
//! Threat: the query parameters come from anyone who can reach the UI; they are parsed into
//! an organisation id, one of three groups and a flag, everything else is refused with 400.
//! The catalog query bounds the work.

use allmende_catalog::compare::{self, CompareError, Comparison, Group, GroupChoice};
use allmende_catalog::stats::Scope;
use allmende_protocol::ids::OrgId;
use allmende_web_kit::chart::{Bar, BarChart, bar_chart};
use allmende_web_kit::layout::Section;
use allmende_web_kit::{Lang, Markup, html};
use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};

use crate::pages::db;
use crate::shell::{Ctx, PageError, UiError, UiState, dec, int, render, url_part};

type Page = Result<Response, PageError>;

/// Longest query string taken.
const MAX_QUERY_BYTES: usize = 1024;
/// Tasks shown in the chart (the tables list all).
const CHART_TASKS: usize = 15;

/// What the page was asked for.
#[derive(Debug, Default, PartialEq)]
struct Params {
    org: Option<OrgId>,
    group: Option<Group>,
    all: bool,
}

fn params(lang: Lang, raw: Option<&str>) -> Result<Params, UiError> {
    let t = |x| lang.tr(x);
    let raw = raw.unwrap_or("");
    if raw.len() > MAX_QUERY_BYTES {
        return Err(UiError::BadRequest(format!(
            "{} {MAX_QUERY_BYTES} {}",
            t("Die Anfrage ist länger als"),
            t("Zeichen.")
        )));
    }
    let mut p = Params::default();
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        match k.as_ref() {
            "org" if v.is_empty() => {}
            "org" => {
                p.org = Some(v.parse().map_err(|_| {
                    UiError::BadRequest(
                        t("org: keine gültige Organisationskennung (64 Hexadezimalzeichen).")
                            .into(),
                    )
                })?);
            }
            "gruppe" => {
                p.group = Some(v.parse().map_err(|_| {
                    UiError::BadRequest(
                        t("gruppe: unbekannte Vergleichsgruppe; möglich sind kreis, land und groesse.")
                            .into(),
                    )
                })?);
            }
            "alle" => p.all = v == "1",
            other => {
                return Err(UiError::BadRequest(format!(
                    "{} {:?}; {}",
                    t("Unbekannter Parameter"),
                    other.chars().take(40).collect::<String>(),
                    t("möglich sind org, gruppe und alle.")
                )));
            }
        }
    }
    Ok(p)
}

/// `/vergleich`.
pub(super) async fn own(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(raw): RawQuery,
) -> Page {
    let p = params(ctx.lang, raw.as_deref()).map_err(|e| PageError::from((ctx.lang, e)))?;
    let org = p.org.or(s.api.organisation);
    let Some(org) = org else {
        return Err(PageError::from((
            ctx.lang,
            UiError::NotFound(
                ctx.lang
                    .tr("Dieser Knoten hat keine eigene Organisation; wählen Sie eine Organisation auf ihrer Seite (Organisationen) und dort „Nachbarvergleich“.")
                    .into(),
            ),
        )));
    };
    page(s, ctx, org, p).await
}

/// `/organisationen/{id}/vergleich`.
pub(super) async fn of_org(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Page {
    let lang = ctx.lang;
    let org: OrgId = id.parse().map_err(|_| {
        PageError::from((
            lang,
            UiError::NotFound(lang.tr("Keine gültige Organisationskennung.").into()),
        ))
    })?;
    let p = params(lang, raw.as_deref()).map_err(|e| PageError::from((lang, e)))?;
    page(s, ctx, org, p).await
}

/// What the page shows: a comparison, or why the group cannot be formed.
enum Answer {
    Done(Box<Comparison>),
    Unavailable {
        name: String,
        group: Group,
        reason: String,
        groups: Vec<GroupChoice>,
    },
}

async fn page(s: UiState, ctx: Ctx, org: OrgId, p: Params) -> Page {
    let lang = ctx.lang;
    let scope = Scope {
        anchors: s.api.anchors.to_vec(),
        include_unverified: p.all || s.api.anchors.is_empty(),
    };
    let group = p.group;
    let answer = db(&s, lang, move |conn| {
        match compare::compare(conn, &scope, &org, group) {
            Ok(c) => Ok(Answer::Done(Box::new(c))),
            Err(CompareError::GroupUnavailable { group, reason }) => {
                let (name, groups) = compare::groups(conn, &org).map_err(|e| ui_error(lang, e))?;
                Ok(Answer::Unavailable {
                    name,
                    group,
                    reason,
                    groups,
                })
            }
            Err(e) => Err(ui_error(lang, e)),
        }
    })
    .await?;
    // The organisations this node publishes for, to choose from.
    let hosted: Vec<OrgId> = s.api.tenants.current().iter().map(|t| t.org).collect();
    let hosted = if hosted.len() > 1 {
        tenant_labels(&s, hosted).await
    } else {
        vec![]
    };
    let base = format!("/organisationen/{org:#}/vergleich");
    let own_path = if Some(org) == s.api.organisation {
        "/vergleich".to_owned()
    } else {
        base.clone()
    };
    let t = |x| lang.tr(x);
    let (name, body, title) = match &answer {
        Answer::Done(c) => (c.name.clone(), result(lang, c, &own_path, p.all), c.group),
        Answer::Unavailable {
            name,
            group,
            reason,
            groups,
        } => (
            name.clone(),
            html! {
                (switcher(lang, groups, *group, &own_path, p.all))
                div.error-summary role="alert" aria-labelledby="gruppe-fehlt" {
                    h2 #gruppe-fehlt { (t("Diese Vergleichsgruppe lässt sich nicht bilden")) }
                    p { (reason) }
                    p { (t("Wählen Sie oben eine andere Gruppe oder ergänzen Sie das Profil der Organisation um ihren Amtlichen Gemeindeschlüssel.")) }
                }
            },
            *group,
        ),
    };
    let shown = if name.is_empty() {
        format!("org:{}", &format!("{org:#}")[..12])
    } else {
        name
    };
    let main = html! {
        h1 { (t("Nachbarvergleich")) ": " (shown) }
        p.muted {
            (t("Was vergleichbare Organisationen je Aufgabe einsetzen, wie sie es bewerten und was es sie kostet, neben dem eigenen Bestand."))
            " " a href={ "/organisationen/" (format!("{org:#}")) } { (t("Zur Seite der Organisation")) }
        }
        @if hosted.len() > 1 {
            form.inline method="get" action="/vergleich" {
                label for="vergleich-org" { (t("Organisation")) }
                select #vergleich-org name="org" {
                    @for (o, label) in &hosted {
                        option value=(format!("{o:#}")) selected[*o == org] { (label) }
                    }
                }
                input type="hidden" name="gruppe" value=(title.key());
                @if p.all { input type="hidden" name="alle" value="1"; }
                button type="submit" { (t("Vergleichen")) }
            }
        }
        (body)
    };
    Ok(render(
        &s,
        &ctx,
        Section::Compare,
        &format!("{} – {}", t("Nachbarvergleich"), shown_title(lang, &answer)),
        None,
        main,
    )
    .await
    .into_response())
}

fn shown_title(lang: Lang, a: &Answer) -> &'static str {
    let group = match a {
        Answer::Done(c) => c.group,
        Answer::Unavailable { group, .. } => *group,
    };
    lang.tr(group.label())
}

/// The names of the organisations this node publishes for (its own and hosted ones).
async fn tenant_labels(s: &UiState, orgs: Vec<OrgId>) -> Vec<(OrgId, String)> {
    s.api
        .repo
        .call(move |st| {
            let conn = st.repo().store().connection();
            orgs.into_iter()
                .map(|o| {
                    let name = conn
                        .query_row(
                            "SELECT name FROM idx_org WHERE org = ?1",
                            [o.as_bytes().as_slice()],
                            |r| r.get::<_, String>(0),
                        )
                        .unwrap_or_else(|_| format!("org:{}", &format!("{o:#}")[..12]));
                    (o, name)
                })
                .collect()
        })
        .await
        .unwrap_or_default()
}

fn ui_error(lang: Lang, e: CompareError) -> UiError {
    match e {
        CompareError::UnknownOrg(_) => UiError::NotFound(
            lang.tr("Diese Organisation ist auf diesem Knoten nicht bekannt.")
                .into(),
        ),
        CompareError::GroupUnavailable { reason, .. } => UiError::BadRequest(reason),
        CompareError::Query(q) => q.into(),
    }
}

fn href(path: &str, group: Group, all: bool) -> String {
    format!(
        "{path}?gruppe={}{}",
        url_part(group.key()),
        if all { "&alle=1" } else { "" }
    )
}

/// The group switcher: plain links, the current one marked.
fn switcher(lang: Lang, groups: &[GroupChoice], current: Group, path: &str, all: bool) -> Markup {
    let t = |x| lang.tr(x);
    html! {
        nav.tabs aria-label=(t("Vergleichsgruppe")) {
            ul {
                @for g in groups {
                    li {
                        @if g.group == current {
                            a href=(href(path, g.group, all)) aria-current="page" { strong { (t(g.group.label())) } }
                        } @else if g.available {
                            a href=(href(path, g.group, all)) { (t(g.group.label())) }
                        } @else {
                            span.muted { (t(g.group.label())) " (" (t("nicht möglich")) ")" }
                        }
                    }
                }
            }
        }
    }
}

/// "von" as in "3 von 10". The shared table translates "von" as "by" (who made a change), so
/// this sense is chosen here.
fn of(lang: Lang) -> &'static str {
    match lang {
        Lang::De => "von",
        Lang::En => "of",
    }
}

fn euro(lang: Lang, v: Option<u64>, n: u64) -> Markup {
    match v {
        Some(v) => html! { (int(lang, v)) " €" span.muted { " (" (int(lang, n)) ")" } },
        None => html! { "–" },
    }
}

fn result(lang: Lang, c: &Comparison, path: &str, all: bool) -> Markup {
    let t = |x| lang.tr(x);
    let bars: Vec<Bar> = c
        .tasks
        .iter()
        .filter(|x| x.neighbours > 0)
        .take(CHART_TASKS)
        .map(|x| Bar {
            label: if x.mine.is_empty() {
                format!("{} ({})", x.name, t("ohne eigenes Produkt"))
            } else {
                x.name.clone()
            },
            value: x.neighbours as f64,
            shown: format!(
                "{} {} {}",
                int(lang, x.neighbours),
                of(lang),
                int(lang, c.neighbours_with_deployments)
            ),
        })
        .collect();
    let chart = BarChart {
        id: "vergleich-aufgaben",
        title: t("Nachbarn mit einem Produkt im Einsatz, je Aufgabe"),
        label_header: t("Aufgabe"),
        value_header: t("Nachbarn mit Produkt"),
        max: Some(c.neighbours_with_deployments.max(1) as f64),
        bars,
    };
    let scope_text = if c.include_unverified {
        t("Gezählt werden alle Organisationen, auch von keinem Vertrauensanker bestätigte.")
    } else {
        t(
            "Gezählt werden nur von einem Vertrauensanker bestätigte Organisationen; nicht bestätigte Organisationen, die sich demselben Kreis zuordnen, zählen nicht.",
        )
    };
    html! {
        (switcher(lang, &c.groups, c.group, path, all))
        dl.facts {
            dt { (t("Vergleichsgruppe")) } dd { (c.group_label) }
            @if let Some(p) = c.population {
                dt { (t("Einwohner (amtlich)")) } dd { (int(lang, p)) }
            }
            @if let Some(k) = &c.size_class {
                dt { (t("Größenklasse")) } dd { (t(k.label)) }
            }
            dt { (t("Vergleichbare Organisationen")) }
            dd { (int(lang, c.neighbours)) ", " (t("davon mit Einsätzen")) " " (int(lang, c.neighbours_with_deployments)) }
        }
        p.muted {
            (scope_text) " "
            @if c.include_unverified && all {
                a href=(href(path, c.group, false)) { (t("Nur bestätigte zählen")) }
            } @else if !c.include_unverified {
                a href=(href(path, c.group, true)) { (t("Alle Organisationen zählen")) }
            }
        }
        @if c.group_truncated {
            p role="status" { (t("Die Gruppe ist sehr groß; verglichen wird mit einem begrenzten Ausschnitt.")) }
        }
        h2 { (t("Wo der eigene Bestand abweicht")) }
        @if c.missing_tasks.is_empty() && c.rare.is_empty() && c.left.is_empty() {
            p { (t("Keine Abweichungen in dieser Gruppe.")) }
        }
        @if !c.missing_tasks.is_empty() {
            h3 { (t("Aufgaben ohne eigenes Produkt")) }
            ul { @for task in &c.missing_tasks {
                @if let Some(x) = c.tasks.iter().find(|x| &x.task == task) {
                    li { a href={ "#aufgabe-" (anchor(task)) } { (x.name) } ": " (int(lang, x.neighbours)) " " (t("Nachbarn setzen etwas ein")) }
                }
            } }
        }
        @if !c.rare.is_empty() {
            h3 { (t("Eigene Produkte, die wenige Nachbarn einsetzen")) }
            ul { @for r in &c.rare {
                li { a href={ "/produkte/" (r.product) } { (r.name) } " (" (r.task) "): "
                     (int(lang, r.organisations)) " " (of(lang)) " " (int(lang, r.neighbours)) " " (t("Nachbarn mit einem Produkt für diese Aufgabe")) }
            } }
        }
        @if !c.left.is_empty() {
            h3 { (t("Produkte, von denen Nachbarn abgerückt sind")) }
            ul { @for l in &c.left {
                li { a href={ "/produkte/" (l.product) } { (l.name) } ": "
                     (int(lang, l.left)) " " (t("Nachbarn haben es abgelöst")) ", " (int(lang, l.organisations)) " " (t("setzen es weiter ein"))
                     @if l.mine { " – " strong { (t("Sie setzen es noch ein.")) } } }
            } }
        }
        h2 { (t("Je Aufgabe")) }
        (bar_chart(lang, &chart))
        @if c.tasks.is_empty() {
            p { (t("Weder die Organisation noch ihre Nachbarn haben Einsätze mit einer Aufgabe gemeldet.")) }
        }
        @for x in &c.tasks {
            section aria-labelledby={ "aufgabe-" (anchor(&x.task)) } {
                h3 #{ "aufgabe-" (anchor(&x.task)) } { (x.name) }
                p {
                    @if x.mine.is_empty() { (t("Kein eigenes Produkt für diese Aufgabe.")) " " }
                    (int(lang, x.neighbours)) " " (of(lang)) " " (int(lang, c.neighbours_with_deployments)) " " (t("Nachbarn setzen ein Produkt dafür ein."))
                }
                div.table-wrap { table {
                    caption.visually-hidden { (x.name) ": " (t("Produkte der Nachbarn")) }
                    thead { tr {
                        th scope="col" { (t("Produkt")) }
                        th scope="col" { (t("Eigener Einsatz")) }
                        th scope="col" { (t("Nachbarn im Einsatz")) }
                        th scope="col" { (t("Abgelöst")) }
                        th scope="col" { (t("Bewertung (Ø 1–5)")) }
                        th scope="col" { (t("Empfehlung")) }
                        th scope="col" { (t("Kosten jährlich (Median, Meldungen)")) }
                        th scope="col" { (t("Kosten einmalig (Median, Meldungen)")) }
                        th scope="col" { (t("€ je Einwohner und Jahr")) }
                    } }
                    tbody { @for p in &x.products { tr {
                        th scope="row" { a href={ "/produkte/" (p.product) } { (p.name) } }
                        td { @if p.mine { (t("ja")) } @else { span.muted { (t("nein")) } } }
                        td.num { (int(lang, p.organisations)) }
                        td.num { (int(lang, p.left)) }
                        td.num { @match p.score { Some(s) => (dec(lang, s)), None => "–" } }
                        td.num { @match p.ratings.as_ref().map(|r| r.recommend) {
                            Some((yes, n)) if n > 0 => { (int(lang, yes)) " " (of(lang)) " " (int(lang, n)) }
                            _ => "–",
                        } }
                        td.num { (euro(lang, p.costs.median_yearly_eur, p.costs.reporting_yearly)) }
                        td.num { (euro(lang, p.costs.median_once_eur, p.costs.reporting_once)) }
                        td.num { @match p.costs.per_inhabitant_eur { Some(v) => { (format!("{v:.2}").replace('.', if lang == Lang::De { "," } else { "." })) " €" }, None => "–" } }
                    } } }
                } }
                @if x.products_omitted > 0 {
                    p.muted { (int(lang, x.products_omitted)) " " (t("weitere Produkte mit wenigen Nachbarn nicht aufgeführt.")) }
                }
            }
        }
        @if c.tasks_omitted > 0 {
            p.muted { (int(lang, c.tasks_omitted)) " " (t("weitere Aufgaben nicht aufgeführt.")) }
        }
        p.muted {
            (t("Bewertungen: Mittel der Dimensionen aus den Bewertungen der Nachbarn, eine je Organisation und Produkt, ohne Selbstbewertungen der Hersteller. Kosten: je Organisation die Summe ihrer Einsätze, davon der Median; € je Einwohner mit der amtlichen Einwohnerzahl."))
            " " a href={ "/api/v1/organizations/" (c.organisation) "/comparison?group=" (c.group.key()) @if c.include_unverified { "&include_unverified=true" } } { (t("Als JSON")) }
        }
    }
}

/// An id for a task's heading: its characters that are safe in an id, plus a hash so two
/// tasks never share one.
fn anchor(task: &str) -> String {
    let safe: String = task
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(40)
        .collect();
    let mut h: u32 = 2_166_136_261;
    for b in task.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(16_777_619);
    }
    format!("{safe}-{h:08x}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parameters_are_checked_and_named() {
        assert_eq!(params(Lang::De, None).unwrap(), Params::default());
        let p = params(Lang::De, Some("gruppe=land&alle=1&org=")).unwrap();
        assert_eq!((p.group, p.all, p.org), (Some(Group::Land), true, None));
        let e = params(Lang::De, Some("gruppe=stadt")).unwrap_err();
        assert!(matches!(e, UiError::BadRequest(m) if m.starts_with("gruppe:")));
        let e = params(Lang::De, Some("org=abc")).unwrap_err();
        assert!(matches!(e, UiError::BadRequest(m) if m.starts_with("org:")));
        assert!(params(Lang::De, Some("x=1")).is_err());
    }

    #[test]
    fn anchors_differ_for_tasks_that_differ_only_in_unsafe_characters() {
        assert_ne!(anchor("Bau antrag"), anchor("Bauantrag"));
        assert!(
            anchor("Kita-Platz-Vergabe <x>")
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        );
    }
}
