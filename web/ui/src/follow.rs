//! Following changes in the web UI (`docs/feeds.md`): the buttons "Beobachten" / "Nicht mehr
//! beobachten" and the feed link on the product, task, organisation and Kreis pages, the page
//! "Beobachtet" (the watch list with what is new since the last visit) and the page "Hinweise"
//! (notices about the products the organisation runs).
//!
//! Whose list: a watch list belongs to an organisation of the node, like its write token
//! ([`allmende_store::watch`]). A member's session sees and changes its own list; otherwise
//! the pages show the node's own organisation's list. Reading needs no session, like every
//! page; a visit is remembered only for a signed-in session (or in the demo), so a reader
//! without one changes nothing. Changing the list is a POST with the CSRF token and needs a
//! session, like every other write (the guard and [`crate::shell::tenant`]).

use allmende_api::http::ApiError;
use allmende_api::http::follow_api as api;
use allmende_catalog::follow::Event;
use allmende_protocol::ids::OrgId;
use allmende_store::watch::WatchKind;
use allmende_web_kit::Lang;
use allmende_web_kit::form;
use allmende_web_kit::layout::Section;
use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};

use crate::shell::{Ctx, PageError, Session, UiError, UiState, render, see_other, tenant};

type Page = Result<Response, PageError>;

fn page_error(lang: Lang, e: ApiError) -> PageError {
    let m = e.to_string();
    match e.status().as_u16() {
        404 => PageError(lang, UiError::NotFound(m)),
        400 | 409 => PageError(lang, UiError::BadRequest(m)),
        _ => PageError(lang, UiError::Internal(m)),
    }
}

/// Whose list the pages show: a member session's organisation, else the node's own.
fn viewer(s: &UiState, ctx: &Ctx) -> Option<OrgId> {
    match ctx.session {
        Some(Session::Org(o)) => Some(o),
        _ => s.api.organisation,
    }
}

/// Whether viewing a page may remember the visit: a signed-in session, or the demo.
fn may_mark(s: &UiState, ctx: &Ctx) -> bool {
    ctx.session.is_some() || s.demo
}

/// The feed URL of a page's subject.
pub(crate) fn feed_href(kind: WatchKind, target: &str) -> String {
    let enc = crate::shell::url_part(target);
    match kind {
        WatchKind::Product => format!("/api/v1/feeds/products/{enc}"),
        WatchKind::Task => format!("/api/v1/feeds/tasks/{enc}"),
        WatchKind::Org => format!("/api/v1/feeds/organizations/{enc}"),
        WatchKind::Kreis | WatchKind::Land => format!("/api/v1/feeds/regions/{enc}"),
    }
}

/// The watch button and the feed link for a page about `kind`/`target` (canonical form).
pub(crate) async fn controls(s: &UiState, ctx: &Ctx, kind: WatchKind, target: &str) -> Markup {
    let lang = ctx.lang;
    let t = |x| lang.tr(x);
    let watched = match viewer(s, ctx) {
        Some(owner) => {
            let target = target.to_owned();
            s.api
                .repo
                .call(move |st| {
                    allmende_store::watch::contains(
                        st.repo().store().connection(),
                        &owner,
                        kind,
                        &target,
                    )
                    .unwrap_or(false)
                })
                .await
                .unwrap_or(false)
        }
        None => false,
    };
    let can_watch = !s.api.tenants.current().is_empty();
    html! {
        div.actions {
            @if can_watch {
                form method="post" action="/beobachten" {
                    (form::csrf(&ctx.csrf))
                    input type="hidden" name="art" value=(kind.slug());
                    input type="hidden" name="ziel" value=(target);
                    input type="hidden" name="zurueck" value=(ctx.path);
                    @if watched {
                        input type="hidden" name="aktion" value="entfernen";
                        button.secondary type="submit" { (t("Nicht mehr beobachten")) }
                    } @else {
                        input type="hidden" name="aktion" value="hinzufuegen";
                        button.secondary type="submit" { (t("Beobachten")) }
                    }
                }
            }
            a.button.secondary href=(feed_href(kind, target)) type="application/atom+xml" {
                (t("Atom-Feed abonnieren"))
            }
        }
    }
}

