//! What every page shares: the UI state, the per-request context the guard hands to the
//! handlers, cookies and tokens, rendering into the page shell, errors as pages, and number
//! formats.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use allmende_api::http::{ApiState, Tenant};
use allmende_protocol::ids::DocId;
use allmende_protocol::ids::OrgId;
use allmende_web_kit::Lang;
use allmende_web_kit::layout::{Section, Shell};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};

/// What the UI handlers share.
#[derive(Clone)]
pub struct UiState {
    /// The API state (repository, network, tenants, anchors).
    pub api: ApiState,
    /// Whether the HTTP server listens on loopback only.
    pub local_only: bool,
    /// Whether this node runs the demo network (shows the demo banner).
    pub demo: bool,
    pub(crate) sessions: Arc<Mutex<HashMap<String, Session>>>,
    /// Spreadsheets uploaded for the inventory import, waiting for their import.
    pub(crate) uploads: Arc<Uploads>,
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
            uploads: Arc::default(),
        }
    }
}

/// Per-request context the guard hands to the handlers.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub(crate) lang: Lang,
    pub(crate) csrf: String,
    pub(crate) path: String,
    /// What a signed-in session publishes for.
    pub(crate) session: Option<Session>,
    /// The posted form (CSRF field removed), for POST requests.
    pub(crate) form: Vec<(String, String)>,
    /// The file of a `multipart/form-data` POST (the inventory upload only).
    pub(crate) file: Option<FilePart>,
}

pub(crate) const CSRF_COOKIE: &str = "allmende_csrf";
pub(crate) const SESSION_COOKIE: &str = "allmende_session";
pub(crate) const LANG_COOKIE: &str = "allmende_lang";
/// Largest form body.
pub(crate) const MAX_FORM_BYTES: usize = 256 * 1024;

pub(crate) fn cookies(headers: &HeaderMap) -> HashMap<String, String> {
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

pub(crate) fn is_token(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) fn new_token() -> Result<String, allmende_store::datadir::DataDirError> {
    allmende_store::datadir::random_bytes::<32>().map(hex::encode)
}

pub(crate) fn plain(status: StatusCode, msg: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        msg.to_owned(),
    )
        .into_response()
}

/// The node's organisation name, for the header.
pub(crate) async fn own_name(s: &UiState) -> Option<String> {
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
pub(crate) async fn render(
    s: &UiState,
    ctx: &Ctx,
    section: Section,
    title: &str,
    flash: Option<&str>,
    main: Markup,
) -> Html<String> {
    render_feed(s, ctx, section, title, flash, main, None).await
}

/// Like [`render`] for a page with an Atom feed, announced in the head
/// (`link rel="alternate"`).
pub(crate) async fn render_feed(
    s: &UiState,
    ctx: &Ctx,
    section: Section,
    title: &str,
    flash: Option<&str>,
    main: Markup,
    feed: Option<&str>,
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
        feed,
    };
    Html(allmende_web_kit::layout::page(&shell, main).into_string())
}

