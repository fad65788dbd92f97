//! The reading pages: start, products, product, organisations, tasks, interoperability,
//! duplicates, coverage, network, trust and settings. Each handler gathers its data in one
//! call on the repository thread, then renders.

use std::collections::{BTreeMap, HashMap};

use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::reference;
use allmende_protocol::schema::{Deployment, OperatedBy, OrgProfile, Product, Rating, ReuseReport};
use allmende_web_kit::chart::{Bar, BarChart, bar_chart};
use allmende_web_kit::layout::Section;
use allmende_web_kit::{Lang, Markup, html};
use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use rusqlite::{Connection, OptionalExtension, params_from_iter};

use super::labels;
use crate::shell::{
    Ctx, OrPage, PageError, UiError, UiState, dec, int, not_found, parse_doc, render, render_feed,
    stats_scope, url_part, verified_badge,
};
use allmende_catalog::query::{self, SearchQuery};
use allmende_store::watch::WatchKind;

type Page = Result<Response, PageError>;

/// Runs `f` on the repository thread against the index.
pub(super) async fn db<T: Send + 'static>(
    s: &UiState,
    lang: Lang,
    f: impl FnOnce(&Connection) -> Result<T, UiError> + Send + 'static,
) -> Result<T, PageError> {
    let r = s
        .api
        .repo
        .call(move |st| f(st.repo().store().connection()))
        .await
        .or_page(lang)?;
    Ok(r.or_page(lang)?)
}

/// Like [`db`] for an expensive read whose result may be kept between requests: `key` names
/// the read and its parameters. A result computed before the catalog last changed is served
/// while one refresh runs in the background ([`allmende_api::aggregates`]).
pub(super) async fn db_cached<T: Send + Sync + 'static>(
    s: &UiState,
    lang: Lang,
    key: String,
    f: impl Fn(&Connection) -> Result<T, UiError> + Send + Sync + 'static,
) -> Result<std::sync::Arc<T>, PageError> {
    let r = allmende_api::aggregates::cached(&s.api.repo, &s.api.aggregates, key, f)
        .await
        .or_page(lang)?;
    Ok(r.or_page(lang)?)
}

/// Names of organisations, by raw id.
pub(super) fn org_names(conn: &Connection) -> Result<HashMap<Vec<u8>, String>, UiError> {
    let mut stmt = conn.prepare_cached("SELECT org, name FROM idx_org")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Names of the organisations (`idx_org`) or products (`idx_product`) among `ids`, by raw
/// id: a page that links a few hundred entries reads their names only, not the whole
/// catalog's (11,000 organisations and 3,000 products at full scale).
pub(super) fn names_among(
    conn: &Connection,
    what: Named,
    ids: impl IntoIterator<Item = Vec<u8>>,
) -> Result<HashMap<Vec<u8>, String>, UiError> {
    let (table, key) = match what {
        Named::Orgs => ("idx_org", "org"),
        Named::Products => ("idx_product", "doc"),
    };
    let mut ids: Vec<Vec<u8>> = ids.into_iter().collect();
    ids.sort();
    ids.dedup();
    let mut out = HashMap::new();
    // Well below SQLite's limit on bound parameters.
    for chunk in ids.chunks(500) {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {key}, name FROM {table} WHERE {key} IN ({})",
            query::placeholders(chunk.len())
        ))?;
        let rows = stmt.query_map(params_from_iter(chunk), |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
        })?;
        for row in rows {
            let (id, name) = row?;
            out.insert(id, name);
        }
    }
    Ok(out)
}

/// Which names [`names_among`] reads.
#[derive(Clone, Copy)]
pub(super) enum Named {
    Orgs,
    Products,
}

/// Names of products, by raw id.
fn product_names(conn: &Connection) -> Result<HashMap<Vec<u8>, String>, UiError> {
    let mut stmt = conn.prepare_cached("SELECT doc, name FROM idx_product")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn scope_note(lang: Lang, s: &UiState, sc: &allmende_catalog::stats::Scope, path: &str) -> Markup {
    let t = |x| lang.tr(x);
    html! {
        p.muted {
            @if s.api.anchors.is_empty() {
                (t("Dieser Knoten folgt keinem Vertrauensanker: Die Zahlen zählen alle Organisationen, auch nicht bestätigte."))
            } @else if sc.include_unverified {
                (t("Gezählt werden alle Organisationen, auch nicht bestätigte.")) " "
                a href=(path) { (t("Nur bestätigte zählen")) }
            } @else {
                (t("Gezählt werden nur von einem Vertrauensanker bestätigte Organisationen.")) " "
                a href={ (path) "?alle=1" } { (t("Alle Organisationen zählen")) }
            }
        }
    }
}

/// A link to `{path}/{hex_id}` named from `names`, or by the id's short form when unknown.
fn named_link(names: &HashMap<Vec<u8>, String>, path: &str, short: &str, hex_id: &str) -> Markup {
    let name = hex::decode(hex_id)
        .ok()
        .and_then(|b| names.get(&b).cloned())
        .unwrap_or_else(|| format!("{short}:{}", &hex_id[..hex_id.len().min(12)]));
    html! { a href={ (path) "/" (hex_id) } { (name) } }
}

pub(super) fn org_link(names: &HashMap<Vec<u8>, String>, hex_id: &str) -> Markup {
    named_link(names, "/organisationen", "org", hex_id)
}

pub(super) fn product_link(names: &HashMap<Vec<u8>, String>, hex_id: &str) -> Markup {
    named_link(names, "/produkte", "doc", hex_id)
}

// ---------------------------------------------------------------------------------------------
// Start

/// A recently changed document: kind tag, owner, id, product name (for products).
type Activity = (u8, Vec<u8>, Vec<u8>, Option<String>);

struct StartData {
    figures: Vec<(&'static str, u64)>,
    recent: Vec<Activity>,
    top: Vec<query::ProductHit>,
}

pub(super) async fn start(State(s): State<UiState>, Extension(ctx): Extension<Ctx>) -> Page {
    let lang = ctx.lang;
    let peers = s
        .api
        .net
        .status()
        .await
        .map(|n| n.peers.len() as u64)
        .unwrap_or(0);
    // The figures, the most used products and the names: aggregates, kept between requests.
    let summary = db_cached(&s, lang, "start".into(), |conn| {
        let count = |sql: &str| -> Result<u64, UiError> {
            Ok(conn.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64)
        };
        let figures = vec![
            ("Produkte", count("SELECT count(*) FROM idx_product")?),
            ("Organisationen", count("SELECT count(*) FROM idx_org")?),
            ("Einsätze", count("SELECT count(*) FROM idx_deployment")?),
            ("Bewertungen", count("SELECT count(*) FROM idx_rating")?),
            (
                "Nachnutzungsberichte",
                count("SELECT count(*) FROM idx_reuse")?,
            ),
        ];
        let top = query::search(
            conn,
            &SearchQuery {
                limit: 200,
                ..SearchQuery::default()
            },
        )?;
        let mut top = top.hits;
        top.sort_by(|a, b| b.deployments.cmp(&a.deployments).then(a.name.cmp(&b.name)));
        top.truncate(5);
        Ok((figures, top, org_names(conn)?))
    })
    .await?;
    let recent = db(&s, lang, move |conn| {
        // The newest stored changes, newest first, one line per document: read backwards
        // along the change sequence, so that it costs the same for any catalog size.
        let mut stmt = conn.prepare(
            "SELECT d.kind, d.owner, d.id FROM (SELECT doc, seq FROM changes ORDER BY seq DESC LIMIT 500) c
             JOIN documents d ON d.id = c.doc ORDER BY c.seq DESC",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, i64>(0)? as u8, r.get::<_, Vec<u8>>(1)?, r.get::<_, Vec<u8>>(2)?))
        })?;
        let mut recent: Vec<Activity> = Vec::new();
        for row in rows {
            let (kind, owner, doc) = row?;
            if recent.iter().any(|r| r.2 == doc) {
                continue;
            }
            let product: Option<String> = conn
                .query_row("SELECT name FROM idx_product WHERE doc = ?1", [&doc], |r| r.get(0))
                .ok();
            recent.push((kind, owner, doc, product));
            if recent.len() == 8 {
                break;
            }
        }
        Ok(recent)
    })
    .await?;
    let d = StartData {
        figures: summary.0.clone(),
        recent,
        top: summary.1.clone(),
    };
    let t = |x| lang.tr(x);
    let kind_text = |k: u8| match k {
        0 => t("hat das Profil aktualisiert"),
        1 => t("hat Einsätze gemeldet"),
        2 => t("hat Bewertungen oder Nachnutzungsberichte veröffentlicht"),
        3 => t("hat ein Produkt angelegt oder geändert"),
        _ => t("hat Bestätigungen veröffentlicht"),
    };
    let main = html! {
        h1 { (t("Verwaltungssoftware finden und Erfahrungen teilen")) }
        p.lead { (t("Welche Software nutzen andere Verwaltungen für welche Aufgabe, wie gut funktioniert sie, und was hat die Nachnutzung gekostet?")) }
        form.search role="search" method="get" action="/produkte" aria-label=(t("Produkte suchen")) {
            div.field {
                label for="q" { (t("Suchbegriff")) }
                p.hint id="q-hinweis" { (t("z. B. Bauantrag, Meldewesen, XBau")) }
                input type="text" id="q" name="q" aria-describedby="q-hinweis";
            }
            button type="submit" { (t("Suchen")) }
        }
        h2 { (t("Kennzahlen")) }
        ul.figures {
            @for (label, n) in &d.figures {
                li { span.n { (int(lang, *n)) } (t(label)) }
            }
            li { span.n { (int(lang, peers)) } (t("Verbundene Knoten")) }
        }
        div.actions {
            a.button href="/produkte/neu" { (t("Neues Produkt anlegen")) }
            a.button.secondary href="/produkte/import" { (t("publiccode.yml importieren")) }
            a.button.secondary href="/bestand" { (t("Bestand importieren")) }
            a.button.secondary href="/produkte" { (t("Alle Produkte")) }
        }
        h2 { (t("Meistgenutzte Produkte")) }
        @if d.top.is_empty() {
            p { (t("Keine Produkte gefunden.")) }
        } @else {
            ol {
                @for h in &d.top {
                    li { a href={ "/produkte/" (h.id) } { (h.name) } " – " (h.vendor) " (" (int(lang, h.deployments)) " " (t("Einsätze")) ")" }
                }
            }
        }
        h2 { (t("Neueste Aktivität")) }
        @if d.recent.is_empty() {
            p { (t("Noch keine Aktivität.")) }
        } @else {
            ul {
                @for (kind, owner, doc, product) in &d.recent {
                    li {
                        (org_link(&summary.2, &hex::encode(owner))) " " (kind_text(*kind))
                        @if let Some(p) = product {
                            ": " a href={ "/produkte/" (hex::encode(doc)) } { (p) }
                        }
                    }
                }
            }
        }
    };
    let teaser = crate::follow::start_teaser(&s, &ctx).await;
    let main = html! { (main) (teaser) };
    Ok(render(&s, &ctx, Section::Start, t("Start"), None, main)
        .await
        .into_response())
}

// ---------------------------------------------------------------------------------------------
// Product list

/// Parameters of the product list, as given (unknown ones ignored: this is a page, not the API).
#[derive(Debug, Clone, Default)]
struct ListParams {
    q: String,
    filters: Vec<(String, String)>,
    page: u32,
    /// Also the entries without verified steward or evidence (`unverifiziert=1`).
    unverified: bool,
}

const PAGE_SIZE: u32 = 20;

/// The previous and next links of a paged page: `href(n)` is the address of page `n` (from 0)
/// of `pages`.
fn pager(lang: Lang, page: u32, pages: u64, href: impl Fn(u32) -> String) -> Markup {
    let t = |x| lang.tr(x);
    html! {
        nav.actions aria-label=(t("Seiten")) {
            @if page > 0 {
                a href=(href(page - 1)) rel="prev" { (t("Vorherige Seite")) }
            }
            @if u64::from(page) + 1 < pages {
                a href=(href(page + 1)) rel="next" { (t("Nächste Seite")) }
            }
        }
    }
}

fn list_params(raw: Option<&str>) -> ListParams {
    let mut p = ListParams::default();
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let v = v.chars().take(500).collect::<String>();
        match k.as_ref() {
            "q" => p.q = v,
            "seite" => p.page = v.parse().unwrap_or(0).min(10_000),
            "unverifiziert" => p.unverified = v == "1",
            "land" | "kreis" => p.filters.push((k.into_owned(), v)),
            f if query::PRODUCT_FACETS.contains(&f) => p.filters.push((k.into_owned(), v)),
            _ => {}
        }
    }
    p.filters.truncate(20);
    p
}