/// `main` with the watch controls before it, and the feed's href for the page head.
pub(crate) async fn with_controls(
    s: &UiState,
    ctx: &Ctx,
    kind: WatchKind,
    target: &str,
    main: Markup,
) -> (Markup, String) {
    let c = controls(s, ctx, kind, target).await;
    (html! { (c) (main) }, feed_href(kind, target))
}

/// `POST /beobachten`: adds to or removes from the watch list, then back to the page.
pub(crate) async fn toggle(State(s): State<UiState>, Extension(ctx): Extension<Ctx>) -> Page {
    let lang = ctx.lang;
    let tenant = match tenant(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return Ok(*r),
    };
    let field = |name: &str| {
        ctx.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let (kind, target, action) = (field("art"), field("ziel"), field("aktion"));
    match action {
        "hinzufuegen" => {
            api::add_watched(&s.api, tenant.org, kind, target)
                .await
                .map_err(|e| page_error(lang, e))?;
        }
        "entfernen" => {
            api::remove_watched(&s.api, tenant.org, kind, target)
                .await
                .map_err(|e| page_error(lang, e))?;
        }
        _ => {
            return Err(PageError(
                lang,
                UiError::BadRequest(lang.tr("Unbekannte Aktion.").to_owned()),
            ));
        }
    }
    // Back to a page of this UI only (never to another site).
    let back = field("zurueck");
    let back = if back.starts_with('/') && !back.starts_with("//") && !back.contains('\\') {
        back.to_owned()
    } else {
        "/beobachtet".to_owned()
    };
    Ok(see_other(&back))
}

fn page_of(kind: &str, target: &str) -> String {
    let enc = crate::shell::url_part(target);
    match kind {
        "product" => format!("/produkte/{enc}"),
        "task" => format!("/aufgaben/{enc}"),
        "org" => format!("/organisationen/{enc}"),
        "kreis" => format!("/kreise/{enc}"),
        _ => "/abdeckung".to_owned(),
    }
}

fn kind_label(lang: Lang, kind: &str) -> &'static str {
    lang.tr(match kind {
        "product" => "Produkt",
        "task" => "Aufgabe",
        "org" => "Organisation",
        "kreis" => "Kreis",
        _ => "Land",
    })
}

/// A date for people (the event's time, UTC).
fn day(unix: i64) -> String {
    let t = allmende_formats::atom::rfc3339(unix);
    format!("{}.{}.{}", &t[8..10], &t[5..7], &t[0..4])
}

fn event_list(lang: Lang, events: &[Event], last_visit: Option<i64>) -> Markup {
    let t = |x| lang.tr(x);
    html! {
        ul.events {
            @for e in events {
                li {
                    @if last_visit.is_some_and(|v| e.noticed_at > v) {
                        strong { (t("neu")) ": " }
                    }
                    time datetime=(allmende_formats::atom::rfc3339(e.at)) { (day(e.at)) }
                    " · "
                    a href={ "/produkte/" (e.product) } { (allmende_formats::atom::title(e)) }
                    @let sum = allmende_formats::atom::summary(e);
                    @if !sum.is_empty() && e.kind != "release" {
                        br; span.muted { (sum) }
                    }
                }
            }
        }
    }
}

