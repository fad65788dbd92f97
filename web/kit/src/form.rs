//! Form fields with their label, an optional hint and the validation message next to them.
//! A [`FormState`] holds what the user typed, so a form shown again after an error keeps
//! every input; the message is tied to its field with `aria-describedby` and the field is
//! marked `aria-invalid`.

use std::collections::BTreeMap;

use maud::{Markup, html};

use crate::Lang;

/// What a form holds: the submitted values (in order, names may repeat) and messages per field.
#[derive(Debug, Clone, Default)]
pub struct FormState {
    /// Submitted name/value pairs.
    pub values: Vec<(String, String)>,
    /// Validation message per field name.
    pub errors: BTreeMap<String, String>,
}

impl FormState {
    /// A form prefilled with `values`.
    pub fn with_values(values: Vec<(String, String)>) -> Self {
        Self {
            values,
            errors: BTreeMap::new(),
        }
    }

    /// The first value of `name`, or "".
    pub fn value(&self, name: &str) -> &str {
        self.values
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.values
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Records a message for `name` (the first one wins).
    pub fn fail(&mut self, name: &str, message: impl Into<String>) {
        self.errors
            .entry(name.to_owned())
            .or_insert_with(|| message.into());
    }

    /// Whether any field failed.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    fn error(&self, name: &str) -> Option<&str> {
        self.errors.get(name).map(String::as_str)
    }
}

/// A field's label and help.
#[derive(Debug, Clone, Copy)]
pub struct Field<'a> {
    /// Form name (also the element id).
    pub name: &'a str,
    /// Visible label.
    pub label: &'a str,
    /// Help shown under the label.
    pub hint: Option<&'a str>,
    /// Whether the field must be filled.
    pub required: bool,
}

impl<'a> Field<'a> {
    /// An optional field without hint.
    pub fn new(name: &'a str, label: &'a str) -> Self {
        Self {
            name,
            label,
            hint: None,
            required: false,
        }
    }

    /// With a hint.
    pub fn hint(mut self, hint: &'a str) -> Self {
        self.hint = Some(hint);
        self
    }

    /// Required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
}

fn described_by(f: &Field<'_>, error: bool) -> Option<String> {
    let mut ids = Vec::new();
    if f.hint.is_some() {
        ids.push(format!("{}-hinweis", f.name));
    }
    if error {
        ids.push(format!("{}-fehler", f.name));
    }
    (!ids.is_empty()).then(|| ids.join(" "))
}

fn label(lang: Lang, f: &Field<'_>) -> Markup {
    html! {
        label for=(f.name) {
            (f.label)
            @if f.required { " " span.required { "(" (lang.tr("Pflichtfeld")) ")" } }
        }
        @if let Some(h) = f.hint { p.hint id={ (f.name) "-hinweis" } { (h) } }
    }
}

fn message(f: &Field<'_>, error: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error { p.error id={ (f.name) "-fehler" } { (e) } }
    }
}

/// A one-line input of `kind` ("text", "number", "url", "password", "date").
pub fn input(lang: Lang, state: &FormState, f: Field<'_>, kind: &str) -> Markup {
    let error = state.error(f.name);
    html! {
        div.field.invalid[error.is_some()] {
            (label(lang, &f))
            (message(&f, error))
            input type=(kind) id=(f.name) name=(f.name) value=(state.value(f.name))
                required[f.required] aria-invalid=[error.map(|_| "true")]
                aria-describedby=[described_by(&f, error.is_some())];
        }
    }
}

/// A multi-line input.
pub fn textarea(lang: Lang, state: &FormState, f: Field<'_>, rows: u32) -> Markup {
    let error = state.error(f.name);
    html! {
        div.field.invalid[error.is_some()] {
            (label(lang, &f))
            (message(&f, error))
            textarea id=(f.name) name=(f.name) rows=(rows) required[f.required]
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[described_by(&f, error.is_some())] { (state.value(f.name)) }
        }
    }
}

