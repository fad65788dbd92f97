//! The local web UI: HTML pages for people, next to the JSON API (`/api/v1`) for programs.
//!
//! ```text
//!  browser ──HTTP──▶ [Host check on loopback: crate::http::loopback_only, every route]
//!                      ▼
//!                    guard (language, CSRF cookie + field, session, headers)
//!                      │
//!                      ├─▶ pages.rs  (read: start, products, organisations, tasks, stats, network, trust)
//!                      └─▶ forms.rs  (write: product, deployment, rating, Nachnutzung report)
//!                             │  repo.call(...)   (one call on the repository thread per page)
//!                             ▼
//!                      RepoHandle / NetHandle  (shared with the API)
//! ```
//!
//! Layout, texts, charts and form fields come from the `allmende-web` kit. Pages use no
//! JavaScript and load nothing from elsewhere (a strict Content-Security-Policy says so).
//!
//! Security: every value is escaped by maud. Every POST must carry the CSRF token of the
//! `allmende_csrf` cookie (SameSite=Strict) in its `_csrf` field, and its `Origin`, when
//! sent, must be this host. When the server listens on loopback only, the Host header must
//! name a loopback host (no DNS rebinding, checked for every route in [`crate::http`]).
//!
//! Reading needs nothing. Publishing and the keys page need a session (cookie
//! `allmende_session`, HttpOnly, SameSite=Strict, kept in memory), also on loopback: every
//! local user and process can reach a loopback port, and on an IT-Dienstleister's multi-user
//! server that would let any of them publish as the organisation and sign delegations. A
//! session is opened by a one-time login link ([`crate::http::UiLogins`]; `allmende run`
//! prints one) or the admin token at `/anmelden`, both for every tenant of the node, or by a
//! member's token at `/anmelden`, for that member only. Only the demo (`allmende demo`, made-up
//! data on loopback) publishes without a session, and its banner says so.

mod forms;
mod import;
mod keys;
mod labels;
mod pages;
mod stewardship;

use allmende_protocol::ids::OrgId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use allmende_web::Lang;
use allmende_web::layout::{Section, Shell};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};

use crate::http::ApiState;

/// What the UI handlers share.
#[derive(Clone)]
pub struct UiState {
    /// The API state (repository, network, tenants, anchors).
    pub api: ApiState,
    /// Whether the HTTP server listens on loopback only.
    pub local_only: bool,
    /// Whether this node runs the demo network (shows the demo banner).
    pub demo: bool,
    sessions: Arc<Mutex<HashMap<String, Session>>>,
}

/// What a signed-in browser may publish for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Session {
    /// Every tenant of the node (a one-time login link, or the admin token at `/anmelden`).
    Node,
    /// One organisation (a member's token at `/anmelden`).
    Org(OrgId),
}

impl UiState {
    /// UI state over the API state.
    pub fn new(api: ApiState, local_only: bool, demo: bool) -> Self {
        Self {
            api,
            local_only,
            demo,
            sessions: Arc::default(),
        }
    }
}

/// Per-request context the guard hands to the handlers.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    lang: Lang,
    csrf: String,
    path: String,
    /// What a signed-in session publishes for.
    session: Option<Session>,
    /// The posted form (CSRF field removed), for POST requests.
    form: Vec<(String, String)>,
}

const CSRF_COOKIE: &str = "allmende_csrf";
const SESSION_COOKIE: &str = "allmende_session";
const LANG_COOKIE: &str = "allmende_lang";
/// Largest form body.
const MAX_FORM_BYTES: usize = 256 * 1024;

/// The UI routes; the API router is merged next to them.
pub fn router(state: UiState) -> Router {
    Router::new()
        .route("/", get(pages::start))
        .route(allmende_web::STYLESHEET_PATH, get(stylesheet))
        .route("/produkte", get(pages::products))
        .route(
            "/produkte/neu",
            get(forms::product_new).post(forms::product_create),
        )
        .route("/produkte/{id}", get(pages::product))
        .route("/produkte/{id}/verlauf", get(stewardship::history))
        .route(
            "/produkte/{id}/vorschlaege/{proposal}/{decision}",
            axum::routing::post(stewardship::decide),
        )
        .route(
            "/produkte/{id}/bearbeiten",
            get(forms::product_edit).post(forms::product_update),
        )
        .route(
            "/produkte/{id}/bewerten",
            get(forms::rating_form).post(forms::rating_save),
        )
        .route(
            "/einsaetze/neu",
            get(forms::deployment_new).post(forms::deployment_create),
        )
        .route(
            "/einsaetze/{key}/bearbeiten",
            get(forms::deployment_edit).post(forms::deployment_update),
        )
        .route(
            "/nachnutzung/neu",
            get(forms::reuse_new).post(forms::reuse_create),
        )
        .route("/organisationen", get(pages::organisations))
        .route("/organisationen/{id}", get(pages::organisation))
        .route("/aufgaben", get(pages::tasks))
        .route("/aufgaben/{task}", get(pages::task))
        .route("/interoperabilitaet", get(pages::interop))
        .route("/doppelentwicklungen", get(pages::duplicates))
        .route("/abdeckung", get(pages::coverage))
        .route("/netzwerk", get(pages::network))
        .route("/vertrauen", get(pages::trust))
        .route("/einstellungen", get(pages::settings))
        .route(
            "/produkte/import",
            get(import::import_form).post(import::import),
        )
        .route("/schluessel", get(keys::keys))
        .route(
            "/schluessel/delegieren",
            axum::routing::post(keys::delegate),
        )
        .route("/schluessel/widerrufen", axum::routing::post(keys::revoke))
        .route("/anmelden", get(forms::login_form).post(forms::login))
        .route("/abmelden", axum::routing::post(forms::logout))
        .fallback(fallback)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        allmende_web::STYLESHEET,
    )
        .into_response()
}