/// Facet values, most frequent first.
fn by_count(values: &BTreeMap<String, u64>) -> Vec<(&String, &u64)> {
    let mut v: Vec<(&String, &u64)> = values.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v
}

fn list_href(q: &str, filters: &[(String, String)], unverified: bool, page: u32) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    if !q.is_empty() {
        ser.append_pair("q", q);
    }
    for (k, v) in filters {
        ser.append_pair(k, v);
    }
    if unverified {
        ser.append_pair("unverifiziert", "1");
    }
    if page > 0 {
        ser.append_pair("seite", &page.to_string());
    }
    let qs = ser.finish();
    if qs.is_empty() {
        "/produkte".into()
    } else {
        format!("/produkte?{qs}")
    }
}

pub(super) async fn products(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(raw): RawQuery,
) -> Page {
    let lang = ctx.lang;
    let p = list_params(raw.as_deref());
    let mut sq = SearchQuery {
        q: (!p.q.trim().is_empty()).then(|| p.q.clone()),
        limit: PAGE_SIZE,
        offset: p.page * PAGE_SIZE,
        anchors: s.api.anchors.to_vec(),
        own: s.api.tenants.current().iter().map(|t| t.org).collect(),
        unverified: p.unverified,
        ..SearchQuery::default()
    };
    for (k, v) in &p.filters {
        match k.as_str() {
            "land" => sq.land = Some(v.clone()),
            "kreis" => sq.kreis = Some(v.clone()),
            _ => sq.facets.push((k.clone(), v.clone())),
        }
    }
    let result = db(&s, lang, move |conn| Ok(query::search(conn, &sq)?)).await?;
    let t = |x| lang.tr(x);
    let pages = result.total.div_ceil(u64::from(PAGE_SIZE));
    let main = html! {
        h1 { (t("Produkte")) }
        form.search role="search" method="get" action="/produkte" aria-label=(t("Produkte suchen")) {
            div.field {
                label for="q" { (t("Suchbegriff")) }
                input type="text" id="q" name="q" value=(p.q);
            }
            @for (k, v) in &p.filters { input type="hidden" name=(k) value=(v); }
            button type="submit" { (t("Suchen")) }
        }
        p role="status" { strong { (int(lang, result.total)) " " (t("Treffer")) } }
        @if result.hidden_unverified > 0 {
            p {
                a href=(list_href(&p.q, &p.filters, true, 0)) {
                    (int(lang, result.hidden_unverified)) " " (t("weitere, nicht verifizierte Einträge anzeigen"))
                }
                " " span.muted { (t("(weder eine verifizierte Organisation pflegt sie noch hat eine sie im Einsatz, bewertet oder über ihre Nachnutzung berichtet)")) }
            }
        }
        @if !p.filters.is_empty() {
            h2.visually-hidden { (t("Aktive Filter")) }
            ul.actions aria-label=(t("Aktive Filter")) {
                @for (i, (k, v)) in p.filters.iter().enumerate() {
                    @let rest: Vec<(String, String)> = p.filters.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, f)| f.clone()).collect();
                    li { a.button.secondary href=(list_href(&p.q, &rest, p.unverified, 0)) {
                        (t("Filter entfernen")) ": " (t(labels::facet(k))) " " (labels::facet_value(lang, k, v))
                    } }
                }
            }
        }
        div.layout {
            aside.facets aria-label=(t("Filter")) {
                @for facet in query::PRODUCT_FACETS {
                    @if let Some(values) = result.facets.get(*facet) {
                        @let sorted = by_count(values);
                        section {
                            h2 { (t(labels::facet(facet))) }
                            ul {
                                @for (v, n) in sorted.iter().take(12) {
                                    @let active = p.filters.iter().any(|(k, x)| k == facet && x == *v);
                                    @let filters: Vec<(String, String)> = if active {
                                        p.filters.iter().filter(|(k, x)| !(k == facet && x == *v)).cloned().collect()
                                    } else {
                                        let mut f = p.filters.clone();
                                        f.push(((*facet).to_owned(), (*v).clone()));
                                        f
                                    };
                                    li {
                                        @if active {
                                            a href=(list_href(&p.q, &filters, p.unverified, 0)) aria-current="true" {
                                                (labels::facet_value(lang, facet, v)) " (" (int(lang, **n)) ")"
                                            }
                                        } @else {
                                            a href=(list_href(&p.q, &filters, p.unverified, 0)) {
                                                (labels::facet_value(lang, facet, v)) " (" (int(lang, **n)) ")"
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            div {
                @if result.hits.is_empty() {
                    p { (t("Keine Produkte gefunden.")) }
                    p { a href="/produkte/neu" { (t("Neues Produkt anlegen")) } }
                } @else {
                    ol.treffer {
                        @for h in &result.hits {
                            li {
                                h2 { a href={ "/produkte/" (h.id) } { (h.name) } }
                                p {
                                    (h.vendor) " · " (labels::value(lang, &h.kind))
                                    @if let Some(l) = &h.licence { " · " (l) }
                                    " · " (int(lang, h.deployments)) " " (t("Einsätze"))
                                }
                            }
                        }
                    }
                    (pager(lang, p.page, pages, |n| list_href(&p.q, &p.filters, p.unverified, n)))
                }
            }
        }
    };
    Ok(
        render(&s, &ctx, Section::Products, t("Produkte"), None, main)
            .await
            .into_response(),
    )
}

// ---------------------------------------------------------------------------------------------
// Product

struct ProductData {
    id: String,
    product: Product,
    created_by: String,
    merged_into: Option<String>,
    deployments: Vec<(String, String, Deployment)>,
    ratings: Vec<(String, Rating)>,
    reports: Vec<(String, ReuseReport)>,
    summary: std::sync::Arc<ProductSummary>,
    similar: Vec<(String, String)>,
    orgs: HashMap<Vec<u8>, String>,
    /// Which of `orgs` a followed anchor attests (their records carry the verified badge).
    verified: std::collections::HashSet<Vec<u8>>,
    products: HashMap<Vec<u8>, String>,
    /// The page of records shown (from 0), and how many pages there are.
    page: u32,
    pages: u32,
    /// Deployments, ratings and reports in all, over every page.
    deployment_total: u64,
    rating_total: u64,
    report_total: u64,
}

/// What a product page shows over every record of the product, kept per product between
/// requests (the aggregate cache): for the most used product of a full catalog it reads some
/// 100,000 index rows (about 0.4 s).
struct ProductSummary {
    means: BTreeMap<String, f64>,
    distribution: [u64; 5],
    /// The best-evidenced integrations (at most [`PRODUCT_PAGE_INTEGRATIONS`]), and how many
    /// there are.
    integrations: Vec<serde_json::Value>,
    integration_total: u64,
    /// Organisations using it in pilot or production, per Land.
    by_land: BTreeMap<String, u64>,
}

fn product_summary(conn: &Connection, doc: DocId) -> Result<ProductSummary, UiError> {
    let id = doc.as_bytes().to_vec();
    let (mut integrations, means) = allmende_api::http::product_aggregates(conn, doc)?;
    // The best-evidenced integrations only: the most used product of a full catalog has
    // 10,816 (partner, standard) pairs. The API lists them all.
    let integration_total = integrations.len() as u64;
    let evidence = |i: &serde_json::Value| {
        ["works", "partly", "fails"]
            .iter()
            .map(|k| i.get(*k).and_then(serde_json::Value::as_i64).unwrap_or(0))
            .sum::<i64>()
    };
    integrations.sort_by_key(|i| std::cmp::Reverse(evidence(i)));
    integrations.truncate(PRODUCT_PAGE_INTEGRATIONS);
    let mut distribution = [0u64; 5];
    let mut stmt = conn.prepare(
        "SELECT score, count(*) FROM idx_rating_score WHERE product = ?1 GROUP BY score",
    )?;
    for row in stmt.query_map([&id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))? {
        let (score, n) = row?;
        if (1..=5).contains(&score) {
            distribution[(score - 1) as usize] = n as u64;
        }
    }
    let mut by_land = BTreeMap::new();
    let mut stmt = conn.prepare(
        "SELECT coalesce(o.land, '??'), count(DISTINCT d.org) FROM idx_deployment d
         LEFT JOIN idx_org o ON o.org = d.org
         WHERE d.product = ?1 AND d.status IN ('pilot', 'production') GROUP BY o.land",
    )?;
    for row in stmt.query_map([&id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (land, n) = row?;
        by_land.insert(land, n as u64);
    }
    Ok(ProductSummary {
        means,
        distribution,
        integrations,
        integration_total,
        by_land,
    })
}

/// Records of each kind (deployments, ratings, reports) on one page of a product: the most
/// used product of a full catalog has 11,000 deployments and 7,000 ratings.
const PRODUCT_PAGE_ROWS: u32 = 100;

/// Integrations (partner product, standard) shown on a product page, best evidenced first.
const PRODUCT_PAGE_INTEGRATIONS: usize = 100;

fn typed<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> Option<T> {
    serde_json::from_value(v.get("record")?.clone()).ok()
}

fn str_of(v: &serde_json::Value, k: &str) -> String {
    v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned()
}

fn load_product(
    conn: &Connection,
    doc: DocId,
    page_no: u32,
    summary: std::sync::Arc<ProductSummary>,
    anchors: &[OrgId],
) -> Result<Option<ProductData>, UiError> {
    let window = (PRODUCT_PAGE_ROWS, page_no.saturating_mul(PRODUCT_PAGE_ROWS));
    let Some(page) = allmende_api::http::product_page(conn, doc, Some(window))? else {
        return Ok(None);
    };
    let product: Product = match serde_json::from_value(page.product.clone()) {
        Ok(p) => p,
        Err(e) => {
            return Err(UiError::Internal(format!(
                "stored product does not parse: {e}"
            )));
        }
    };
    let id = doc.as_bytes().to_vec();
    let (deployment_total, rating_total, report_total): (i64, i64, i64) = conn.query_row(
        "SELECT (SELECT count(*) FROM idx_deployment WHERE product = ?1),
                (SELECT count(*) FROM idx_rating WHERE product = ?1),
                (SELECT count(*) FROM idx_reuse WHERE product = ?1)",
        [&id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let most = deployment_total.max(rating_total).max(report_total).max(0) as u64;
    let pages = most.div_ceil(u64::from(PRODUCT_PAGE_ROWS)).max(1);
    let mut similar: Vec<(String, String)> = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT DISTINCT p.doc, p.name FROM idx_product_facet f
         JOIN idx_product_facet g ON g.facet = f.facet AND g.value = f.value AND g.doc != f.doc
         JOIN idx_product p ON p.doc = g.doc
         WHERE f.doc = ?1 AND f.facet IN ('task', 'themenfeld', 'category') ORDER BY p.name LIMIT 10",
    )?;
    for row in stmt.query_map([&id], |r| {
        Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
    })? {
        let (d, n) = row?;
        similar.push((hex::encode(d), n));
    }
    for h in query::similar(conn, &product.name, &product.vendor)? {
        if h.id != hex::encode(&id) && !similar.iter().any(|(i, _)| *i == h.id) {
            similar.push((h.id, h.name));
        }
    }
    let deployments: Vec<(String, String, Deployment)> = page
        .deployments
        .iter()
        .filter_map(|v| Some((str_of(v, "org"), str_of(v, "key"), typed(v)?)))
        .collect();
    let ratings: Vec<(String, Rating)> = page
        .ratings
        .iter()
        .filter_map(|v| Some((str_of(v, "org"), typed(v)?)))
        .collect();
    let reports: Vec<(String, ReuseReport)> = page
        .reuse_reports
        .iter()
        .filter_map(|v| Some((str_of(v, "org"), typed(v)?)))
        .collect();
    let linked_orgs = std::iter::once(page.created_by.clone())
        .chain(deployments.iter().map(|(o, _, _)| o.clone()))
        .chain(
            deployments
                .iter()
                .filter_map(|(_, _, d)| match &d.operated_by {
                    OperatedBy::ItDienstleister { org } => Some(format!("{org:#}")),
                    _ => None,
                }),
        )
        .chain(ratings.iter().map(|(o, _)| o.clone()))
        .chain(reports.iter().map(|(o, _)| o.clone()))
        .chain(
            reports
                .iter()
                .filter_map(|(_, r)| r.provider.as_ref().map(|p| format!("{p:#}"))),
        )
        .filter_map(|h| hex::decode(h).ok());
    let linked_orgs: Vec<Vec<u8>> = linked_orgs.collect();
    let verified = query::verified_among(conn, anchors, &linked_orgs)?;
    let orgs = names_among(conn, Named::Orgs, linked_orgs)?;
    let linked_products = page
        .merged_into
        .iter()
        .cloned()
        .chain(
            summary
                .integrations
                .iter()
                .flat_map(|i| [str_of(i, "product"), str_of(i, "other")]),
        )
        .filter_map(|h| hex::decode(h).ok());
    let products = names_among(conn, Named::Products, linked_products)?;
    Ok(Some(ProductData {
        id: hex::encode(&id),
        product,
        created_by: page.created_by.clone(),
        merged_into: page.merged_into.clone(),
        verified,
        deployments,
        ratings,
        reports,
        summary,
        similar,
        orgs,
        products,
        page: page_no,
        pages: u32::try_from(pages).unwrap_or(u32::MAX),
        deployment_total: deployment_total.max(0) as u64,
        rating_total: rating_total.max(0) as u64,
        report_total: report_total.max(0) as u64,
    }))
}

pub(super) fn flash_text(lang: Lang, raw: Option<&str>) -> Option<&'static str> {
    let which = url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .find(|(k, _)| k == "gespeichert")
        .map(|(_, v)| v.into_owned())?;
    Some(lang.tr(match which.as_str() {
        "bewertung" => {
            "Bewertung veröffentlicht. Andere Knoten erhalten sie beim nächsten Abgleich."
        }
        "einsatz" => "Einsatz veröffentlicht. Andere Knoten erhalten ihn beim nächsten Abgleich.",
        "bericht" => {
            "Nachnutzungsbericht veröffentlicht. Andere Knoten erhalten ihn beim nächsten Abgleich."
        }
        "produkt" => "Produkt gespeichert. Andere Knoten erhalten es beim nächsten Abgleich.",
        "schulung" => "Schulungsangebot veröffentlicht. Andere Knoten erhalten es beim nächsten Abgleich.",
        "schulungsbewertung" => "Bewertung der Schulung veröffentlicht. Andere Knoten erhalten sie beim nächsten Abgleich.",
        "vorschlag" => {
            "Änderungsvorschlag gespeichert. Die Pflegenden des Eintrags entscheiden, ob sie ihn übernehmen."
        }
        "angenommen" => "Vorschlag übernommen. Andere Knoten erhalten die Änderung beim nächsten Abgleich.",
        "abgelehnt" => "Vorschlag abgelehnt.",
        "delegation" => "Delegation signiert. Andere Knoten erhalten sie beim nächsten Abgleich.",
        "widerruf" => "Widerruf signiert. Andere Knoten erhalten ihn beim nächsten Abgleich.",
        _ => return None,
    }))
}

pub(super) async fn product(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Page {
    let lang = ctx.lang;
    let doc = parse_doc(lang, &id)?;
    let page_no = list_params(raw.as_deref()).page;
    let summary = db_cached(&s, lang, format!("product-summary:{doc:#}"), move |conn| {
        product_summary(conn, doc)
    })
    .await?;
    let anchors = s.api.anchors.clone();
    let Some(d) = db(&s, lang, move |conn| {
        load_product(conn, doc, page_no, summary, &anchors)
    })
    .await?
    else {
        return Err(not_found(
            lang,
            "Dieses Produkt ist auf diesem Knoten nicht bekannt.",
        ));
    };
    let sc = stats_scope(&s, None);
    let exchange = db(&s, lang, move |conn| super::exchange::load(conn, doc, &sc)).await?;
    let all_proposals = super::stewardship::wants_all(raw.as_deref());
    let stewardship = super::stewardship::load(&s, lang, doc, all_proposals).await?;
    // The node's organisation (or a hosted one) that looks after the entry, if any.
    let decider = stewardship
        .as_ref()
        .and_then(|v| super::stewardship::steward_tenant(&s, v));
    let t = |x| lang.tr(x);
    let p = &d.product;
    let yes_no = |b: bool| if b { t("ja") } else { t("nein") };
    let dims: Vec<&str> = allmende_protocol::schema::RatingDimension::ALL
        .iter()
        .map(|d| d.slug())
        .collect();
    let means_chart = BarChart {
        id: "mittelwerte",
        title: t("Mittelwert je Dimension"),
        label_header: t("Dimension"),
        value_header: t("Mittelwert"),
        max: Some(5.0),
        bars: dims
            .iter()
            .filter_map(|dim| {
                d.summary.means.get(*dim).map(|m| Bar {
                    label: labels::value(lang, dim),
                    value: *m,
                    shown: format!("{} / 5", dec(lang, *m)),
                })
            })
            .collect(),
    };
    let dist_chart = BarChart {
        id: "verteilung",
        title: t("Verteilung der Punktzahlen"),
        label_header: t("Punktzahl"),
        value_header: t("Anzahl"),
        max: None,
        bars: if d.summary.distribution.iter().all(|n| *n == 0) {
            vec![]
        } else {
            (1..=5u64)
                .map(|sc| Bar {
                    label: format!("{sc} / 5"),
                    value: d.summary.distribution[(sc - 1) as usize] as f64,
                    shown: int(lang, d.summary.distribution[(sc - 1) as usize]),
                })
                .collect()
        },
    };
    let land_chart = BarChart {
        id: "nutzung-land",
        title: t("Nutzung nach Land"),
        label_header: t("Land"),
        value_header: t("Organisationen"),
        max: None,
        bars: d
            .summary
            .by_land
            .iter()
            .map(|(l, n)| Bar {
                label: if l == "??" {
                    t("ohne Land").to_owned()
                } else {
                    labels::land(l)
                },
                value: *n as f64,
                shown: int(lang, *n),
            })
            .collect(),
    };
    let main = html! {
        h1 { (p.name) }
        p.lead { (p.vendor) " · " (labels::value(lang, p.kind.slug())) }
        @if let Some(m) = &d.merged_into {
            p.flash { (t("Dieser Eintrag wurde mit einem anderen zusammengeführt:")) " " (product_link(&d.products, m)) }
        }
        div.actions {
            a.button href={ "/produkte/" (d.id) "/bewerten" } { (t("Produkt bewerten")) }
            a.button.secondary href={ "/einsaetze/neu?produkt=" (d.id) } { (t("Einsatz melden")) }
            a.button.secondary href={ "/nachnutzung/neu?produkt=" (d.id) } { (t("Nachnutzung berichten")) }
            a.button.secondary href={ "/produkte/" (d.id) "/bearbeiten" } {
                @if stewardship.is_some() && decider.is_none() {
                    (t("Änderung vorschlagen"))
                } @else {
                    (t("Produkt bearbeiten"))
                }
            }
        }
        h2 { (t("Beschreibung")) }
        @match &p.description {
            Some(text) => p.quote { (text) },
            None => p.muted { (t("Keine Beschreibung angegeben.")) },
        }
        dl.facts {
            dt { (t("Lizenz")) } dd { @match &p.licence { Some(l) => { (l.as_str()) " (" (if l.is_open_source() { t("Open Source") } else { t("nicht Open Source") }) ")" }, None => { (t("keine Angabe")) } } }
            @if let Some(efa) = &p.efa {
                dt { (t("Einer für Alle")) } dd { (labels::land(efa.providing_land.code())) @if let Some(r) = &efa.reuse_route { " · " (r) } }
            }
            @if !p.hosting.is_empty() {
                dt { (t("Betrieb")) } dd { @for (i, h) in p.hosting.iter().enumerate() { @if i > 0 { ", " } (labels::value(lang, h.slug())) } }
            }
            @if let Some(u) = &p.website { dt { (t("Website")) } dd { a href=(u.as_str()) rel="noopener noreferrer" { (u.as_str()) } } }
            @if let Some(u) = &p.repository { dt { (t("Repository")) } dd { a href=(u.as_str()) rel="noopener noreferrer" { (u.as_str()) } } }
            @if let Some(u) = &p.accessibility_statement { dt { (t("Erklärung zur Barrierefreiheit")) } dd { a href=(u.as_str()) rel="noopener noreferrer" { (u.as_str()) } } }
            @if let Some(b) = p.dpia_available { dt { (t("Datenschutz-Folgenabschätzung verfügbar")) } dd { (yes_no(b)) } }
            @if let Some(b) = p.test_instance { dt { (t("Testinstanz verfügbar")) } dd { (yes_no(b)) } }
            @if let Some(v) = &p.current_version { dt { (t("Aktuelle Version")) } dd { (v) } }
            @if let Some(d) = &p.support_ends { dt { (t("Support endet am")) } dd { time datetime=(d.as_str()) { (d.as_str()) } } }
            dt { (t("Angelegt von")) } dd { (org_link(&d.orgs, &d.created_by)) " " (author_badge(lang, &d.verified, &d.created_by)) }
            dt { (t("Kennung")) } dd.mono { (d.id) }
        }
        @if let Some(v) = &stewardship {
            (super::stewardship::sections(lang, v, decider, &ctx.csrf, all_proposals))
        }
        h2 { (t("Aufgaben")) }
        @if p.tasks.is_empty() && p.categories.is_empty() {
            p.muted { (t("keine Angabe")) }
        } @else {
            ul {
                @for task in &p.tasks { li {
                    a href={ "/aufgaben/" (url_part(task.as_str())) } { (labels::task(task.as_str())) }
                    @if let Some(k) = labels::task_key(task.as_str()) { " " span.muted { "(" (k) ")" } }
                } }
                @for c in &p.categories { li { (c) } }
            }
        }
        h2 { (t("Standards und Schnittstellen")) }
        @if p.standards.is_empty() {
            p.muted { (t("keine Angabe")) }
        } @else {
            ul { @for st in &p.standards { li { a href={ "/produkte?standard=" (url_part(st)) } { (st) } } } }
        }
        h2 { (t("Voraussetzungen und Kosten")) }
        dl.facts {
            dt { (t("Voraussetzungen")) } dd { (p.prerequisites.as_deref().unwrap_or(t("keine Angabe"))) }
            dt { (t("Kostenmodell")) } dd { (p.cost_model.as_deref().unwrap_or(t("keine Angabe"))) }
            dt { (t("Service-Level")) } dd { (p.sla.as_deref().unwrap_or(t("keine Angabe"))) }
        }
        h2 { (t("Einsätze")) }
        @if d.pages > 1 {
            p.muted {
                (int(lang, d.deployment_total)) " " (t("Einsätze")) " · " (int(lang, d.rating_total)) " " (t("Bewertungen"))
                " · " (t("Seite")) " " (d.page + 1) " / " (d.pages)
            }
        }
        @if d.deployment_total == 0 {
            p { (t("Noch keine Einsätze gemeldet.")) }
        } @else {
            h3 { (t("Wer nutzt es wo")) }
            @if !d.deployments.is_empty() { div.table-wrap { table {
                thead { tr {
                    th scope="col" { (t("Organisation")) } th scope="col" { (t("Status")) } th scope="col" { (t("seit")) }
                    th scope="col" { (t("Betrieben von")) } th scope="col" { (t("Kosten jährlich")) }
                } }
                tbody { @for (org, _key, dep) in &d.deployments { tr {
                    th scope="row" { (org_link(&d.orgs, org)) " " (author_badge(lang, &d.verified, org)) }
                    td { (labels::value(lang, dep.status.slug())) }
                    td { (dep.since.as_ref().map(|x| x.as_str().to_owned()).unwrap_or_else(|| "–".into())) }
                    td { (operated_by(lang, &d.orgs, &dep.operated_by)) }
                    td.num { (dep.cost_yearly_eur.map(|c| format!("{} €", int(lang, c))).unwrap_or_else(|| "–".into())) }
                } } }
            } } }
            (bar_chart(lang, &land_chart))
        }
        h2 { (t("Bewertungen")) }
        @if d.rating_total == 0 {
            p { (t("Noch keine Bewertungen.")) }
        } @else {
            (bar_chart(lang, &means_chart))
            (bar_chart(lang, &dist_chart))
            @for (org, r) in &d.ratings {
                article.rating {
                    h3 { (org_link(&d.orgs, org)) " " (author_badge(lang, &d.verified, org)) }
                    p {
                        @for (i, (dim, score)) in r.scores.iter().enumerate() {
                            @if i > 0 { " · " }
                            (labels::value(lang, dim.slug())) ": " (score.get()) "/5"
                        }
                        @if let Some(rec) = r.recommend { " · " (t("Weiterempfehlung")) ": " (yes_no(rec)) }
                    }
                    @if let Some(text) = &r.text { p.quote { (text) } }
                }
            }
        }
        h2 { (t("Nachnutzungsberichte")) }
        @if d.report_total == 0 {
            p { (t("Noch keine Nachnutzungsberichte.")) }
        } @else {
            @for (org, r) in &d.reports {
                article.report {
                    h3 { (org_link(&d.orgs, org)) " " (author_badge(lang, &d.verified, org)) }
                    dl.facts {
                        dt { (t("Ergebnis")) } dd { (labels::value(lang, r.outcome.slug())) }
                        dt { (t("Einer für Alle")) } dd { (yes_no(r.efa)) }
                        @if let Some(p) = &r.provider { dt { (t("Anbieter")) } dd { (org_link(&d.orgs, &format!("{p:#}"))) } }
                        @if let Some(x) = r.effort_person_days { dt { (t("Aufwand (Personentage)")) } dd { (int(lang, u64::from(x))) } }
                        @if let Some(x) = r.weeks_to_production { dt { (t("Wochen bis zum Betrieb")) } dd { (int(lang, u64::from(x))) } }
                        @if let Some(x) = r.cost_once_eur { dt { (t("Kosten einmalig")) } dd { (int(lang, x)) " €" } }
                        @if let Some(x) = r.cost_yearly_eur { dt { (t("Kosten jährlich")) } dd { (int(lang, x)) " €" } }
                        @if !r.obstacles.is_empty() { dt { (t("Hindernisse")) } dd { @for (i, o) in r.obstacles.iter().enumerate() { @if i > 0 { ", " } (labels::value(lang, o.slug())) } } }
                        @if let Some(rec) = r.recommend { dt { (t("Weiterempfehlung")) } dd { (yes_no(rec)) } }
                    }
                    @if let Some(text) = &r.text { p.quote { (text) } }
                }
            }
        }
        @if d.pages > 1 {
            (pager(lang, d.page, u64::from(d.pages), |n| format!("/produkte/{}?seite={n}", d.id)))
        }
        (super::exchange::product_sections(lang, &d.id, &exchange))
        h2 { (t("Interoperabilität")) }
        @if d.summary.integrations.is_empty() {
            p { (t("Keine Integrationen gemeldet.")) }
        } @else {
            @if d.summary.integration_total > d.summary.integrations.len() as u64 {
                p.muted {
                    (int(lang, d.summary.integrations.len() as u64)) " / " (int(lang, d.summary.integration_total)) " · "
                    (t("Die am besten belegten Integrationen; alle in der API unter")) " "
                    a href={ "/api/v1/products/" (d.id) } { "/api/v1/products/…" }
                }
            }
            div.table-wrap { table {
                thead { tr { th scope="col" { (t("Partnerprodukt")) } th scope="col" { (t("Standard")) } th scope="col" { (t("funktioniert")) } th scope="col" { (t("teilweise")) } th scope="col" { (t("funktioniert nicht")) } } }
                tbody { @for i in &d.summary.integrations {
                    @let other = if str_of(i, "product") == d.id { str_of(i, "other") } else { str_of(i, "product") };
                    tr {
                        th scope="row" { (product_link(&d.products, &other)) }
                        td { (str_of(i, "standard")) }
                        td.num { (i.get("works").and_then(|x| x.as_i64()).unwrap_or(0)) }
                        td.num { (i.get("partly").and_then(|x| x.as_i64()).unwrap_or(0)) }
                        td.num { (i.get("fails").and_then(|x| x.as_i64()).unwrap_or(0)) }
                    }
                } }
            } }
        }
        h2 { (t("Ähnliche Produkte")) }
        @if d.similar.is_empty() {
            p { (t("Keine ähnlichen Produkte gefunden.")) }
        } @else {
            ul { @for (id, name) in &d.similar { li { a href={ "/produkte/" (id) } { (name) } } } }
        }
    };
    let flash = flash_text(lang, raw.as_deref());
    let (main, feed) =
        crate::follow::with_controls(&s, &ctx, WatchKind::Product, &format!("{doc:#}"), main).await;
    Ok(render_feed(
        &s,
        &ctx,
        Section::Products,
        &p.name,
        flash,
        main,
        Some(&feed),
    )
    .await
    .into_response())
}

fn operated_by(lang: Lang, orgs: &HashMap<Vec<u8>, String>, o: &OperatedBy) -> Markup {
    match o {
        OperatedBy::Itself => html! { (lang.tr("selbst")) },
        OperatedBy::Saas => html! { (lang.tr("Hersteller (SaaS)")) },
        OperatedBy::ItDienstleister { org } => org_link(orgs, &format!("{org:#}")),
    }
}

// ---------------------------------------------------------------------------------------------
// Organisations

struct OrgRow {
    id: String,
    name: String,
    kind: String,
    land: Option<String>,
    population: Option<i64>,
    deployments: i64,
    verified: bool,
}

/// Organisations on one page of the organisation list (11,000 at full scale).
const ORGS_PER_PAGE: u32 = 200;

pub(super) async fn organisations(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(raw): RawQuery,
) -> Page {
    let lang = ctx.lang;
    let anchors = s.api.anchors.clone();
    let page = list_params(raw.as_deref()).page;
    let (total, rows) = db(&s, lang, move |conn| {
        let total: i64 = conn.query_row("SELECT count(*) FROM idx_org", [], |r| r.get(0))?;
        let verified: std::collections::HashSet<Vec<u8>> = query::verified_orgs(conn, &anchors)?
            .iter()
            .map(|v| v.as_bytes().to_vec())
            .collect();
        let mut stmt = conn.prepare(
            "SELECT o.org, o.name, o.kind, o.land, o.population,
               (SELECT count(*) FROM idx_deployment d WHERE d.org = o.org)
             FROM idx_org o ORDER BY o.name COLLATE NOCASE, o.org LIMIT ?1 OFFSET ?2",
        )?;
        let rows = stmt.query_map([ORGS_PER_PAGE, page * ORGS_PER_PAGE], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (org, name, kind, land, population, deployments) = row?;
            let is_verified = verified.contains(&org);
            out.push(OrgRow {
                id: hex::encode(org),
                name,
                kind,
                land,
                population,
                deployments,
                verified: is_verified,
            });
        }
        Ok((total.max(0) as u64, out))
    })
    .await?;
    let t = |x| lang.tr(x);
    let pages = total.div_ceil(u64::from(ORGS_PER_PAGE));
    let href = |page: u32| match page {
        0 => "/organisationen".to_owned(),
        n => format!("/organisationen?seite={n}"),
    };
    let main = html! {
        h1 { (t("Organisationen")) }
        @if rows.is_empty() {
            p { (t("Keine.")) }
        } @else {
            @if pages > 1 {
                p.muted {
                    (int(lang, total)) " " (t("Organisationen")) " · " (t("Seite")) " "
                    (page + 1) " / " (pages)
                }
            }
            div.table-wrap { table {
                thead { tr {
                    th scope="col" { (t("Organisation")) } th scope="col" { (t("Art")) } th scope="col" { (t("Land")) }
                    th scope="col" { (t("Einwohner")) } th scope="col" { (t("Einsätze")) } th scope="col" { (t("Verifiziert")) }
                } }
                tbody { @for o in &rows { tr {
                    th scope="row" { a href={ "/organisationen/" (o.id) } { (o.name) } }
                    td { (labels::value(lang, &o.kind)) }
                    td { (o.land.as_deref().map(labels::land).unwrap_or_else(|| "–".into())) }
                    td.num { (o.population.map(|p| int(lang, p.max(0) as u64)).unwrap_or_else(|| "–".into())) }
                    td.num { (o.deployments) }
                    td { (verified_badge(lang, o.verified)) }
                } } }
            } }
            (pager(lang, page, pages, href))
        }
    };
    Ok(render(
        &s,
        &ctx,
        Section::Organisations,
        t("Organisationen"),
        None,
        main,
    )
    .await
    .into_response())
}

/// The verified badge of a record's author (hex id) on a product page.
fn author_badge(lang: Lang, verified: &std::collections::HashSet<Vec<u8>>, org: &str) -> Markup {
    let yes = hex::decode(org).is_ok_and(|b| verified.contains(&b));
    verified_badge(lang, yes)
}

struct OrgData {
    id: String,
    profile: Option<OrgProfile>,
    verified: bool,
    attested_by: Vec<String>,
    deployments: Vec<(String, Deployment)>,
    ratings: Vec<Rating>,
    reports: Vec<ReuseReport>,
    members: Vec<(String, String)>,
    orgs: HashMap<Vec<u8>, String>,
    products: HashMap<Vec<u8>, String>,
    /// What the Gemeindeverzeichnis says of the profile's AGS: official name, population,
    /// the directory's status date; `Err(status)` when it does not know the AGS.
    official: Option<Result<(String, u64, String), String>>,
}

/// A proof that a key of the organisation equivocated: signer, document, sequence number.
type Fork = (String, String, u64);

pub(super) async fn organisation(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Page {
    let lang = ctx.lang;
    let org: OrgId = id
        .parse()
        .map_err(|_| not_found(lang, "Keine gültige Organisationskennung."))?;
    let anchors = s.api.anchors.clone();
    let d = db(&s, lang, move |conn| {
        let key = org.as_bytes().to_vec();
        let profile: Option<OrgProfile> = conn
            .query_row("SELECT json FROM idx_org WHERE org = ?1", [&key], |r| {
                r.get::<_, String>(0)
            })
            .ok()
            .and_then(|j| serde_json::from_str(&j).ok());
        let records = |sql: &str| -> Result<Vec<(String, String)>, UiError> {
            let mut stmt = conn.prepare(sql)?;
            let rows = stmt.query_map([&key], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        };
        let deployments: Vec<(String, Deployment)> =
            records(&query::own_records_sql("idx_deployment"))?
                .into_iter()
                .filter_map(|(k, j)| Some((k, serde_json::from_str(&j).ok()?)))
                .collect();
        let ratings: Vec<Rating> = records(&query::own_records_sql("idx_rating"))?
            .into_iter()
            .filter_map(|(_, j)| serde_json::from_str(&j).ok())
            .collect();
        let reports: Vec<ReuseReport> = records(&query::own_records_sql("idx_reuse"))?
            .into_iter()
            .filter_map(|(_, j)| serde_json::from_str(&j).ok())
            .collect();
        if profile.is_none() && deployments.is_empty() && ratings.is_empty() && reports.is_empty() {
            return Ok(None);
        }
        let mut stmt =
            conn.prepare("SELECT DISTINCT anchor FROM idx_attestation WHERE org = ?1")?;
        let attested_by: Vec<String> = stmt
            .query_map([&key], |r| r.get::<_, Vec<u8>>(0))?
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .map(hex::encode)
            .collect();
        let mut stmt = conn
            .prepare("SELECT org, name FROM idx_org WHERE it_dienstleister = ?1 ORDER BY name")?;
        let members: Vec<(String, String)> = stmt
            .query_map([&key], |r| {
                Ok((hex::encode(r.get::<_, Vec<u8>>(0)?), r.get::<_, String>(1)?))
            })?
            .collect::<Result<_, _>>()?;
        let verified = query::is_verified(conn, &org, &anchors)?;
        let linked_orgs = profile
            .iter()
            .filter_map(|p| p.it_dienstleister.as_ref())
            .chain(
                deployments
                    .iter()
                    .filter_map(|(_, d)| match &d.operated_by {
                        OperatedBy::ItDienstleister { org } => Some(org),
                        _ => None,
                    }),
            )
            .map(|o| o.as_bytes().to_vec())
            .chain(attested_by.iter().filter_map(|a| hex::decode(a).ok()));
        let orgs = names_among(conn, Named::Orgs, linked_orgs)?;
        let linked_products = deployments
            .iter()
            .map(|(_, d)| &d.product)
            .chain(ratings.iter().map(|r| &r.product))
            .chain(reports.iter().map(|r| &r.product))
            .map(|p| p.as_bytes().to_vec());
        let products = names_among(conn, Named::Products, linked_products)?;
        let official = match profile.as_ref().and_then(|p| p.ags.as_ref()) {
            Some(ags) => {
                let dir = allmende_catalog::refdata::directory(conn)?;
                Some(match dir.area(ags.as_str()) {
                    Some(area) => Ok((
                        area.name().to_owned(),
                        dir.population(area),
                        dir.status_date(),
                    )),
                    None => Err(dir.status_date()),
                })
            }
            None => None,
        };
        Ok(Some(OrgData {
            official,
            id: hex::encode(&key),
            profile,
            verified,
            attested_by,
            deployments,
            ratings,
            reports,
            members,
            orgs,
            products,
        }))
    })
    .await?;
    let Some(d) = d else {
        return Err(not_found(
            lang,
            "Diese Organisation ist auf diesem Knoten nicht bekannt.",
        ));
    };
    let forks: Vec<Fork> = s
        .api
        .repo
        .certificates()
        .equivocations_of(org)
        .into_iter()
        .map(|p| {
            (
                format!("{:#}", p.signer()),
                format!("{:#}", p.doc()),
                p.seq(),
            )
        })
        .collect();
    let t = |x| lang.tr(x);
    let title = d
        .profile
        .as_ref()
        .map_or_else(|| format!("org:{}", &d.id[..12]), |p| p.name.clone());
    let main = html! {
        h1 { (title) }
        p { (verified_badge(lang, d.verified)) " "
            @if d.verified { (t("Von einem Vertrauensanker bestätigt.")) } @else { (t("Von keinem Vertrauensanker dieses Knotens bestätigt.")) }
        }
        @if !forks.is_empty() {
            div.error-summary role="alert" aria-labelledby="gabelung-titel" {
                h2 #gabelung-titel { (t("Widersprüchliche Änderungen signiert")) }
                p { (t("Ein Schlüssel dieser Organisation hat zwei verschiedene Änderungen für dieselbe Stelle eines Dokuments signiert. Beide Signaturen liegen als Beweis vor; jeder Knoten verwirft die Änderungen dieser Sitzung ab dieser Stelle.")) }
                ul { @for (key, doc, seq) in &forks { li.mono { (key) " · " (t("Dokument")) " " (doc) " · " (t("Nummer")) " " (seq) } } }
            }
        }
        dl.facts {
            @if let Some(p) = &d.profile {
                dt { (t("Art")) } dd { (labels::value(lang, p.kind.slug())) }
                @if let Some(a) = &p.ags { dt { (t("AGS")) } dd { (a.as_str()) } }
                @match &d.official {
                    Some(Ok((name, people, status))) => {
                        dt { (t("Laut Gemeindeverzeichnis")) }
                        dd {
                            (name) ", " (int(lang, *people)) " " (t("Einwohner"))
                            " " span.muted { "(" (t("Stand")) " " (status) ", " (allmende_protocol::gv100ad::COPYRIGHT) ")" }
                        }
                    }
                    Some(Err(status)) => {
                        dt { (t("Laut Gemeindeverzeichnis")) }
                        dd { (t("AGS nicht im Gemeindeverzeichnis")) " " span.muted { "(" (t("Stand")) " " (status) ")" } }
                    }
                    None => {}
                }
                @if let Some(l) = &p.land { dt { (t("Land")) } dd { (l.name()) } }
                @if let Some(n) = p.population { dt { (t("Einwohner (eigene Angabe)")) } dd { (int(lang, u64::from(n))) } }
                @if let Some(w) = &p.website { dt { (t("Website")) } dd { a href=(w.as_str()) rel="noopener noreferrer" { (w.as_str()) } } }
                @if let Some(r) = &p.contact_role { dt { (t("Ansprechpartner (Rolle)")) } dd { (r) } }
                @if let Some(it) = &p.it_dienstleister { dt { (t("IT-Dienstleister")) } dd { (org_link(&d.orgs, &format!("{it:#}"))) } }
            }
            @if !d.attested_by.is_empty() {
                dt { (t("Bestätigt von")) } dd { @for (i, a) in d.attested_by.iter().enumerate() { @if i > 0 { ", " } (org_link(&d.orgs, a)) } }
            }
            dt { (t("Kennung")) } dd.mono { (d.id) }
        }
        @if !d.members.is_empty() {
            h2 { (t("Betreute Organisationen")) }
            ul { @for (id, name) in &d.members { li { a href={ "/organisationen/" (id) } { (name) } } } }
        }
        p.actions { a href={ "/organisationen/" (d.id) "/vergleich" } { (t("Nachbarvergleich: was vergleichbare Organisationen einsetzen")) } }
        h2 { (t("Software-Ausstattung")) }
        @if d.deployments.is_empty() {
            p { (t("Noch keine Einsätze gemeldet.")) }
        } @else {
            div.table-wrap { table {
                thead { tr { th scope="col" { (t("Produkt")) } th scope="col" { (t("Status")) } th scope="col" { (t("seit")) } th scope="col" { (t("Betrieben von")) } } }
                tbody { @for (key, dep) in &d.deployments { tr {
                    th scope="row" { (product_link(&d.products, &format!("{:#}", dep.product))) }
                    td { (labels::value(lang, dep.status.slug())) }
                    td { (dep.since.as_ref().map(|x| x.as_str().to_owned()).unwrap_or_else(|| "–".into())) }
                    td { (operated_by(lang, &d.orgs, &dep.operated_by)) " " span.visually-hidden { (key) } }
                } } }
            } }
        }
        h2 { (t("Eigene Bewertungen")) }
        @if d.ratings.is_empty() { p { (t("Noch keine Bewertungen.")) } } @else {
            ul { @for r in &d.ratings { li {
                (product_link(&d.products, &format!("{:#}", r.product))) ": "
                @for (i, (dim, score)) in r.scores.iter().enumerate() { @if i > 0 { ", " } (labels::value(lang, dim.slug())) " " (score.get()) "/5" }
            } } }
        }
        h2 { (t("Eigene Nachnutzungsberichte")) }
        @if d.reports.is_empty() { p { (t("Noch keine Nachnutzungsberichte.")) } } @else {
            ul { @for r in &d.reports { li {
                (product_link(&d.products, &format!("{:#}", r.product))) ": " (labels::value(lang, r.outcome.slug()))
            } } }
        }
    };
    let (main, feed) =
        crate::follow::with_controls(&s, &ctx, WatchKind::Org, &format!("{org:#}"), main).await;
    Ok(render_feed(
        &s,
        &ctx,
        Section::Organisations,
        &title,
        None,
        main,
        Some(&feed),
    )
    .await
    .into_response())
}

// ---------------------------------------------------------------------------------------------
// Tasks

pub(super) async fn tasks(State(s): State<UiState>, Extension(ctx): Extension<Ctx>) -> Page {
    let lang = ctx.lang;
    let counts = db_cached(&s, lang, "tasks".into(), |conn| {
        let count = |facet: &str| -> Result<Vec<(String, i64, i64)>, UiError> {
            let mut stmt = conn.prepare(
                "SELECT f.value, count(DISTINCT f.doc),
                   (SELECT count(*) FROM idx_deployment d JOIN idx_product_facet g ON g.doc = d.product
                     WHERE g.facet = f.facet AND g.value = f.value AND d.status IN ('pilot', 'production'))
                 FROM idx_product_facet f WHERE f.facet = ?1 GROUP BY f.value ORDER BY f.value LIMIT 5000",
            )?;
            let rows = stmt.query_map([facet], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        };
        Ok((count("themenfeld")?, count("task")?))
    })
    .await?;
    let (themen, tasks) = (counts.0.as_slice(), counts.1.as_slice());
    let t = |x| lang.tr(x);
    let main = html! {
        h1 { (t("Aufgaben und Themenfelder")) }
        p { (t("Welche Produkte für welche Verwaltungsleistung im Einsatz sind: nach OZG-Themenfeld und nach Aufgabe (LeiKa-Schlüssel oder Bezeichnung).")) }
        p { a href="/schulungen" { (t("Schulungsangebote nach Aufgabe")) } }
        h2 { (t("Themenfelder")) }
        div.table-wrap { table {
            thead { tr { th scope="col" { (t("Themenfeld")) } th scope="col" { (t("Produkte")) } th scope="col" { (t("Einsätze")) } } }
            tbody { @for tf in reference::THEMENFELDER {
                @let n = themen.iter().find(|(v, _, _)| v == tf.id);
                tr {
                    th scope="row" { a href={ "/aufgaben/" (tf.id) } { (tf.name) } }
                    td.num { (n.map_or(0, |x| x.1)) }
                    td.num { (n.map_or(0, |x| x.2)) }
                }
            } }
        } }
        h2 { (t("Aufgaben")) }
        @if tasks.is_empty() { p { (t("Keine Aufgaben bekannt.")) } } @else {
            div.table-wrap { table {
                thead { tr { th scope="col" { (t("Aufgabe")) } th scope="col" { (t("Produkte")) } th scope="col" { (t("Einsätze")) } } }
                tbody { @for (task, products, deployments) in tasks { tr {
                    th scope="row" { a href={ "/aufgaben/" (url_part(task)) } { (labels::task(task)) } }
                    td.num { (products) } td.num { (deployments) }
                } } }
            } }
        }
    };
    Ok(render(&s, &ctx, Section::Tasks, t("Aufgaben"), None, main)
        .await
        .into_response())
}

pub(super) async fn task(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    Path(task): Path<String>,
) -> Page {
    let lang = ctx.lang;
    let task: String = task.chars().take(300).collect();
    let themenfeld = reference::THEMENFELDER.iter().find(|t| t.id == task);
    let facet = if themenfeld.is_some() {
        "themenfeld"
    } else {
        "task"
    };
    let value = task.clone();
    let rows = db(&s, lang, move |conn| {
        let mut stmt = conn.prepare(
            "SELECT p.doc, p.name, p.vendor,
               (SELECT count(DISTINCT d.org) FROM idx_deployment d WHERE d.product = p.doc AND d.status IN ('pilot', 'production'))
             FROM idx_product_facet f JOIN idx_product p ON p.doc = f.doc
             WHERE f.facet = ?1 AND f.value = ?2 ORDER BY 4 DESC, p.name COLLATE NOCASE LIMIT 500",
        )?;
        let rows = stmt.query_map([facet, value.as_str()], |r| {
            Ok((hex::encode(r.get::<_, Vec<u8>>(0)?), r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?))
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    })
    .await?;
    let t = |x| lang.tr(x);
    let title = themenfeld.map_or_else(|| labels::task(&task), |tf| tf.name.to_owned());
    let chart = BarChart {
        id: "aufgabe-nutzung",
        title: t("Organisationen, die das Produkt für diese Aufgabe einsetzen"),
        label_header: t("Produkt"),
        value_header: t("Organisationen"),
        max: None,
        bars: rows
            .iter()
            .filter(|r| r.3 > 0)
            .map(|(_, name, _, n)| Bar {
                label: name.clone(),
                value: *n as f64,
                shown: int(lang, *n as u64),
            })
            .collect(),
    };
    let main = html! {
        h1 { (title) }
        p {
            a href={ "/produkte?" (facet) "=" (url_part(&task)) } { (t("In der Produktsuche öffnen")) }
            " · " a href={ "/schulungen?aufgabe=" (url_part(&task)) } { (t("Schulungen zu dieser Aufgabe")) }
        }
        h2 { (t("Produkte für diese Aufgabe")) }
        @if rows.is_empty() { p { (t("Keine Produkte gefunden.")) } } @else {
            (bar_chart(lang, &chart))
            div.table-wrap { table {
                thead { tr { th scope="col" { (t("Produkt")) } th scope="col" { (t("Hersteller")) } th scope="col" { (t("Organisationen")) } } }
                tbody { @for (id, name, vendor, n) in &rows { tr {
                    th scope="row" { a href={ "/produkte/" (id) } { (name) } }
                    td { (vendor) } td.num { (n) }
                } } }
            } }
        }
    };
    let (main, feed) = match task.parse::<allmende_protocol::schema::Task>() {
        Ok(t) if themenfeld.is_none() => {
            let (m, f) =
                crate::follow::with_controls(&s, &ctx, WatchKind::Task, t.as_str(), main).await;
            (m, Some(f))
        }
        _ => (main, None),
    };
    Ok(render_feed(
        &s,
        &ctx,
        Section::Tasks,
        &title,
        None,
        main,
        feed.as_deref(),
    )
    .await
    .into_response())
}

// ---------------------------------------------------------------------------------------------
// Interoperability, duplicates, coverage

/// Most product pairs the interoperability list shows (the API has all of them).
const INTEROP_ROWS: usize = 200;
/// The best-evidenced product-standard rows the page reads (and the aggregate cache keeps).
const INTEROP_SOURCE_ROWS: usize = 5_000;

pub(super) async fn interop(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(raw): RawQuery,
) -> Page {
    let lang = ctx.lang;
    let sc = stats_scope(&s, raw.as_deref());
    let sc2 = sc.clone();
    let key = format!("interop {}", sc2.include_unverified);
    let data = db_cached(&s, lang, key, move |conn| {
        Ok((
            allmende_catalog::stats::interop(conn, &sc2, INTEROP_SOURCE_ROWS)?,
            product_names(conn)?,
        ))
    })
    .await?;
    let (rows, names) = (data.0.as_slice(), &data.1);
    let t = |x| lang.tr(x);
    // Every product that appears, and each pair's evidence (both directions under one key);
    // no text is built yet, as the rows can run into the hundred thousands.
    fn pair(r: &allmende_catalog::stats::Interop) -> (&str, &str) {
        if r.product <= r.other {
            (r.product.as_str(), r.other.as_str())
        } else {
            (r.other.as_str(), r.product.as_str())
        }
    }
    let mut products: Vec<&str> = rows
        .iter()
        .flat_map(|r| [r.product.as_str(), r.other.as_str()])
        .collect();
    products.sort_unstable();
    products.dedup();
    let mut evidence: std::collections::HashMap<(&str, &str), u64> =
        std::collections::HashMap::new();
    for r in rows {
        *evidence.entry(pair(r)).or_default() += r.works + r.partly + r.fails;
    }
    // The list shows each pair once, the best-evidenced first, at most `INTEROP_ROWS` of them
    // (the matrix, for up to 25 products, shows every pair).
    let mut pairs: Vec<(&str, &str, u64)> =
        evidence.into_iter().map(|((a, b), n)| (a, b, n)).collect();
    pairs.sort_by(|x, y| y.2.cmp(&x.2).then(x.0.cmp(y.0)).then(x.1.cmp(y.1)));
    let all_pairs = pairs.len();
    pairs.truncate(INTEROP_ROWS);
    let shown: std::collections::HashSet<(&str, &str)> = if products.len() <= 25 {
        rows.iter().map(pair).collect()
    } else {
        pairs.iter().map(|(a, b, _)| (*a, *b)).collect()
    };
    let name = |id: &str| {
        hex::decode(id)
            .ok()
            .and_then(|b| names.get(&b).cloned())
            .unwrap_or_else(|| id.chars().take(12).collect())
    };
    // The evidence text of the pairs shown.
    let mut cells: std::collections::HashMap<(&str, &str), Vec<String>> =
        std::collections::HashMap::new();
    for r in rows {
        let key = pair(r);
        if !shown.contains(&key) {
            continue;
        }
        let mut parts = Vec::new();
        if r.works > 0 {
            parts.push(format!("{} {}", r.works, t("funktioniert")));
        }
        if r.partly > 0 {
            parts.push(format!("{} {}", r.partly, t("teilweise")));
        }
        if r.fails > 0 {
            parts.push(format!("{} {}", r.fails, t("funktioniert nicht")));
        }
        cells
            .entry(key)
            .or_default()
            .push(format!("{}: {}", r.standard, parts.join(", ")));
    }
    let cell = |a: &str, b: &str| -> Vec<String> {
        let key = if a <= b { (a, b) } else { (b, a) };
        cells.get(&key).cloned().unwrap_or_default()
    };
    let main = html! {
        h1 { (t("Interoperabilitätsmatrix")) }
        p { (t("Welche Produkte über welchen Standard zusammenarbeiten, belegt durch gemeldete Einsätze. Jede Zelle nennt den Standard und wie viele Einsätze die Verbindung als funktionierend, teilweise funktionierend oder nicht funktionierend melden.")) }
        (scope_note(lang, &s, &sc, "/interoperabilitaet"))
        @if rows.is_empty() { p { (t("Noch keine Integrationen gemeldet.")) } }
        @else if products.len() <= 25 {
            div.table-wrap { table {
                caption.visually-hidden { (t("Interoperabilitätsmatrix")) }
                thead { tr { td {} @for p in &products { th scope="col" { (name(p)) } } } }
                tbody { @for a in &products { tr {
                    th scope="row" { a href={ "/produkte/" (a) } { (name(a)) } }
                    @for b in &products {
                        @let c = if a == b { vec![] } else { cell(a, b) };
                        td { @if c.is_empty() { span.muted { "–" } } @else { @for (i, x) in c.iter().enumerate() { @if i > 0 { br; } (x) } } }
                    }
                } } }
            } }
        } @else {
            @if all_pairs > pairs.len() {
                p { (t("Die am besten belegten Produktpaare")) " (" (pairs.len()) " / " (all_pairs) "). " (t("Bis zu 10.000 Zeilen, nach Belegen geordnet, liefert die API unter")) " " code { "/api/v1/stats/interop" } "." }
            }
            div.table-wrap { table {
                thead { tr { th scope="col" { (t("Produkt")) } th scope="col" { (t("Partnerprodukt")) } th scope="col" { (t("Belege")) } } }
                tbody { @for (a, b, _) in &pairs { tr {
                    th scope="row" { a href={ "/produkte/" (a) } { (name(a)) } }
                    td { a href={ "/produkte/" (b) } { (name(b)) } }
                    td { (cell(a, b).join("; ")) }
                } } }
            } }
        }
    };
    Ok(render(
        &s,
        &ctx,
        Section::Interop,
        t("Interoperabilität"),
        None,
        main,
    )
    .await
    .into_response())
}

pub(super) async fn duplicates(State(s): State<UiState>, Extension(ctx): Extension<Ctx>) -> Page {
    let lang = ctx.lang;
    let (rows, names) = db(&s, lang, |conn| {
        Ok((
            allmende_catalog::stats::duplicates(conn)?,
            product_names(conn)?,
        ))
    })
    .await?;
    let t = |x| lang.tr(x);
    let main = html! {
        h1 { (t("Doppelentwicklungen")) }
        p { (t("Aufgaben, für die mehrere mit öffentlichem Geld entwickelte Produkte (Open Source oder Einer für Alle) existieren. Hier lohnt es sich, vor einer Neuentwicklung nachzufragen.")) }
        @if rows.is_empty() { p { (t("Keine Doppelentwicklungen gefunden.")) } } @else {
            div.table-wrap { table {
                thead { tr { th scope="col" { (t("Aufgabe")) } th scope="col" { (t("Produkte")) } } }
                tbody { @for r in &rows { tr {
                    th scope="row" { a href={ "/aufgaben/" (url_part(&r.task)) } { (labels::task(&r.task)) } }
                    td { ul { @for p in &r.products { li { (product_link(&names, p)) } } } }
                } } }
            } }
        }
    };
    Ok(render(
        &s,
        &ctx,
        Section::Duplicates,
        t("Doppelentwicklungen"),
        None,
        main,
    )
    .await
    .into_response())
}

pub(super) async fn coverage(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(raw): RawQuery,
) -> Page {
    let lang = ctx.lang;
    let by_kreis = url::form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes())
        .any(|(k, v)| k == "nach" && v == "kreis");
    let sc = stats_scope(&s, raw.as_deref());
    let sc2 = sc.clone();
    let by = if by_kreis { "kreis" } else { "land" };
    let key = format!("coverage {by} {}", sc2.include_unverified);
    let data = db_cached(&s, lang, key, move |conn| {
        let rows = allmende_catalog::stats::coverage(conn, &sc2, by)?;
        let status = allmende_catalog::refdata::directory(conn)?.status_date();
        Ok((rows, status))
    })
    .await?;
    let (rows, status) = (data.0.as_slice(), &data.1);
    let t = |x| lang.tr(x);
    let region = |c: &allmende_catalog::stats::Coverage| {
        if c.name.is_empty() {
            if by_kreis {
                format!("{} {}", t("Kreis"), c.region)
            } else {
                labels::land(&c.region)
            }
        } else {
            c.name.clone()
        }
    };
    let share = |part: u64, whole: u64| {
        if whole == 0 {
            "–".to_owned()
        } else {
            format!("{} %", dec(lang, part as f64 * 100.0 / whole as f64))
        }
    };
    let title = if by_kreis {
        t("Abdeckung nach Kreis")
    } else {
        t("Abdeckung nach Land")
    };
    let chart = BarChart {
        id: "abdeckung",
        title: t("Anteil der Bevölkerung in Gemeinden, die veröffentlicht haben"),
        label_header: t("Region"),
        value_header: t("Anteil der Bevölkerung (%)"),
        max: Some(100.0),
        bars: rows
            .iter()
            .filter(|c| c.gemeinden_published > 0 || !c.tasks_covered.is_empty())
            .map(|c| {
                let pct = if c.population == 0 {
                    0.0
                } else {
                    c.population_published as f64 * 100.0 / c.population as f64
                };
                Bar {
                    label: region(c),
                    value: pct,
                    shown: share(c.population_published, c.population),
                }
            })
            .collect(),
    };
    let main = html! {
        h1 { (title) }
        p { (t("Wie viele Gemeinden einer Region (und welcher Anteil ihrer Bevölkerung) ihren Einsatz von Software veröffentlicht haben, und für wie viele Aufgaben dort mindestens ein Produkt im Pilot- oder Produktivbetrieb ist.")) }
        p.muted { (t("Gemeinden und Einwohner laut Gemeindeverzeichnis")) " (" (t("Stand")) " " (status) "; " (allmende_protocol::gv100ad::COPYRIGHT) ")." }
        p.actions {
            @if by_kreis { a href="/abdeckung" { (t("Nach Land")) } } @else { a href="/abdeckung?nach=kreis" { (t("Nach Kreis")) } }
            " · " a href="/ozg-leistungen" { (t("OZG-Leistungen im Produktivbetrieb")) }
        }
        (scope_note(lang, &s, &sc, "/abdeckung"))
        @if !chart.bars.is_empty() { (bar_chart(lang, &chart)) }
        div.table-wrap { table {
            thead { tr {
                th scope="col" { (t("Region")) }
                th scope="col" { (t("Gemeinden mit Veröffentlichung")) }
                th scope="col" { (t("Anteil der Bevölkerung")) }
                th scope="col" { (t("Abgedeckte Aufgaben")) }
            } }
            tbody { @for c in rows { tr {
                th scope="row" {
                    @if by_kreis { a href={ "/kreise/" (url_part(&c.region)) } { (region(c)) } }
                    @else { a href={ "/produkte?land=" (url_part(&c.region)) } { (region(c)) } }
                    " " span.muted { "(" (c.region) ")" }
                }
                td { (int(lang, c.gemeinden_published)) " " (t("von")) " " (int(lang, c.gemeinden)) }
                td { (share(c.population_published, c.population)) }
                td {
                    @if c.tasks_covered.is_empty() { span.muted { "0" } }
                    @else {
                        (int(lang, c.tasks_covered.len() as u64)) ": "
                        @for (i, task) in c.tasks_covered.iter().enumerate() { @if i > 0 { ", " } a href={ "/aufgaben/" (url_part(task)) } { (labels::task(task)) } }
                    }
                }
            } } }
        } }
    };
    Ok(render(&s, &ctx, Section::Coverage, title, None, main)
        .await
        .into_response())
}

/// Which OZG-Leistungen have a product in production, and in which Länder.
pub(super) async fn ozg(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(raw): RawQuery,
) -> Page {
    let lang = ctx.lang;
    let sc = stats_scope(&s, raw.as_deref());
    let sc2 = sc.clone();
    let key = format!("ozg {}", sc2.include_unverified);
    let data = db_cached(&s, lang, key, move |conn| {
        let rows = allmende_catalog::stats::ozg(conn, &sc2)?;
        let names = product_names(conn)?;
        Ok((rows, names))
    })
    .await?;
    let (rows, names) = (data.0.as_slice(), &data.1);
    let t = |x| lang.tr(x);
    let total = allmende_protocol::ozg::Catalogue::shipped().ozg.len();
    let title = t("OZG-Leistungen im Produktivbetrieb");
    let main = html! {
        h1 { (title) }
        p { (t("Für welche OZG-Leistungen ein Produkt im Produktivbetrieb ist, bei wie vielen Organisationen und in welchen Ländern.")) " "
            (int(lang, rows.len() as u64)) " " (t("von")) " " (int(lang, total as u64)) " " (t("OZG-Leistungen des Katalogs.")) }
        (scope_note(lang, &s, &sc, "/ozg-leistungen"))
        @if rows.is_empty() { p { (t("Keine Einsätze in Produktion für eine OZG-Leistung.")) } } @else {
            div.table-wrap { table {
                thead { tr {
                    th scope="col" { (t("OZG-Leistung")) }
                    th scope="col" { (t("Themenfeld")) }
                    th scope="col" { (t("Organisationen")) }
                    th scope="col" { (t("Länder")) }
                    th scope="col" { (t("Produkte")) }
                } }
                tbody { @for r in rows { tr {
                    th scope="row" { a href={ "/produkte?ozg=" (r.ozg) } { (r.name) } " " span.muted { "(OZG " (r.ozg) ")" } }
                    td { (r.themenfeld) }
                    td { (int(lang, r.organisations)) }
                    td { @for (i, (land, n)) in r.by_land.iter().enumerate() { @if i > 0 { ", " } (labels::land(land)) " (" (int(lang, *n)) ")" } }
                    td { @for (i, p) in r.products.iter().enumerate() { @if i > 0 { ", " }
                        a href={ "/produkte/" (p) } { (hex::decode(p).ok().and_then(|b| names.get(&b)).map_or(p.as_str(), String::as_str)) } } }
                } } }
            } }
        }
    };
    Ok(render(&s, &ctx, Section::Coverage, title, None, main)
        .await
        .into_response())
}

/// A Kreis: its Gemeinden from the Gemeindeverzeichnis, with the organisations that publish
/// for them.
pub(super) async fn kreis(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    Path(key): Path<String>,
) -> Page {
    let lang = ctx.lang;
    if key.len() != 5 || !key.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_found(lang, "Diesen Kreis gibt es nicht."));
    }
    type Row = (String, String, i64, Option<Vec<u8>>, Option<String>, i64);
    let k = key.clone();
    let (name, status, rows): (Option<String>, String, Vec<Row>) = db(&s, lang, move |conn| {
        let name: Option<String> = conn
            .query_row("SELECT name FROM ref_kreis WHERE key = ?1", [&k], |r| {
                r.get(0)
            })
            .optional()?;
        let status = allmende_catalog::refdata::directory(conn)?.status_date();
        // Per Gemeinde: an organisation with its AGS (the one with most deployments) and how
        // many deployments it published.
        let mut stmt = conn.prepare(
            "SELECT g.ags, g.name, g.population, o.org, o.name,
                    (SELECT count(*) FROM idx_deployment d WHERE d.org = o.org)
             FROM ref_gemeinde g
             LEFT JOIN idx_org o ON o.org = (
               SELECT o2.org FROM idx_org o2 WHERE o2.ags = g.ags
               ORDER BY (SELECT count(*) FROM idx_deployment d2 WHERE d2.org = o2.org) DESC LIMIT 1)
             WHERE g.kreis = ?1 ORDER BY g.ags",
        )?;
        let rows = stmt
            .query_map([&k], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect::<Result<Vec<Row>, _>>()?;
        Ok((name, status, rows))
    })
    .await?;
    let Some(name) = name else {
        return Err(not_found(lang, "Diesen Kreis gibt es nicht."));
    };
    let t = |x| lang.tr(x);
    let published = rows.iter().filter(|r| r.5 > 0).count() as u64;
    let people: i64 = rows.iter().map(|r| r.2).sum();
    let main = html! {
        h1 { (name) " " span.muted { "(" (key) ")" } }
        dl.facts {
            dt { (t("Land")) } dd { (labels::land(&key[..2])) }
            dt { (t("Gemeinden")) } dd { (int(lang, rows.len() as u64)) }
            dt { (t("Einwohner")) } dd { (int(lang, people.max(0).unsigned_abs())) }
            dt { (t("Gemeinden mit Veröffentlichung")) } dd { (int(lang, published)) " " (t("von")) " " (int(lang, rows.len() as u64)) }
        }
        p.actions {
            a href={ "/produkte?kreis=" (url_part(&key)) } { (t("Produkte im Einsatz in diesem Kreis")) }
            " · " a href="/abdeckung?nach=kreis" { (t("Abdeckung nach Kreis")) }
        }
        h2 { (t("Gemeinden")) }
        p.muted { (t("Laut Gemeindeverzeichnis")) " (" (t("Stand")) " " (status) "; " (allmende_protocol::gv100ad::COPYRIGHT) ")." }
        div.table-wrap { table {
            thead { tr {
                th scope="col" { (t("AGS")) }
                th scope="col" { (t("Gemeinde")) }
                th scope="col" { (t("Einwohner")) }
                th scope="col" { (t("Organisation im Katalog")) }
                th scope="col" { (t("Einsätze veröffentlicht")) }
            } }
            tbody { @for (ags, gname, pop, org, oname, n) in &rows { tr {
                td.mono { (ags) }
                th scope="row" { (gname) }
                td { (int(lang, pop.max(&0).unsigned_abs())) }
                td { @match (org, oname) {
                    (Some(o), Some(on)) => a href={ "/organisationen/" (hex::encode(o)) } { (on) },
                    _ => span.muted { (t("keine")) },
                } }
                td { @if *n > 0 { (int(lang, n.max(&0).unsigned_abs())) } @else { span.muted { (t("noch keine")) } } }
            } } }
        } }
    };
    let (main, feed) = crate::follow::with_controls(&s, &ctx, WatchKind::Kreis, &key, main).await;
    Ok(
        render_feed(&s, &ctx, Section::Coverage, &name, None, main, Some(&feed))
            .await
            .into_response(),
    )
}

// ---------------------------------------------------------------------------------------------
// Network, trust, settings

pub(super) async fn network(State(s): State<UiState>, Extension(ctx): Extension<Ctx>) -> Page {
    let lang = ctx.lang;
    let status = s
        .api
        .status()
        .await
        .map_err(|e| PageError::from((lang, UiError::Internal(e.to_string()))))?;
    let n = &status.network;
    let t = |x| lang.tr(x);
    let main = html! {
        h1 { (t("Netzwerk")) }
        dl.facts {
            dt { (t("Peer-ID")) } dd.mono { (n.peer_id) }
            dt { (t("Adressen")) } dd { ul { @for a in &n.listen_addrs { li.mono { (a) } } } }
            dt { (t("Dokumente")) } dd { (int(lang, status.documents)) }
            dt { (t("Signierte Änderungen")) } dd { (int(lang, status.changes)) }
            dt { (t("Zertifikate")) } dd { (int(lang, status.certificates)) }
        }
        h2 { (t("Verbundene Knoten")) " (" (n.peers.len()) ")" }
        @if n.peers.is_empty() { p { (t("Keine.")) " " (t("Der Knoten findet andere über Bootstrap-Adressen oder im lokalen Netz.")) } }
        @else { ul { @for p in &n.peers { li.mono { (p) } } } }
        h2 { (t("Synchronisation")) }
        dl.facts {
            dt { (t("Abgeschlossene Abgleiche")) } dd { (int(lang, n.sessions_completed)) }
            dt { (t("Ausstehende Abrufe")) } dd { (int(lang, n.pending_fetches as u64)) }
            dt { (t("Gesendet")) } dd { (int(lang, n.bytes_sent)) " Bytes" }
            dt { (t("Empfangen")) } dd { (int(lang, n.bytes_received)) " Bytes" }
        }
        h2 { (t("Abgewiesene Nachrichten")) }
        @if n.rejected.is_empty() { p { (t("Keine abgewiesenen Nachrichten.")) } } @else {
            table {
                thead { tr { th scope="col" { (t("Grund")) } th scope="col" { (t("Anzahl")) } } }
                tbody { @for (reason, count) in &n.rejected { tr { th scope="row" { (reason) } td.num { (int(lang, *count)) } } } }
            }
        }
        h2 { (t("Gesperrte Knoten")) }
        @if n.blocked.is_empty() { p { (t("Keine.")) } } @else { ul { @for p in &n.blocked { li.mono { (p) } } } }
    };
    Ok(
        render(&s, &ctx, Section::Network, t("Netzwerk"), None, main)
            .await
            .into_response(),
    )
}

struct TrustData {
    attestations: Vec<(Vec<u8>, Vec<u8>, String, String)>,
    delegations: Vec<(String, String, i64, i64)>,
    revocations: Vec<(String, String, i64, String)>,
    orgs: HashMap<Vec<u8>, String>,
    scope: allmende_catalog::trust::TrustSummary,
    volume: std::sync::Arc<Vec<allmende_catalog::trust::OrgVolume>>,
    quarantine: allmende_repo_thread::quarantine::QuarantineStats,
    /// Organisations with a profile in the quarantine (not in the scope), newest first.
    waiting: Vec<OrgId>,
}

fn day(ts: i64) -> String {
    allmende_formats::civil::day_of_unix(ts)
}

pub(super) async fn trust(State(s): State<UiState>, Extension(ctx): Extension<Ctx>) -> Page {
    let lang = ctx.lang;
    let d = s
        .api
        .repo
        .call(move |st| -> Result<TrustData, UiError> {
            let scope = st.trust_scope().summary();
            let volume = st.org_volume();
            let quarantine = st.quarantine_stats();
            let waiting = st
                .quarantine()
                .profiles()
                .into_iter()
                .take(50)
                .map(|h| h.owner)
                .collect();
            let conn = st.repo().store().connection();
            let mut stmt =
                conn.prepare("SELECT anchor, org, name, kind FROM idx_attestation ORDER BY name")?;
            let attestations = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<Result<_, _>>()?;
            let certs = st.repo().certificates();
            let delegations = certs
                .delegations()
                .map(|d| {
                    (
                        format!("{:#}", d.body.issuer),
                        format!("{:#}", d.body.delegate),
                        d.body.not_before.0,
                        d.body.not_after.0,
                    )
                })
                .collect();
            let revocations = certs
                .revocations()
                .map(|r| {
                    (
                        format!("{:#}", r.body.issuer),
                        format!("{:#}", r.body.subject),
                        r.body.effective.0,
                        match r.succession() {
                            Some(next) => {
                                format!(
                                    "{} {:#}. {}",
                                    lang.tr("Schlüsselwechsel zu"),
                                    next.next,
                                    r.note()
                                )
                            }
                            None => r.body.reason.clone(),
                        },
                    )
                })
                .collect();
            Ok(TrustData {
                attestations,
                delegations,
                revocations,
                orgs: org_names(conn)?,
                scope,
                volume,
                quarantine,
                waiting,
            })
        })
        .await
        .or_page(lang)?
        .or_page(lang)?;
    let t = |x| lang.tr(x);
    let main = html! {
        h1 { (t("Vertrauen")) }
        p { (t("Vertrauensanker (zum Beispiel eine Landesbehörde) bestätigen, welcher Schlüssel zu welcher echten Organisation gehört. Nur bestätigte Organisationen zählen in den Auswertungen; Organisationen können das Veröffentlichen an einen weiteren Schlüssel delegieren, etwa an ihren IT-Dienstleister.")) }
        h2 { (t("Vertrauensbereich")) }
        p { (t("Organisationen und Schlüssel, deren Angaben dieser Knoten als bestätigt behandelt: die Vertrauensanker, die von ihnen bestätigten Organisationen, die eigene und die betreuten Organisationen, ihre Schlüssel und die heute gültigen Delegationen.")) }
        dl.facts {
            dt { (t("Organisationen im Vertrauensbereich")) } dd #vertrauensbereich-organisationen { (int(lang, d.scope.organisations as u64)) }
            dt { (t("Schlüssel im Vertrauensbereich")) } dd #vertrauensbereich-schluessel { (int(lang, d.scope.keys as u64)) }
        }
        h2 { (t("Änderungen der letzten 24 Stunden")) }
        p { (t("Bestätigte Organisationen werden nicht gedrosselt: Knoten, die unterschiedlich drosseln, hielten unterschiedliche Kataloge. Wer ungewöhnlich viele Änderungen signiert, wird hier gezeigt, damit sein Vertrauensanker die Bestätigung zurückziehen oder die Organisation ihren Schlüssel widerrufen kann.")) }
        @if d.volume.is_empty() { p { (t("Keine.")) } } @else {
            div.table-wrap { table #aenderungen-je-organisation {
                thead { tr { th scope="col" { (t("Organisation")) } th scope="col" { (t("Änderungen")) } th scope="col" { (t("Hinweis")) } } }
                tbody { @for v in d.volume.iter().take(20) { tr {
                    th scope="row" { (org_link(&d.orgs, &format!("{:#}", v.org))) }
                    td { (int(lang, v.changes)) }
                    td { @if v.unusual { strong.unusual { (t("ungewöhnlich viele Änderungen")) } } }
                } } }
            } }
        }
        h2 { (t("Quarantäne")) }
        p { (t("Signierte Angaben von Schlüsseln außerhalb des Vertrauensbereichs werden weder gespeichert noch angezeigt noch weitergegeben. Ein kleiner Teil wartet im Arbeitsspeicher, je Schlüssel begrenzt und insgesamt gedeckelt, zum Beispiel das Profil einer Organisation, die ihr Vertrauensanker noch bestätigen muss.")) }
        dl.facts {
            dt { (t("Dokumente")) } dd #quarantaene-dokumente { (int(lang, d.quarantine.documents as u64)) }
            dt { (t("Schlüssel")) } dd { (int(lang, d.quarantine.keys as u64)) }
            dt { (t("Belegt")) } dd { (int(lang, d.quarantine.bytes as u64)) " / " (int(lang, d.quarantine.cap_bytes as u64)) " Bytes" }
        }
        @if !d.waiting.is_empty() {
            p { (t("Profile ohne Bestätigung (Organisations-ID):")) }
            ul { @for o in &d.waiting { li.mono { (format!("{o:#}")) } } }
        }
        h2 { (t("Vertrauensanker")) }
        @if s.api.anchors.is_empty() {
            p { (t("Dieser Knoten folgt keinem Vertrauensanker. Mit allmende run --trust-anchor ORG wird einer festgelegt.")) }
        } @else {
            ul { @for a in s.api.anchors.iter() { li { (org_link(&d.orgs, &format!("{a:#}"))) } } }
        }
        h2 { (t("Bestätigungen")) }
        @if d.attestations.is_empty() { p { (t("Keine.")) } } @else {
            div.table-wrap { table {
                thead { tr { th scope="col" { (t("Organisation")) } th scope="col" { (t("Art")) } th scope="col" { (t("Bestätigt von")) } th scope="col" { (t("Vertrauensanker")) } } }
                tbody { @for (anchor, org, name, kind) in &d.attestations { tr {
                    th scope="row" { a href={ "/organisationen/" (hex::encode(org)) } { (name) } }
                    td { (labels::value(lang, kind)) }
                    td { (org_link(&d.orgs, &hex::encode(anchor))) }
                    td { @if s.api.anchors.iter().any(|a| a.as_bytes().as_slice() == anchor.as_slice()) { (t("ja")) } @else { (t("nein")) } }
                } } }
            } }
        }
        h2 { (t("Delegationen")) }
        @if d.delegations.is_empty() { p { (t("Keine.")) } } @else {
            div.table-wrap { table {
                thead { tr { th scope="col" { (t("Aussteller")) } th scope="col" { (t("Schlüssel")) } th scope="col" { (t("gültig ab")) } th scope="col" { (t("gültig bis")) } } }
                tbody { @for (issuer, key, from, to) in &d.delegations { tr {
                    th scope="row" { (org_link(&d.orgs, issuer)) } td.mono { (key) } td { (day(*from)) } td { (day(*to)) }
                } } }
            } }
        }
        h2 { (t("Widerrufe")) }
        @if d.revocations.is_empty() { p { (t("Keine.")) } } @else {
            div.table-wrap { table {
                thead { tr { th scope="col" { (t("Aussteller")) } th scope="col" { (t("Schlüssel")) } th scope="col" { (t("gültig ab")) } th scope="col" { (t("Grund")) } } }
                tbody { @for (issuer, key, from, reason) in &d.revocations { tr {
                    th scope="row" { (org_link(&d.orgs, issuer)) } td.mono { (key) } td { (day(*from)) } td { (reason) }
                } } }
            } }
        }
    };
    Ok(render(&s, &ctx, Section::Trust, t("Vertrauen"), None, main)
        .await
        .into_response())
}

/// Sources and licences of the reference data the node shows (the attribution they demand).
pub(super) async fn sources(State(s): State<UiState>, Extension(ctx): Extension<Ctx>) -> Page {
    let lang = ctx.lang;
    let status = db(&s, lang, |conn| {
        Ok(allmende_catalog::refdata::directory(conn)?.status_date())
    })
    .await?;
    let t = |x| lang.tr(x);
    let catalogue = allmende_protocol::ozg::Catalogue::shipped();
    let main = html! {
        h1 { (t("Quellen und Lizenzen")) }
        p { (t("Was dieser Knoten neben den signierten Angaben der Organisationen zeigt, stammt aus diesen amtlichen und öffentlichen Quellen.")) }
        h2 { (t("Gemeindeverzeichnis")) }
        p { (allmende_protocol::gv100ad::ATTRIBUTION) }
        p { (t("Gemeinden, Kreise und Länder mit amtlichem Gemeindeschlüssel, Namen, Fläche und Bevölkerung (Gemeindeverzeichnis GV100AD)")) ", " (t("Stand")) " " (status) ". "
            (t("Es dient als Nenner der Abdeckung und der Kosten je Einwohner; eine neuere Ausgabe spielt der Betrieb mit allmende import gv100ad ein.")) }
        h2 { (t("OZG-Umsetzungskatalog und LeiKa")) }
        p { (allmende_protocol::ozg::SOURCE) ": "
            (int(lang, catalogue.leika.len() as u64)) " " (t("LeiKa-Leistungen")) ", "
            (int(lang, catalogue.ozg.len() as u64)) " " (t("OZG-Leistungen")) ", "
            (int(lang, catalogue.lebenslagen.len() as u64)) " " (t("Lebens- und Unternehmenslagen")) ", "
            (int(lang, catalogue.themenfelder.len() as u64)) " " (t("Themenfelder")) "." }
        h2 { (t("Lizenzen und Standards")) }
        p { (t("Lizenzkennungen nach der SPDX License List; Standards und Schnittstellen nach XRepository (KoSIT), IT-Planungsrat und FITKO.")) }
        h2 { (t("Die Angaben im Katalog")) }
        p { (t("Einsätze, Bewertungen und Berichte signieren die Organisationen selbst; Exporte tragen diese Quellen in ihren Metadaten.")) }
    };
    Ok(render(
        &s,
        &ctx,
        Section::Settings,
        t("Quellen und Lizenzen"),
        None,
        main,
    )
    .await
    .into_response())
}

pub(super) async fn settings(State(s): State<UiState>, Extension(ctx): Extension<Ctx>) -> Page {
    let lang = ctx.lang;
    let names = db(&s, lang, org_names).await?;
    let t = |x| lang.tr(x);
    let tenant_name = |o: &OrgId| {
        names
            .get(o.as_bytes().as_slice())
            .cloned()
            .unwrap_or_else(|| format!("{o}"))
    };
    let main = html! {
        h1 { (t("Einstellungen")) }
        h2 { (t("Sprache")) }
        ul {
            li { a href="/einstellungen?lang=de" lang="de" hreflang="de" { "Deutsch" } @if lang == Lang::De { " (" (t("aktiv")) ")" } }
            li { a href="/einstellungen?lang=en" lang="en" hreflang="en" { "English" } @if lang == Lang::En { " (" (t("aktiv")) ")" } }
        }
        h2 { (t("Veröffentlichen")) }
        @let tenants = s.api.tenants.current();
        @if tenants.is_empty() {
            p { (t("Dieser Knoten hat keine eigene Organisation und kann nur lesen. Eine Organisation wird mit allmende init angelegt.")) }
        } @else {
            p { (t("Dieser Knoten veröffentlicht für:")) }
            ul { @for (i, tn) in tenants.iter().enumerate() {
                li { a href={ "/organisationen/" (format!("{:#}", tn.org)) } { (tenant_name(&tn.org)) }
                    @if i == 0 && s.api.organisation == Some(tn.org) { " (" (t("eigene Organisation")) ")" } @else { " (" (t("betreutes Mitglied")) ")" } }
            } }
            @if ctx.session.is_some() {
                p { (t("Sie sind angemeldet.")) }
            } @else if s.demo {
                p { (t("Demo: Auf diesem Knoten kann jeder an diesem Rechner ohne Anmeldung veröffentlichen.")) }
            } @else if s.local_only {
                p { (t("Die Oberfläche ist nur auf diesem Rechner erreichbar (127.0.0.1), aber für alle seine Benutzer und Programme; zum Veröffentlichen melden Sie sich mit dem Anmeldelink von allmende run oder einem Token an.")) " " a href="/anmelden" { (t("Anmelden")) } }
            } @else {
                p { (t("Die Oberfläche ist im Netz erreichbar; zum Veröffentlichen melden Sie sich mit dem Admin-Token an.")) " " a href="/anmelden" { (t("Anmelden")) } }
            }
            p { a href="/schluessel" { (t("Schlüssel und Delegationen verwalten")) } }
            p { (t("Mitglieder verwalten (IT-Dienstleister): allmende member add und allmende member remove; die Änderung gilt nach wenigen Sekunden.")) }
        }
        h2 { (t("Schnittstelle")) }
        p { (t("Dieselben Daten als JSON:")) " " a href="/api/v1/status" { "/api/v1/status" } ", " a href="/api/v1/products" { "/api/v1/products" } ", " a href="/api/v1/stats" { "/api/v1/stats" } }
        h2 { (t("Version")) }
        p { "Allmende " (env!("CARGO_PKG_VERSION")) }
    };
    Ok(
        render(&s, &ctx, Section::Settings, t("Einstellungen"), None, main)
            .await
            .into_response(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_links_keep_query_and_filters() {
        let p = list_params(Some(
            "q=Bau%20antrag&kind=onlinedienst&unknown=1&seite=2&lang=en",
        ));
        assert_eq!(p.q, "Bau antrag");
        assert_eq!(
            p.filters,
            vec![("kind".to_owned(), "onlinedienst".to_owned())]
        );
        assert_eq!(p.page, 2);
        assert_eq!(
            list_href(&p.q, &p.filters, p.unverified, 0),
            "/produkte?q=Bau+antrag&kind=onlinedienst"
        );
        assert_eq!(list_href("", &[], false, 0), "/produkte");
    }

    #[test]
    fn days_are_civil_dates() {
        assert_eq!(day(0), "1970-01-01");
        assert_eq!(day(951_782_400), "2000-02-29");
        assert_eq!(day(1_795_000_000), "2026-11-18");
    }
}
