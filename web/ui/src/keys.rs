//! The keys page (`/schluessel`): the publishing organisation's key chain, the delegations it
//! issued, and forms to delegate to another key (e.g. an IT-Dienstleister) and to revoke a
//! key. Who may use it is decided as for every form ([`crate::shell::tenant`]).

use allmende_protocol::doc::DocKind;
use allmende_protocol::identity::{Delegation, Revocation, Scope};
use allmende_protocol::ids::{OrgId, PublicKey};
use allmende_protocol::schema::UnixTime;
use allmende_protocol::sync::Cert;
use allmende_web_kit::form::{self, Field, FormState};
use allmende_web_kit::layout::Section;
use allmende_web_kit::{Markup, html};
use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};

use super::forms::{Check, unprocessable};
use super::pages::{db, org_names};
use crate::shell::tenant;
use crate::shell::{Ctx, OrPage, PageError, UiError, UiState, render, see_other};
use allmende_api::http::Tenant;

type Page = Result<Response, PageError>;

/// What the page shows of one organisation's keys.
struct KeyData {
    chain: Vec<(PublicKey, Option<i64>)>,
    /// Delegate, from, until, revoked at, scope.
    delegations: Vec<(PublicKey, i64, i64, Option<i64>, Scope)>,
}

async fn key_data(s: &UiState, ctx: &Ctx, org: OrgId) -> Result<KeyData, PageError> {
    s.api
        .repo
        .call(move |st| {
            let certs = st.repo().certificates();
            let chain: Vec<(PublicKey, Option<i64>)> = certs
                .org_keys(org)
                .into_iter()
                .map(|(k, t)| (k, t.map(|t| t.0)))
                .collect();
            let keys: Vec<PublicKey> = chain.iter().map(|(k, _)| *k).collect();
            let delegations = certs
                .delegations()
                .filter(|d| d.body.issuer == org)
                .map(|d| {
                    let revoked = certs
                        .revocations()
                        .filter(|r| {
                            r.body.subject == d.body.delegate && keys.contains(&r.body.issuer)
                        })
                        .map(|r| r.body.effective.0)
                        .min();
                    (
                        d.body.delegate,
                        d.body.not_before.0,
                        d.body.not_after.0,
                        revoked,
                        d.body.scope,
                    )
                })
                .collect();
            KeyData { chain, delegations }
        })
        .await
        .or_page(ctx.lang)
        .map_err(PageError::from)
}

/// What a delegation of each kind lets the delegate publish, for people.
fn kind_label(kind: DocKind) -> &'static str {
    match kind {
        DocKind::Profile => "Profil (Name, AGS, Art der Organisation)",
        DocKind::Deployments => "Einsätze",
        DocKind::Experience => "Bewertungen und Nachnutzungsberichte",
        DocKind::Product => "Produkte",
        DocKind::Trust => "Bestätigungen",
    }
}

/// The delegation form as first shown: 365 days, the default scope.
fn delegate_defaults() -> FormState {
    let mut values = vec![("days".to_owned(), "365".to_owned())];
    let scope = allmende_protocol::identity::default_delegation_scope();
    values.extend(
        scope
            .kinds()
            .into_iter()
            .map(|k| ("scope".to_owned(), k.slug().to_owned())),
    );
    FormState::with_values(values)
}

