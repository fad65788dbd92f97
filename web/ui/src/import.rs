//! Importing a `publiccode.yml` in the UI (`/produkte/import`): paste the file, get the
//! product (created, or updated when the same repository was imported before) and every
//! warning with its key and line. A file that is no YAML comes back with the parser's
//! message and line at the field, and nothing is stored.

use allmende_web_kit::form::{self, Field, FormState};
use allmende_web_kit::layout::Section;
use allmende_web_kit::{Markup, html};
use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::forms::unprocessable;
use crate::shell::tenant;
use crate::shell::{Ctx, PageError, UiError, UiState, render};

type Page = Result<Response, PageError>;

/// Largest file accepted through the form (the form body limit is 256 KiB).
const MAX_YAML_BYTES: usize = 200 * 1024;

async fn form_page(
    s: &UiState,
    ctx: &Ctx,
    st: &FormState,
) -> Result<axum::response::Html<String>, PageError> {
    let lang = ctx.lang;
    let t = |x| lang.tr(x);
    let main: Markup = html! {
        h1 { (t("publiccode.yml importieren")) }
        p { (t("Fügen Sie den Inhalt einer publiccode.yml-Datei ein (Versionen 0.2 bis 0.7, mit deutscher Erweiterung und LeiKa-Schlüsseln). Das Produkt wird angelegt oder, wenn dieselbe Datei schon einmal importiert wurde, aktualisiert. Angaben unter usedBy werden als Hinweise gezeigt, nicht als Einsätze gespeichert.")) }
        form method="post" action="/produkte/import" novalidate {
            (form::csrf(&ctx.csrf))
            (form::summary(lang, st, &[("yaml", t("Inhalt der publiccode.yml"))]))
            (form::textarea(lang, st, Field::new("yaml", t("Inhalt der publiccode.yml")).hint(t("Höchstens 200 KiB.")), 20))
            div.actions {
                button type="submit" { (t("Importieren")) }
                a.button.secondary href="/produkte" { (t("Abbrechen")) }
            }
        }
    };
    Ok(render(
        s,
        ctx,
        Section::Products,
        t("publiccode.yml importieren"),
        None,
        main,
    )
    .await)
}

pub(super) async fn import_form(State(s): State<UiState>, Extension(ctx): Extension<Ctx>) -> Page {
    if let Err(r) = tenant(&s, &ctx) {
        return Ok(*r);
    }
    Ok(form_page(&s, &ctx, &FormState::default())
        .await?
        .into_response())
}

pub(super) async fn import(State(s): State<UiState>, Extension(ctx): Extension<Ctx>) -> Page {
    let lang = ctx.lang;
    let t = |x| lang.tr(x);
    let tn = match tenant(&s, &ctx) {
        Ok(t) => t,
        Err(r) => return Ok(*r),
    };
    let mut st = FormState::with_values(ctx.form.clone());
    let text = st.value("yaml").to_owned();
    let parsed = if text.trim().is_empty() {
        st.fail("yaml", t("Bitte den Inhalt einer publiccode.yml einfügen."));
        None
    } else if text.len() > MAX_YAML_BYTES {
        st.fail("yaml", t("Die Datei ist größer als 200 KiB."));
        None
    } else {
        match allmende_formats::publiccode::parse(&text) {
            Ok(p) => Some(p),
            Err(e) => {
                st.fail(
                    "yaml",
                    format!("{}: {e}", t("Die Datei wurde nicht importiert")),
                );
                None
            }
        }
    };
    let Some(parsed) = parsed else {
        return Ok(unprocessable(form_page(&s, &ctx, &st).await?));
    };
    let o = allmende_api::http::import_publiccode(&s.api, &tn, parsed)
        .await
        .map_err(|e| PageError::from((lang, UiError::BadRequest(e.to_string()))))?;
    let (id, parsed) = (o.id, &o);
    let outcome = match (o.created, o.changed) {
        (true, _) => t("Produkt angelegt."),
        (false, true) => t("Produkt aktualisiert."),
        (false, false) => t("Das Produkt war schon auf diesem Stand; nichts geändert."),
    };
    let main: Markup = html! {
        h1 { (t("publiccode.yml importiert")) }
        p role="status" { (outcome) " " a href={ "/produkte/" (format!("{id:#}")) } { (parsed.product.name) } }
        h2 { (t("Hinweise")) }
        @if parsed.warnings.is_empty() {
            p { (t("Keine: alle Angaben wurden übernommen.")) }
        } @else {
            p { (t("Diese Angaben wurden nicht oder nur teilweise übernommen:")) }
            div.table-wrap { table {
                thead { tr { th scope="col" { (t("Schlüssel")) } th scope="col" { (t("Zeile")) } th scope="col" { (t("Hinweis")) } } }
                tbody { @for w in &parsed.warnings { tr {
                    td.mono { (w.key) } td { (w.line) } td { (w.message) }
                } } }
            } }
        }
        @if !parsed.used_by.is_empty() {
            h2 { (t("Genannte Nutzer (usedBy)")) }
            p { (t("Die Datei nennt diese Nutzer. Das sind unbestätigte Hinweise; als Einsatz zählt nur, was eine Organisation selbst veröffentlicht.")) }
            ul { @for u in &parsed.used_by { li { (u) } } }
        }
    };
    Ok(render(
        &s,
        &ctx,
        Section::Products,
        t("publiccode.yml importiert"),
        None,
        main,
    )
    .await
    .into_response())
}
