//! German display names for the catalog's slugs and facet values (translated by `Lang::tr`).

use allmende_protocol::ozg::{Catalogue, TaskRef};
use allmende_protocol::reference;
use allmende_protocol::schema::Land;
use allmende_web_kit::Lang;

/// The label of a product facet.
pub(crate) fn facet(name: &str) -> &'static str {
    match name {
        "kind" => "Art",
        "task" => "Aufgabe",
        "ozg" => "OZG-Leistung",
        "lebenslage" => "Lebenslage",
        "themenfeld" => "Themenfeld",
        "category" => "Kategorie",
        "standard" => "Standard",
        "licence" => "Lizenz",
        "open_source" => "Open Source",
        "hosting" => "Betrieb",
        "efa" => "Einer für Alle",
        "efa_land" => "EfA-Land",
        "land" => "Land",
        "kreis" => "Kreis",
        _ => "Filter",
    }
}

/// A slug's German label, if it is one of the catalog's enumerations.
fn slug(value: &str) -> Option<&'static str> {
    Some(match value {
        "software" => "Software",
        "fachverfahren" => "Fachverfahren",
        "onlinedienst" => "Onlinedienst",
        "basiskomponente" => "Basiskomponente",
        "on-premise" => "Eigenbetrieb",
        "it-dienstleister" => "IT-Dienstleister",
        "saas" => "Software as a Service",
        "cloud" => "Cloud",
        "planned" => "geplant",
        "pilot" => "Pilot",
        "production" => "Produktion",
        "retired" => "eingestellt",
        "works" => "funktioniert",
        "partly" => "teilweise",
        "fails" => "funktioniert nicht",
        "functionality" => "Funktionalität",
        "usability" => "Bedienbarkeit",
        "interoperability" => "Interoperabilität",
        "support" => "Support",
        "stability" => "Stabilität",
        "value-for-money" => "Preis-Leistung",
        "accessibility" => "Barrierefreiheit",
        "in-progress" => "laufend",
        "abandoned" => "abgebrochen",
        "legal" => "rechtlich",
        "technical" => "technisch",
        "organisational" => "organisatorisch",
        "financial" => "finanziell",
        "kommune" => "Kommune",
        "kreis" => "Kreis",
        "land" => "Land",
        "bund" => "Bund",
        "sonstige" => "Sonstige",
        "yes" => "ja",
        "no" => "nein",
        _ => return None,
    })
}

/// A slug in `lang`, or the value itself.
pub(crate) fn value(lang: Lang, v: &str) -> String {
    slug(v).map_or_else(|| v.to_owned(), |l| lang.tr(l).to_owned())
}

/// A facet value as people read it.
pub(crate) fn facet_value(lang: Lang, facet: &str, v: &str) -> String {
    match facet {
        "themenfeld" => {
            reference::themenfeld(v).map_or_else(|| v.to_owned(), |t| t.name.to_owned())
        }
        "efa_land" | "land" => land(v),
        "task" => task(v),
        "ozg" => v
            .parse::<u32>()
            .ok()
            .and_then(|id| Catalogue::shipped().ozg.get(&id))
            .map_or_else(|| format!("OZG {v}"), |o| o.name.clone()),
        "lebenslage" => v
            .parse::<u32>()
            .ok()
            .and_then(|id| Catalogue::shipped().lebenslagen.get(&id))
            .map_or_else(|| v.to_owned(), |l| l.name.clone()),
        _ => value(lang, v),
    }
}

/// A product field's name as people read it (for diffs and provenance).
pub(crate) fn field(lang: Lang, name: &str) -> String {
    let german = match name {
        "name" => "Name",
        "vendor" => "Hersteller",
        "kind" => "Art",
        "description" => "Beschreibung",
        "categories" => "Kategorien",
        "tasks" => "Aufgaben",
        "licence" => "Lizenz",
        "repository" => "Repository",
        "website" => "Website",
        "standards" => "Standards und Schnittstellen",
        "hosting" => "Betrieb",
        "prerequisites" => "Voraussetzungen",
        "cost_model" => "Kostenmodell",
        "sla" => "Service-Level",
        "efa" => "Einer für Alle",
        "accessibility_statement" => "Erklärung zur Barrierefreiheit",
        "dpia_available" => "Datenschutz-Folgenabschätzung verfügbar",
        "test_instance" => "Testinstanz verfügbar",
        "vendor_org" => "Organisation des Herstellers",
        "same_as" => "dasselbe Produkt wie",
        "co_stewards" => "Mitpflegende",
        "current_version" => "Aktuelle Version",
        "support_ends" => "Support endet am",
        other => return other.to_owned(),
    };
    lang.tr(german).to_owned()
}

/// A Land key as its name.
pub(crate) fn land(code: &str) -> String {
    code.parse::<Land>()
        .map_or_else(|_| code.to_owned(), |l| l.name().to_owned())
}

/// A task by its name: a LeiKa key or OZG-Leistung of the shipped catalogue as its name, one
/// outside it marked as such, free text as it is.
pub(crate) fn task(t: &str) -> String {
    match Catalogue::shipped().task(t) {
        TaskRef::Leika(l) => l.name.clone(),
        TaskRef::Ozg(o) => o.name.clone(),
        TaskRef::UnknownLeika => format!("LeiKa {t} (nicht im OZG-Katalog)"),
        TaskRef::UnknownOzg => format!("{t} (nicht im OZG-Katalog)"),
        TaskRef::Free => t.to_owned(),
    }
}

/// The key under a task's name, for a second line or a title: `LeiKa 99012001000000`,
/// `OZG 10513`; `None` for a free category.
pub(crate) fn task_key(t: &str) -> Option<String> {
    match Catalogue::shipped().task(t) {
        TaskRef::Leika(_) | TaskRef::UnknownLeika => Some(format!("LeiKa {t}")),
        TaskRef::Ozg(_) | TaskRef::UnknownOzg => {
            Some(format!("OZG {}", t.trim_start_matches("ozg:")))
        }
        TaskRef::Free => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_keys_read_as_words() {
        assert_eq!(value(Lang::De, "onlinedienst"), "Onlinedienst");
        assert_eq!(value(Lang::En, "onlinedienst"), "Online service");
        assert_eq!(value(Lang::De, "Frei<text>"), "Frei<text>");
        assert_eq!(
            facet_value(Lang::De, "efa_land", "05"),
            "Nordrhein-Westfalen"
        );
        assert_eq!(land("99"), "99");
        assert_eq!(facet("open_source"), "Open Source");
        assert_eq!(task("99012001000000"), "Abbruchgenehmigung");
        assert_eq!(task("ozg:10513"), "Abbruchgenehmigung");
        assert_eq!(
            task("99999999999999"),
            "LeiKa 99999999999999 (nicht im OZG-Katalog)"
        );
        assert_eq!(task("Bauantrag"), "Bauantrag");
        assert_eq!(
            task_key("99012001000000").as_deref(),
            Some("LeiKa 99012001000000")
        );
        assert_eq!(task_key("Bauantrag"), None);
        assert_eq!(facet_value(Lang::De, "ozg", "10513"), "Abbruchgenehmigung");
    }
}
