//! The page shell every UI page shares: skip link, header with the node's organisation, main
//! navigation, language switch, a status message after a successful action, and `<main>`.

use maud::{DOCTYPE, Markup, html};

use crate::Lang;

/// The sections of the main navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Start page.
    Start,
    /// Products.
    Products,
    /// Organisations.
    Organisations,
    /// Tasks.
    Tasks,
    /// Interoperability.
    Interop,
    /// Duplicate developments.
    Duplicates,
    /// Coverage.
    Coverage,
    /// The Nachbarvergleich.
    Compare,
    /// Network.
    Network,
    /// Trust.
    Trust,
    /// Settings.
    Settings,
    /// None highlighted (error pages, login).
    None,
}

const NAV: &[(Section, &str, &str)] = &[
    (Section::Start, "/", "Start"),
    (Section::Products, "/produkte", "Produkte"),
    (Section::Organisations, "/organisationen", "Organisationen"),
    (Section::Tasks, "/aufgaben", "Aufgaben"),
    (Section::Interop, "/interoperabilitaet", "Interoperabilität"),
    (
        Section::Duplicates,
        "/doppelentwicklungen",
        "Doppelentwicklungen",
    ),
    (Section::Coverage, "/abdeckung", "Abdeckung"),
    (Section::Compare, "/vergleich", "Nachbarvergleich"),
    (Section::Network, "/netzwerk", "Netzwerk"),
    (Section::Trust, "/vertrauen", "Vertrauen"),
    (Section::Settings, "/einstellungen", "Einstellungen"),
];

/// What the shell needs to know about the request and the node.
#[derive(Debug, Clone)]
pub struct Shell<'a> {
    /// Language of the page.
    pub lang: Lang,
    /// The page title (already in `lang`); also the `<h1>` unless the page writes its own.
    pub title: &'a str,
    /// Highlighted navigation entry.
    pub section: Section,
    /// The request path without query (for the language switch).
    pub path: &'a str,
    /// The node's organisation name, if it has one.
    pub organisation: Option<&'a str>,
    /// Shown as a status message (after a successful action).
    pub flash: Option<&'a str>,
    /// Whether the node runs the demo network.
    pub demo: bool,
    /// Whether the node follows no trust anchor (open mode): every page says so.
    pub open_mode: bool,
    /// Whether a signed-in session exists (shows the sign-out button); with its CSRF token.
    pub signed_in: Option<&'a str>,
    /// The Atom feed of the page's subject (href), announced in the head for feed readers.
    pub feed: Option<&'a str>,
}

/// Renders a whole page around `main`.
pub fn page(shell: &Shell<'_>, main: Markup) -> Markup {
    let t = |s| shell.lang.tr(s);
    let (other, other_name) = match shell.lang {
        Lang::De => (Lang::En, "English"),
        Lang::En => (Lang::De, "Deutsch"),
    };
    html! {
        (DOCTYPE)
        html lang=(shell.lang.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (shell.title) " – Allmende" }
                link rel="stylesheet" href=(crate::STYLESHEET_PATH);
                @if let Some(feed) = shell.feed {
                    link rel="alternate" type="application/atom+xml" title={ (shell.title) " – Atom-Feed" } href=(feed);
                }
            }
            body {
                a.skip href="#inhalt" { (t("Zum Inhalt springen")) }
                header.site {
                    div.brand {
                        a.home href="/" { "Allmende" }
                        span.tagline { (t("Referenzkatalog für Verwaltungssoftware")) }
                    }
                    div.whoami {
                        (t("Dieser Knoten")) ": "
                        @match shell.organisation {
                            Some(o) => strong { (o) },
                            None => { (t("ohne eigene Organisation (nur lesen)")) },
                        }
                        " · "
                        a href={ (shell.path) "?lang=" (other.tag()) } lang=(other.tag()) hreflang=(other.tag()) { (other_name) }
                        @if let Some(csrf) = shell.signed_in {
                            form.inline method="post" action="/abmelden" {
                                input type="hidden" name="_csrf" value=(csrf);
                                " · "
                                button.link type="submit" { (t("Abmelden")) }
                            }
                        }
                    }
                    nav aria-label=(t("Hauptnavigation")) {
                        ul {
                            @for (section, href, label) in NAV {
                                li {
                                    @if *section == shell.section {
                                        a href=(href) aria-current="page" { (t(label)) }
                                    } @else {
                                        a href=(href) { (t(label)) }
                                    }
                                }
                            }
                        }
                    }
                }
                @if shell.demo {
                    p.demo { (t("Demo-Daten: Alle Organisationen, Produkte und Erfahrungen auf diesem Knoten sind erfunden.")) " " (t("Veröffentlichen geht hier ohne Anmeldung, für jeden an diesem Rechner.")) }
                }
                @if shell.open_mode {
                    p.demo.open-mode role="note" { strong { (t("Offener Modus:")) } " " (t("Dieser Knoten folgt keinem Vertrauensanker. Er kann bestätigte öffentliche Stellen nicht von beliebigen Schlüsseln unterscheiden und zeigt, was jeder Schlüssel signiert.")) " " a href="/vertrauen" { (t("Mehr zum Vertrauen")) } }
                }
                main id="inhalt" tabindex="-1" {
                    @if let Some(flash) = shell.flash {
                        p.flash role="status" { (flash) }
                    }
                    (main)
                }
                footer.site {
                    p { "Allmende " (env!("CARGO_PKG_VERSION")) " · " (t("Sprache")) ": " (shell.lang.tag()) " · " a href="/quellen" { (t("Quellen und Lizenzen")) } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell<'a>(lang: Lang, org: Option<&'a str>) -> Shell<'a> {
        Shell {
            lang,
            title: "Produkte",
            section: Section::Products,
            path: "/produkte",
            organisation: org,
            flash: None,
            demo: false,
            open_mode: false,
            signed_in: None,
            feed: None,
        }
    }

    #[test]
    fn open_mode_is_said_on_the_page() {
        let mut s = shell(Lang::De, None);
        assert!(!page(&s, html! {}).into_string().contains("Offener Modus"));
        s.open_mode = true;
        let html = page(&s, html! {}).into_string();
        assert!(html.contains("Offener Modus"), "{html}");
        assert!(html.contains(r#"href="/vertrauen""#));
    }

    #[test]
    fn values_are_escaped_and_the_page_is_marked_up_for_assistive_technology() {
        let html = page(
            &shell(Lang::De, Some("<script>alert(1)</script>")),
            html! { h1 { "x" } },
        )
        .into_string();
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains(r#"<html lang="de">"#));
        assert!(html.contains(r##"href="#inhalt""##));
        assert!(html.contains(r#"<main id="inhalt""#));
        assert!(html.contains(r#"aria-current="page""#));
    }

    #[test]
    fn english_pages_say_so() {
        let html = page(&shell(Lang::En, None), html! {}).into_string();
        assert!(html.contains(r#"<html lang="en">"#));
        assert!(html.contains("Skip to content"));
        assert!(html.contains("?lang=de"));
    }
}