/// A whole error page without node data (used where the request is refused early).
pub(crate) fn error_page(lang: Lang, status: StatusCode, title: &str, message: &str) -> Response {
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
        feed: None,
    };
    let main = html! {
        h1 { (title) }
        p { (message) }
        p { a href="/" { (lang.tr("Zurück zur Startseite")) } }
    };
    (
        status,
        Html(allmende_web_kit::layout::page(&shell, main).into_string()),
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

impl From<allmende_catalog::query::QueryError> for UiError {
    fn from(e: allmende_catalog::query::QueryError) -> Self {
        UiError::Internal(e.to_string())
    }
}

impl From<allmende_repo_thread::repo_actor::RepoGone> for UiError {
    fn from(e: allmende_repo_thread::repo_actor::RepoGone) -> Self {
        UiError::Internal(e.to_string())
    }
}

impl From<rusqlite::Error> for UiError {
    fn from(e: rusqlite::Error) -> Self {
        UiError::Internal(e.to_string())
    }
}

impl UiError {
    pub(crate) fn into_page(self, lang: Lang) -> Response {
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
pub(crate) trait OrPage<T> {
    fn or_page(self, lang: Lang) -> Result<T, (Lang, UiError)>;
}

impl<T, E: Into<UiError>> OrPage<T> for Result<T, E> {
    fn or_page(self, lang: Lang) -> Result<T, (Lang, UiError)> {
        self.map_err(|e| (lang, e.into()))
    }
}

/// Turns `(lang, error)` into its page.
pub(crate) struct PageError(pub(crate) Lang, pub(crate) UiError);

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

/// A 303 redirect after a successful POST.
pub(crate) fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Formats an integer with German or English digit grouping.
pub(crate) fn int(lang: Lang, n: u64) -> String {
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
pub(crate) fn dec(lang: Lang, x: f64) -> String {
    let s = format!("{x:.1}");
    if lang == Lang::De {
        s.replace('.', ",")
    } else {
        s
    }
}

/// Which tenant a form publishes for, or the response that explains why none may.
pub(crate) fn tenant(s: &UiState, ctx: &Ctx) -> Result<Tenant, Box<Response>> {
    let tenants = s.api.tenants.current();
    if tenants.is_empty() {
        return Err(Box::new(crate::shell::error_page(
            ctx.lang,
            StatusCode::FORBIDDEN,
            ctx.lang.tr("Veröffentlichen nicht möglich"),
            ctx.lang.tr("Dieser Knoten hat keine eigene Organisation und kann nur lesen. Eine Organisation wird mit allmende init angelegt."),
        )));
    }
    let all_tenants = match ctx.session {
        // A removed member's session ends with its tenant.
        Some(Session::Org(org)) => {
            return s
                .api
                .tenants
                .get(&org)
                .ok_or_else(|| Box::new(see_other("/anmelden")));
        }
        Some(Session::Node) => true,
        None => s.demo,
    };
    if !all_tenants {
        return Err(Box::new(see_other(&format!(
            "/anmelden?weiter={}",
            url_part(&ctx.path)
        ))));
    }
    let chosen = ctx
        .form
        .iter()
        .find(|(k, _)| k == "_fuer")
        .and_then(|(_, v)| v.parse::<OrgId>().ok());
    Ok(chosen
        .and_then(|org| tenants.iter().find(|t| t.org == org))
        .unwrap_or(&tenants[0])
        .clone())
}

pub(crate) fn parse_doc(lang: Lang, id: &str) -> Result<DocId, PageError> {
    id.parse::<DocId>().map_err(|_| {
        PageError::from((
            lang,
            UiError::NotFound(format!(
                "{}: {}",
                lang.tr("Keine gültige Produktkennung"),
                id.chars().take(80).collect::<String>()
            )),
        ))
    })
}

/// Percent-encodes one path or query component.
pub(crate) fn url_part(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

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

/// The verified badge of an organisation: attested by a followed anchor, or not.
pub(crate) fn verified_badge(lang: Lang, verified: bool) -> Markup {
    html! {
        @if verified { span.badge.ok { "✓ " (lang.tr("verifiziert")) } }
        @else { span.badge.warn { (lang.tr("nicht verifiziert")) } }
    }
}

/// Spreadsheets kept at once for the inventory import, across all organisations of the node.
pub(crate) const MAX_UPLOADS: usize = 4;
/// How long an uploaded spreadsheet waits for its import.
pub(crate) const UPLOAD_TTL: std::time::Duration = std::time::Duration::from_secs(30 * 60);
/// Largest spreadsheet (as the API): 4 MiB.
pub(crate) const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// One uploaded file waiting for its import.
pub(crate) struct Upload {
    token: String,
    org: OrgId,
    name: String,
    bytes: Arc<Vec<u8>>,
    at: std::time::Instant,
}

/// The uploads of a node's UI.
#[derive(Default)]
pub(crate) struct Uploads(Mutex<std::collections::VecDeque<Upload>>);

impl Uploads {
    pub(crate) fn put(&self, org: OrgId, name: String, bytes: Vec<u8>) -> Result<String, UiError> {
        let token = new_token().map_err(|e| UiError::Internal(e.to_string()))?;
        let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        q.retain(|u| u.at.elapsed() < UPLOAD_TTL);
        while q.len() >= MAX_UPLOADS {
            q.pop_front();
        }
        q.push_back(Upload {
            token: token.clone(),
            org,
            name,
            bytes: Arc::new(bytes),
            at: std::time::Instant::now(),
        });
        Ok(token)
    }

    pub(crate) fn get(&self, org: OrgId, token: &str) -> Option<(String, Arc<Vec<u8>>)> {
        let q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        q.iter()
            .find(|u| u.token == token && u.org == org && u.at.elapsed() < UPLOAD_TTL)
            .map(|u| (u.name.clone(), u.bytes.clone()))
    }

    pub(crate) fn remove(&self, token: &str) {
        let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        q.retain(|u| u.token != token);
    }
}

/// A file posted as `multipart/form-data` (the guard in `lib.rs` reads it).
#[derive(Debug, Clone)]
pub(crate) struct FilePart {
    pub(crate) name: String,
    pub(crate) bytes: Vec<u8>,
}

/// The statistics scope: verified organisations, or everyone when this node follows no anchor
/// or `alle=1` (in the query `raw`) asks for it.
pub(crate) fn stats_scope(s: &UiState, raw: Option<&str>) -> allmende_catalog::stats::Scope {
    let all = raw.is_some_and(|q| {
        url::form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "alle" && v == "1")
    });
    allmende_catalog::stats::Scope {
        anchors: s.api.anchors.to_vec(),
        include_unverified: all || s.api.anchors.is_empty(),
    }
}