/// A drop-down list of (value, label).
pub fn select(lang: Lang, state: &FormState, f: Field<'_>, options: &[(&str, &str)]) -> Markup {
    let error = state.error(f.name);
    let current = state.value(f.name);
    html! {
        div.field.invalid[error.is_some()] {
            (label(lang, &f))
            (message(&f, error))
            select id=(f.name) name=(f.name) required[f.required]
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[described_by(&f, error.is_some())] {
                @for (value, text) in options {
                    option value=(value) selected[*value == current] { (text) }
                }
            }
        }
    }
}

/// A group of radio buttons (one value) or check boxes (`multiple`, any number of values).
pub fn choices(
    state: &FormState,
    f: Field<'_>,
    options: &[(&str, &str)],
    multiple: bool,
) -> Markup {
    let error = state.error(f.name);
    let chosen = state.all(f.name);
    let kind = if multiple { "checkbox" } else { "radio" };
    html! {
        fieldset.field.invalid[error.is_some()] id=(f.name)
            aria-describedby=[described_by(&f, error.is_some())] {
            legend { (f.label) }
            @if let Some(h) = f.hint { p.hint id={ (f.name) "-hinweis" } { (h) } }
            (message(&f, error))
            @for (i, (value, text)) in options.iter().enumerate() {
                div.choice {
                    input type=(kind) id={ (f.name) "-" (i) } name=(f.name) value=(value)
                        checked[chosen.contains(value)];
                    label for={ (f.name) "-" (i) } { (text) }
                }
            }
        }
    }
}

/// The list of problems at the top of a form, each linking to its field.
pub fn summary(lang: Lang, state: &FormState, labels: &[(&str, &str)]) -> Markup {
    if !state.has_errors() {
        return html! {};
    }
    html! {
        div.error-summary role="alert" aria-labelledby="fehler-titel" {
            h2 id="fehler-titel" { (lang.tr("Bitte korrigieren Sie die markierten Angaben.")) }
            ul {
                @for (name, message) in &state.errors {
                    @let label = labels.iter().find(|(n, _)| n == name).map_or(name.as_str(), |(_, l)| *l);
                    li { a href={ "#" (name) } { (label) ": " (message) } }
                }
            }
        }
    }
}

/// The hidden CSRF field every form carries.
pub fn csrf(token: &str) -> Markup {
    html! { input type="hidden" name="_csrf" value=(token); }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_field_keeps_its_value_and_points_to_its_message() {
        let mut st = FormState::with_values(vec![
            ("licence".into(), "EUPL 1.2 \"><script>".into()),
            ("name".into(), "Bauantrag".into()),
        ]);
        st.fail("licence", "Keine gültige SPDX-Kennung");
        st.fail("licence", "second message is ignored");
        let html = input(
            Lang::De,
            &st,
            Field::new("licence", "Lizenz").hint("z. B. EUPL-1.2"),
            "text",
        )
        .into_string();
        assert!(
            html.contains(r#"value="EUPL 1.2 &quot;&gt;&lt;script&gt;""#),
            "{html}"
        );
        assert!(html.contains(r#"aria-invalid="true""#));
        assert!(html.contains(r#"aria-describedby="licence-hinweis licence-fehler""#));
        assert!(html.contains("Keine gültige SPDX-Kennung"));
        assert!(!html.contains("second message"));
        let ok = input(Lang::De, &st, Field::new("name", "Name").required(), "text").into_string();
        assert!(!ok.contains("aria-invalid"));
        assert!(ok.contains(r#"value="Bauantrag""#));
        assert!(ok.contains("required"));
        let s = summary(Lang::De, &st, &[("licence", "Lizenz")]).into_string();
        assert!(s.contains(r##"href="#licence""##) && s.contains("Lizenz: Keine gültige"));
    }

    #[test]
    fn choices_keep_what_was_chosen() {
        let st = FormState::with_values(vec![
            ("hosting".into(), "saas".into()),
            ("hosting".into(), "cloud".into()),
        ]);
        let html = choices(
            &st,
            Field::new("hosting", "Betrieb"),
            &[
                ("saas", "SaaS"),
                ("cloud", "Cloud"),
                ("on-premise", "Eigenbetrieb"),
            ],
            true,
        )
        .into_string();
        assert_eq!(html.matches("checked").count(), 2, "{html}");
        assert!(summary(Lang::De, &st, &[]).into_string().is_empty());
    }
}