fn cookies(headers: &HeaderMap) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for v in headers.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for part in s.split(';') {
            if let Some((k, v)) = part.trim().split_once('=') {
                out.insert(k.trim().to_owned(), v.trim().to_owned());
            }
        }
    }
    out
}

fn is_token(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn new_token() -> Result<String, crate::datadir::DataDirError> {
    crate::datadir::random_bytes::<32>().map(hex::encode)
}

fn plain(status: StatusCode, msg: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        msg.to_owned(),
    )
        .into_response()
}

/// Checks Origin and the CSRF token (the Host header was checked for every route by
/// [`crate::http::loopback_only`]); sets language, CSRF cookie and security headers.
async fn guard(State(s): State<UiState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let jar = cookies(&parts.headers);
    let mut set_cookies = Vec::new();
    let query = parts.uri.query().unwrap_or("");
    let asked_lang = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| Lang::parse(&v));
    let lang = match asked_lang {
        Some(l) => {
            set_cookies.push(format!(
                "{LANG_COOKIE}={}; Path=/; SameSite=Strict; Max-Age=31536000",
                l.tag()
            ));
            l
        }
        None => jar
            .get(LANG_COOKIE)
            .and_then(|v| Lang::parse(v))
            .unwrap_or_default(),
    };
    let csrf = match jar.get(CSRF_COOKIE).filter(|t| is_token(t)) {
        Some(t) => t.clone(),
        None => {
            let t = match new_token() {
                Ok(t) => t,
                Err(e) => return plain(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            };
            set_cookies.push(format!(
                "{CSRF_COOKIE}={t}; Path=/; HttpOnly; SameSite=Strict"
            ));
            t
        }
    };
    let session = jar.get(SESSION_COOKIE).and_then(|sid| {
        s.sessions
            .lock()
            .ok()
            .and_then(|m| m.get(sid.as_str()).copied())
    });
    let mut form = Vec::new();
    let body = if parts.method == Method::POST {
        if let Some(origin) = parts.headers.get(header::ORIGIN) {
            // Behind a reverse proxy with TLS the browser's origin is https://{host}.
            let origin = origin.to_str().unwrap_or("");
            if origin != format!("http://{host}") && origin != format!("https://{host}") {
                return error_page(
                    lang,
                    StatusCode::FORBIDDEN,
                    lang.tr("Anfrage abgelehnt"),
                    lang.tr("Das Formular wurde von einer anderen Website abgeschickt."),
                );
            }
        }
        let bytes = match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
            Ok(b) => b,
            Err(_) => {
                return error_page(
                    lang,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    lang.tr("Anfrage abgelehnt"),
                    lang.tr("Die Eingaben sind zu umfangreich (höchstens 256 KiB)."),
                );
            }
        };
        let mut sent_csrf = None;
        for (k, v) in url::form_urlencoded::parse(&bytes) {
            if k == "_csrf" {
                sent_csrf = Some(v.into_owned());
            } else {
                form.push((k.into_owned(), v.into_owned()));
            }
        }
        if sent_csrf.as_deref() != Some(csrf.as_str()) || !jar.contains_key(CSRF_COOKIE) {
            return error_page(
                lang,
                StatusCode::FORBIDDEN,
                lang.tr("Anfrage abgelehnt"),
                lang.tr("Das Formular ist abgelaufen oder stammt nicht von dieser Seite. Bitte laden Sie die Seite neu und senden Sie es erneut."),
            );
        }
        Body::empty()
    } else {
        body
    };
    parts.extensions.insert(Ctx {
        lang,
        csrf,
        path: parts.uri.path().to_owned(),
        session,
        form,
    });
    let mut resp = next.run(Request::from_parts(parts, body)).await;
    let h = resp.headers_mut();
    for c in set_cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    resp
}

/// The node's organisation name, for the header.
async fn own_name(s: &UiState) -> Option<String> {
    let org = s.api.organisation?;
    s.api
        .repo
        .call(move |st| {
            st.repo()
                .store()
                .connection()
                .query_row(
                    "SELECT name FROM idx_org WHERE org = ?1",
                    [org.as_bytes().as_slice()],
                    |r| r.get::<_, String>(0),
                )
                .ok()
        })
        .await
        .ok()
        .flatten()
        .or_else(|| Some(format!("{org}")))
}

