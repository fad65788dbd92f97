//! The local web UI: HTML pages for people, next to the JSON API (`/api/v1`) for programs.
//!
//! ```text
//!  browser ──HTTP──▶ [Host check on loopback: allmende_api::http::loopback_only, every route]
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
//! Layout, texts, charts and form fields come from the `allmende-web-kit`. Pages use no
//! JavaScript and load nothing from elsewhere (a strict Content-Security-Policy says so).
//!
//! Security: every value is escaped by maud. Every POST must carry the CSRF token of the
//! `allmende_csrf` cookie (SameSite=Strict) in its `_csrf` field, and its `Origin`, when
//! sent, must be this host. When the server listens on loopback only, the Host header must
//! name a loopback host (no DNS rebinding, checked for every route in [`allmende_api::http`]).
//!
//! Reading needs nothing. Publishing and the keys page need a session (cookie
//! `allmende_session`, HttpOnly, SameSite=Strict, kept in memory), also on loopback: every
//! local user and process can reach a loopback port, and on an IT-Dienstleister's multi-user
//! server that would let any of them publish as the organisation and sign delegations. A
//! session is opened by a one-time login link ([`allmende_api::http::UiLogins`]; `allmende run`
//! prints one) or the admin token at `/anmelden`, both for every tenant of the node, or by a
//! member's token at `/anmelden`, for that member only. Only the demo (`allmende demo`, made-up
//! data on loopback) publishes without a session, and its banner says so.

mod compare;
mod exchange;
mod follow;
mod forms;
mod import;
mod inventory;
mod keys;
mod labels;
mod pages;
mod shell;
mod stewardship;
mod training;

use allmende_web_kit::Lang;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use shell::UiState;
use shell::{
    CSRF_COOKIE, Ctx, LANG_COOKIE, MAX_FORM_BYTES, SESSION_COOKIE, UiError, cookies, error_page,
    is_token, new_token, plain,
};

/// The UI routes; the API router is merged next to them.
pub fn router(state: UiState) -> Router {
    Router::new()
        .route("/", get(pages::start))
        .route(allmende_web_kit::STYLESHEET_PATH, get(stylesheet))
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
        .route("/bestand", get(inventory::form).post(inventory::upload))
        .route(
            "/bestand/vorschau",
            axum::routing::post(inventory::repreview),
        )
        .route("/bestand/import", axum::routing::post(inventory::import))
        .route("/schulungen", get(training::overview))
        .route(
            "/schulungen/neu",
            get(training::offer_new).post(training::offer_create),
        )
        .route(
            "/schulungen/{org}/{key}/bewerten",
            get(training::rate_form).post(training::rate_save),
        )
        .route(
            "/nachnutzung/neu",
            get(forms::reuse_new).post(forms::reuse_create),
        )
        .route("/organisationen", get(pages::organisations))
        .route("/organisationen/{id}", get(pages::organisation))
        .route("/organisationen/{id}/vergleich", get(compare::of_org))
        .route("/vergleich", get(compare::own))
        .route("/aufgaben", get(pages::tasks))
        .route("/aufgaben/{task}", get(pages::task))
        .route("/interoperabilitaet", get(pages::interop))
        .route("/doppelentwicklungen", get(pages::duplicates))
        .route("/abdeckung", get(pages::coverage))
        .route("/kreise/{key}", get(pages::kreis))
        .route("/ozg-leistungen", get(pages::ozg))
        .route("/netzwerk", get(pages::network))
        .route("/vertrauen", get(pages::trust))
        .route("/einstellungen", get(pages::settings))
        .route("/quellen", get(pages::sources))
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
        .route("/beobachtet", get(follow::watch_page))
        .route("/hinweise", get(follow::notices_page))
        .route("/beobachten", axum::routing::post(follow::toggle))
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
        allmende_web_kit::STYLESHEET,
    )
        .into_response()
}

/// Checks Origin and the CSRF token (the Host header was checked for every route by
/// [`allmende_api::http::loopback_only`]); sets language, CSRF cookie and security headers.
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
    let mut file = None;
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
        // Only the inventory upload takes a file (multipart/form-data, up to its file limit);
        // every other form is URL-encoded and small.
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let multipart =
            parts.uri.path() == "/bestand" && content_type.starts_with("multipart/form-data");
        let limit = if multipart {
            shell::MAX_FILE_BYTES + 64 * 1024
        } else {
            MAX_FORM_BYTES
        };
        let bytes = match axum::body::to_bytes(body, limit).await {
            Ok(b) => b,
            Err(_) => {
                return error_page(
                    lang,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    lang.tr("Anfrage abgelehnt"),
                    if multipart {
                        lang.tr("Die Datei ist größer als 4 MiB.")
                    } else {
                        lang.tr("Die Eingaben sind zu umfangreich (höchstens 256 KiB).")
                    },
                );
            }
        };
        let mut sent_csrf = None;
        if multipart {
            match read_multipart(&content_type, bytes).await {
                Ok((fields, f)) => {
                    for (k, v) in fields {
                        if k == "_csrf" {
                            sent_csrf = Some(v);
                        } else {
                            form.push((k, v));
                        }
                    }
                    file = f;
                }
                Err(m) => {
                    return error_page(
                        lang,
                        StatusCode::BAD_REQUEST,
                        lang.tr("Anfrage abgelehnt"),
                        &m,
                    );
                }
            }
        } else {
            for (k, v) in url::form_urlencoded::parse(&bytes) {
                if k == "_csrf" {
                    sent_csrf = Some(v.into_owned());
                } else {
                    form.push((k.into_owned(), v.into_owned()));
                }
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
        file,
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

/// The text fields and the one file of a `multipart/form-data` body (axum's parser). At most
/// 20 text fields of 4 KiB each and one file part.
async fn read_multipart(
    content_type: &str,
    bytes: axum::body::Bytes,
) -> Result<(Vec<(String, String)>, Option<shell::FilePart>), String> {
    use axum::extract::FromRequest;
    let req = Request::builder()
        .method(Method::POST)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(bytes))
        .map_err(|e| e.to_string())?;
    let mut mp = axum::extract::Multipart::from_request(req, &())
        .await
        .map_err(|e| format!("not a valid multipart/form-data body: {e}"))?;
    let mut fields = Vec::new();
    let mut file = None;
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|e| format!("not a valid multipart/form-data body: {e}"))?
    {
        let name = field.name().unwrap_or("").to_owned();
        if let Some(file_name) = field.file_name().map(str::to_owned) {
            if file.is_some() {
                return Err("only one file may be uploaded".to_owned());
            }
            let data = field.bytes().await.map_err(|e| e.to_string())?;
            file = Some(shell::FilePart {
                name: file_name.chars().take(200).collect(),
                bytes: data.to_vec(),
            });
        } else {
            if fields.len() >= 20 {
                return Err("too many form fields".to_owned());
            }
            let text = field.text().await.map_err(|e| e.to_string())?;
            if text.len() > 4096 {
                return Err(format!("form field {name:?} is too long"));
            }
            fields.push((name, text));
        }
    }
    Ok((fields, file))
}

async fn fallback(axum::Extension(ctx): axum::Extension<Ctx>) -> Response {
    UiError::NotFound(
        ctx.lang
            .tr("Unter dieser Adresse gibt es keine Seite. Vielleicht hilft die Suche auf der Startseite.")
            .to_owned(),
    )
    .into_page(ctx.lang)
}