/// `GET /beobachtet`: the watch list with what is new since the last visit.
pub(crate) async fn watch_page(State(s): State<UiState>, Extension(ctx): Extension<Ctx>) -> Page {
    let lang = ctx.lang;
    let t = |x| lang.tr(x);
    let title = t("Beobachtet");
    let Some(owner) = viewer(&s, &ctx) else {
        let main = html! {
            h1 { (title) }
            p { (t("Dieser Knoten hat keine eigene Organisation und führt keine Merkliste.")) }
        };
        return Ok(axum::response::IntoResponse::into_response(
            render(&s, &ctx, Section::None, title, None, main).await,
        ));
    };
    let view = api::watch_view(&s.api, owner, may_mark(&s, &ctx))
        .await
        .map_err(|e| page_error(lang, e))?;
    let main = html! {
        h1 { (title) }
        p {
            (t("Produkte, Aufgaben, Organisationen und Regionen, die Ihre Organisation auf diesem Knoten beobachtet."))
            " "
            @match view.last_visit {
                Some(v) => { (t("Neu seit Ihrem letzten Besuch am")) " " (day(v)) " " (t("ist markiert.")) }
                None => { (t("Beim nächsten Besuch ist markiert, was seitdem neu ist.")) }
            }
        }
        @if view.entries.is_empty() {
            p.muted { (t("Noch nichts beobachtet. Auf den Seiten von Produkten, Aufgaben, Organisationen und Kreisen steht der Knopf „Beobachten“.")) }
        }
        @for w in &view.entries {
            section aria-labelledby={ "w-" (w.kind) "-" (crate::shell::url_part(&w.target)) } {
                h2 id={ "w-" (w.kind) "-" (crate::shell::url_part(&w.target)) } {
                    (kind_label(lang, &w.kind)) ": "
                    a href=(page_of(&w.kind, &w.target)) { (w.name.as_deref().unwrap_or(&w.target)) }
                    @if w.new_events > 0 {
                        " (" (w.new_events) " " (t("neu seit Ihrem letzten Besuch")) ")"
                    }
                }
                @if w.events.is_empty() {
                    p.muted { (t("Noch keine Ereignisse.")) }
                } @else {
                    (event_list(lang, &w.events, view.last_visit))
                }
            }
        }
    };
    Ok(axum::response::IntoResponse::into_response(
        render(&s, &ctx, Section::None, title, None, main).await,
    ))
}

/// `GET /hinweise`: notices about the products the organisation runs.
pub(crate) async fn notices_page(State(s): State<UiState>, Extension(ctx): Extension<Ctx>) -> Page {
    let lang = ctx.lang;
    let t = |x| lang.tr(x);
    let title = t("Hinweise");
    let Some(owner) = viewer(&s, &ctx) else {
        let main = html! {
            h1 { (title) }
            p { (t("Dieser Knoten hat keine eigene Organisation; Hinweise gibt es für die Produkte, die eine Organisation einsetzt.")) }
        };
        return Ok(axum::response::IntoResponse::into_response(
            render(&s, &ctx, Section::None, title, None, main).await,
        ));
    };
    let view = api::notices_view(&s.api, owner, may_mark(&s, &ctx))
        .await
        .map_err(|e| page_error(lang, e))?;
    let main = html! {
        h1 { (title) }
        p { (t("Neue Bewertungen und Nachnutzungsberichte anderer Organisationen, neue Versionen und das Ende des Supports der Produkte, die Ihre Organisation einsetzt.")) }
        @if view.notices.is_empty() {
            p.muted { (t("Keine Hinweise.")) }
        } @else {
            (event_list(lang, &view.notices, view.last_visit))
        }
    };
    Ok(axum::response::IntoResponse::into_response(
        render(&s, &ctx, Section::None, title, None, main).await,
    ))
}

/// A line for the start page: how many notices are new, with links to both pages.
pub(crate) async fn start_teaser(s: &UiState, ctx: &Ctx) -> Markup {
    let lang = ctx.lang;
    let t = |x| lang.tr(x);
    let Some(owner) = viewer(s, ctx) else {
        return html! {};
    };
    let new = api::notices_view(&s.api, owner, false)
        .await
        .map(|v| v.new_notices)
        .unwrap_or(0);
    html! {
        p {
            a href="/hinweise" { (t("Hinweise")) }
            @if new > 0 { " (" (new) " " (t("neu")) ")" }
            " · "
            a href="/beobachtet" { (t("Beobachtet")) }
        }
    }
}