/// Renders a page with the shared layout.
async fn render(
    s: &UiState,
    ctx: &Ctx,
    section: Section,
    title: &str,
    flash: Option<&str>,
    main: Markup,
) -> Html<String> {
    let org = own_name(s).await;
    let shell = Shell {
        lang: ctx.lang,
        title,
        section,
        path: &ctx.path,
        organisation: org.as_deref(),
        flash,
        demo: s.demo,
        open_mode: s.api.anchors.is_empty(),
        signed_in: ctx.session.map(|_| ctx.csrf.as_str()),
    };
    Html(allmende_web::layout::page(&shell, main).into_string())
}

/// A whole error page without node data (used where the request is refused early).
fn error_page(lang: Lang, status: StatusCode, title: &str, message: &str) -> Response {
    let shell = Shell {
        lang,
        title,
        section: Section::None,
        path: "/",
        organisation: None,
        flash: None,
        demo: false,
        open_mode: false,
        signed_in: None,
    };
    let main = html! {
        h1 { (title) }
        p { (message) }
        p { a href="/" { (lang.tr("Zurück zur Startseite")) } }
    };
    (
        status,
        Html(allmende_web::layout::page(&shell, main).into_string()),
    )
        .into_response()
}

/// A failure while building a page.
#[derive(Debug)]
pub(crate) enum UiError {
    /// 404 with a message.
    NotFound(String),
    /// 400 with a message.
    BadRequest(String),
    /// The node cannot answer (shutting down, store error).
    Internal(String),
}

impl From<crate::query::QueryError> for UiError {
    fn from(e: crate::query::QueryError) -> Self {
        UiError::Internal(e.to_string())
    }
}

impl From<crate::repo_actor::RepoGone> for UiError {
    fn from(e: crate::repo_actor::RepoGone) -> Self {
        UiError::Internal(e.to_string())
    }
}

impl From<rusqlite::Error> for UiError {
    fn from(e: rusqlite::Error) -> Self {
        UiError::Internal(e.to_string())
    }
}

impl UiError {
    fn into_page(self, lang: Lang) -> Response {
        match self {
            UiError::NotFound(m) => error_page(
                lang,
                StatusCode::NOT_FOUND,
                lang.tr("Seite nicht gefunden"),
                &m,
            ),
            UiError::BadRequest(m) => {
                error_page(lang, StatusCode::BAD_REQUEST, lang.tr("Fehler"), &m)
            }
            UiError::Internal(m) => {
                tracing::error!(error = %m, "UI page failed");
                error_page(
                    lang,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    lang.tr("Fehler"),
                    lang.tr("Der Knoten konnte die Seite nicht erstellen. Details stehen im Protokoll des Knotens."),
                )
            }
        }
    }
}

/// Lets handlers use `?` on [`UiError`] results: the error becomes a page in `lang`.
trait OrPage<T> {
    fn or_page(self, lang: Lang) -> Result<T, (Lang, UiError)>;
}

impl<T, E: Into<UiError>> OrPage<T> for Result<T, E> {
    fn or_page(self, lang: Lang) -> Result<T, (Lang, UiError)> {
        self.map_err(|e| (lang, e.into()))
    }
}

/// Turns `(lang, error)` into its page.
pub(crate) struct PageError(Lang, UiError);

impl From<(Lang, UiError)> for PageError {
    fn from((l, e): (Lang, UiError)) -> Self {
        PageError(l, e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.1.into_page(self.0)
    }
}

/// A 404 page with a fixed (translated) message.
pub(crate) fn not_found(lang: Lang, message: &'static str) -> PageError {
    PageError(lang, UiError::NotFound(lang.tr(message).to_owned()))
}

async fn fallback(axum::Extension(ctx): axum::Extension<Ctx>) -> Response {
    UiError::NotFound(
        ctx.lang
            .tr("Unter dieser Adresse gibt es keine Seite. Vielleicht hilft die Suche auf der Startseite.")
            .to_owned(),
    )
    .into_page(ctx.lang)
}

/// A 303 redirect after a successful POST.
fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Formats an integer with German or English digit grouping.
fn int(lang: Lang, n: u64) -> String {
    let digits = n.to_string();
    let sep = if lang == Lang::De { '.' } else { ',' };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// Formats a decimal with one digit after the separator.
fn dec(lang: Lang, x: f64) -> String {
    let s = format!("{x:.1}");
    if lang == Lang::De {
        s.replace('.', ",")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_expect() {
        assert_eq!(int(Lang::De, 1_084_831), "1.084.831");
        assert_eq!(int(Lang::En, 1_084_831), "1,084,831");
        assert_eq!(int(Lang::De, 12), "12");
        assert_eq!(dec(Lang::De, 4.25), "4,2");
        assert_eq!(dec(Lang::En, 4.0), "4.0");
    }

    #[test]
    fn cookies_are_parsed_and_tokens_checked() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; allmende_csrf=abc ; b"),
        );
        let c = cookies(&h);
        assert_eq!(c.get("allmende_csrf").map(String::as_str), Some("abc"));
        assert!(!is_token("abc"));
        assert!(is_token(&"a".repeat(64)));
        assert!(!is_token(&"g".repeat(64)));
    }
}