async fn keys_page(
    s: &UiState,
    ctx: &Ctx,
    tn: &Tenant,
    delegate: &FormState,
    revoke: &FormState,
    flash: Option<&str>,
) -> Result<axum::response::Html<String>, PageError> {
    let lang = ctx.lang;
    let t = |x| lang.tr(x);
    let d = key_data(s, ctx, tn.org).await?;
    let names = db(s, lang, org_names).await?;
    let name = names
        .get(tn.org.as_bytes().as_slice())
        .cloned()
        .unwrap_or_else(|| format!("{:#}", tn.org));
    let day = |t: i64| {
        allmende_formats::export::iso8601(UnixTime(t))
            .chars()
            .take(10)
            .collect::<String>()
    };
    let is_root = tn.keypair.public() == tn.org.root_key();
    let scope_options: Vec<(&str, &str)> = allmende_protocol::identity::DELEGABLE
        .iter()
        .map(|k| (k.slug(), t(kind_label(*k))))
        .collect();
    let main: Markup = html! {
        h1 { (t("Schlüssel")) ": " (name) }
        p { (t("Hier delegieren Sie das Veröffentlichen an einen weiteren Schlüssel, etwa an Ihren IT-Dienstleister, und widerrufen Schlüssel. Jede Aussage wird signiert und an alle Knoten verteilt.")) }
        h2 { (t("Schlüssel der Organisation")) }
        div.table-wrap { table {
            thead { tr { th scope="col" { (t("Schlüssel")) } th scope="col" { (t("seit")) } th scope="col" { (t("Stand")) } } }
            tbody { @for (i, (k, from)) in d.chain.iter().enumerate() { tr {
                td.mono { (format!("{k:#}")) }
                td { @match from { Some(f) => (day(*f)), None => (t("Stammschlüssel")) } }
                td { @if i + 1 == d.chain.len() { (t("aktuell")) } @else { (t("abgelöst")) }
                     @if *k == tn.keypair.public() { " (" (t("dieser Knoten")) ")" } }
            } } }
        } }
        p { (t("Einen Schlüssel wechseln Sie mit allmende key rotate auf dem Rechner des Knotens.")) }
        h2 { (t("Delegationen")) }
        @if d.delegations.is_empty() { p { (t("Keine.")) } } @else {
            div.table-wrap { table {
                thead { tr { th scope="col" { (t("Schlüssel")) } th scope="col" { (t("darf veröffentlichen")) } th scope="col" { (t("gültig ab")) } th scope="col" { (t("gültig bis")) } th scope="col" { (t("widerrufen ab")) } } }
                tbody { @for (k, from, until, revoked, scope) in &d.delegations { tr {
                    td.mono { (format!("{k:#}")) }
                    td { (scope.kinds().into_iter().map(|k| t(kind_label(k))).collect::<Vec<_>>().join(", ")) }
                    td { (day(*from)) } td { (day(*until)) }
                    td { @match revoked { Some(r) => (day(*r)), None => "–" } }
                } } }
            } }
        }
        h2 #delegieren { (t("Delegieren")) }
        @if is_root {
            form method="post" action="/schluessel/delegieren" novalidate {
                (form::csrf(&ctx.csrf))
                (form::summary(lang, delegate, &[("key", t("Schlüssel, der veröffentlichen darf")), ("scope", t("Darf veröffentlichen")), ("days", t("Gültig für Tage"))]))
                (form::input(lang, delegate, Field::new("key", t("Schlüssel, der veröffentlichen darf")).hint(t("64 Hexadezimalzeichen; der Empfänger zeigt ihn mit allmende key export-public an.")), "text"))
                (form::choices(delegate, Field::new("scope", t("Darf veröffentlichen")).hint(t("Das Profil (Name, AGS, Art) ändert üblicherweise nur die Organisation selbst.")), &scope_options, true))
                (form::input(lang, delegate, Field::new("days", t("Gültig für Tage")).hint(t("1 bis 3650")), "text"))
                div.actions { button type="submit" { (t("Delegation signieren")) } }
            }
        } @else {
            p { (t("Delegieren kann nur der Stammschlüssel der Organisation; dieser Knoten hält einen anderen Schlüssel.")) }
        }
        h2 #widerrufen { (t("Widerrufen")) }
        form method="post" action="/schluessel/widerrufen" novalidate {
            (form::csrf(&ctx.csrf))
            (form::summary(lang, revoke, &[("key", t("Zu widerrufender Schlüssel")), ("reason", t("Grund"))]))
            (form::input(lang, revoke, Field::new("key", t("Zu widerrufender Schlüssel")).hint(t("Ein Schlüssel, an den Sie delegiert haben, oder ein früherer Schlüssel Ihrer Organisation.")), "text"))
            (form::input(lang, revoke, Field::new("reason", t("Grund")).hint(t("Zum Beispiel: Vertrag beendet, Schlüssel verloren.")), "text"))
            div.actions { button type="submit" { (t("Widerruf signieren")) } }
        }
    };
    Ok(render(s, ctx, Section::Trust, t("Schlüssel"), flash, main).await)
}

pub(super) async fn keys(
    State(s): State<UiState>,
    Extension(ctx): Extension<Ctx>,
    RawQuery(raw): RawQuery,
) -> Page {
    let tn = match tenant(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return Ok(*r),
    };
    Ok(keys_page(
        &s,
        &ctx,
        &tn,
        &delegate_defaults(),
        &FormState::default(),
        super::pages::flash_text(ctx.lang, raw.as_deref()),
    )
    .await?
    .into_response())
}

fn parse_key(c: &mut Check<'_>, own: &Tenant) -> Option<PublicKey> {
    let raw = c.text("key", 200, true)?;
    match raw.parse::<PublicKey>() {
        Ok(k) if k == own.keypair.public() => {
            c.st.fail(
                "key",
                c.lang.tr("Das ist der eigene Schlüssel dieses Knotens."),
            );
            None
        }
        Ok(k) => Some(k),
        Err(_) => {
            c.st.fail(
                "key",
                c.lang
                    .tr("Bitte einen Schlüssel aus 64 Hexadezimalzeichen angeben."),
            );
            None
        }
    }
}

async fn publish(s: &UiState, ctx: &Ctx, cert: Cert) -> Result<(), PageError> {
    s.api
        .repo
        .call(move |st| st.publish_cert(cert))
        .await
        .or_page(ctx.lang)?
        .map_err(|e| PageError::from((ctx.lang, UiError::BadRequest(e.to_string()))))?;
    Ok(())
}

pub(super) async fn delegate(State(s): State<UiState>, Extension(ctx): Extension<Ctx>) -> Page {
    let lang = ctx.lang;
    let tn = match tenant(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return Ok(*r),
    };
    let mut st = FormState::with_values(ctx.form.clone());
    let mut c = Check { st: &mut st, lang };
    let key = parse_key(&mut c, &tn);
    let days = c.number("days", 3650);
    if days == Some(0) {
        c.st.fail("days", lang.tr("Mindestens ein Tag."));
    }
    // The check boxes send kind slugs; anything else comes from a hand-made request.
    let mut scope = Scope::default();
    let mut unknown = Vec::new();
    for name in c.st.all("scope") {
        match allmende_protocol::identity::DELEGABLE
            .iter()
            .find(|k| k.slug() == name)
        {
            Some(k) => scope = scope.with(*k),
            None => unknown.push(name.chars().take(40).collect::<String>()),
        }
    }
    if let Some(name) = unknown.first() {
        let msg = format!(
            "„{name}“: {}",
            lang.tr("keine Art von Einträgen, die delegiert werden kann.")
        );
        c.st.fail("scope", msg);
    } else if scope.kinds().is_empty() {
        c.st.fail(
            "scope",
            lang.tr("Bitte mindestens eine Art von Einträgen wählen."),
        );
    }
    let scope = Some(scope).filter(|s| !s.kinds().is_empty() && unknown.is_empty());
    if tn.keypair.public() != tn.org.root_key() {
        c.st.fail("key", lang.tr("Delegieren kann nur der Stammschlüssel der Organisation; dieser Knoten hält einen anderen Schlüssel."));
    }
    let (Some(key), Some(days), Some(scope), false) = (key, days, scope, st.has_errors()) else {
        if !st.has_errors() {
            st.fail("days", lang.tr("Bitte eine Anzahl Tage angeben."));
        }
        let empty = FormState::default();
        return Ok(unprocessable(
            keys_page(&s, &ctx, &tn, &st, &empty, None).await?,
        ));
    };
    let start = allmende_store::now();
    let signed = Delegation {
        issuer: tn.org,
        delegate: key,
        scope,
        not_before: start,
        not_after: UnixTime(start.0 + i64::try_from(days).unwrap_or(3650) * 86_400),
    }
    .sign(&tn.keypair)
    .map_err(|e| PageError::from((lang, UiError::BadRequest(e.to_string()))))?;
    publish(&s, &ctx, Cert::Delegation(signed)).await?;
    Ok(see_other("/schluessel?gespeichert=delegation"))
}

pub(super) async fn revoke(State(s): State<UiState>, Extension(ctx): Extension<Ctx>) -> Page {
    let lang = ctx.lang;
    let tn = match tenant(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return Ok(*r),
    };
    let mut st = FormState::with_values(ctx.form.clone());
    let mut c = Check { st: &mut st, lang };
    let key = parse_key(&mut c, &tn);
    let reason = c.text("reason", 500, false).unwrap_or_default();
    let Some(key) = key.filter(|_| !st.has_errors()) else {
        return Ok(unprocessable(
            keys_page(&s, &ctx, &tn, &delegate_defaults(), &st, None).await?,
        ));
    };
    let signed = Revocation {
        issuer: tn.keypair.public(),
        subject: key,
        effective: allmende_store::now(),
        reason,
    }
    .sign(&tn.keypair)
    .map_err(|e| PageError::from((lang, UiError::BadRequest(e.to_string()))))?;
    publish(&s, &ctx, Cert::Revocation(signed)).await?;
    Ok(see_other("/schluessel?gespeichert=widerruf"))
}
