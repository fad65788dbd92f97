//! Reference data shipped with the binary: the OZG Themenfelder and the interoperability
//! standards commonly named in German public administration.
//!
//! The lists are compiled into the program (no I/O, no network) and serve two purposes: offering
//! choices in forms, and mapping spelling variants onto one canonical name so that records can
//! be grouped ([`themenfeld`], [`standard`], [`normalise_standard`]). They are reference data,
//! not validation: a record may still name a Themenfeld or standard that is not listed here.
//!
//! Lookups are case-insensitive and ignore spacing and punctuation; umlauts and `ß` match their
//! transliterations (`ä` = `ae`, …, `ß` = `ss`).

/// One thematic field (Themenfeld) of the OZG implementation catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Themenfeld {
    /// Stable slug: lowercase ASCII words joined by `-`, umlauts transliterated
    /// (e.g. `"bauen-wohnen"`, `"mobilitaet-reisen"`).
    pub id: &'static str,
    /// The German name as published (e.g. `"Bauen & Wohnen"`).
    pub name: &'static str,
}

/// The 14 Themenfelder of the OZG-Umsetzungskatalog, as published by the Bundesministerium des
/// Innern und für Heimat (BMI) for the implementation of the Onlinezugangsgesetz (state of
/// 2023; the 14 fields have been unchanged since the catalogue's first edition in 2018, which
/// grouped its 575 services into them).
///
/// Names follow the catalogue's spelling with `&`. The cross-cutting field is published as
/// "Querschnitt"; some dashboards and data sets call it "Querschnittsleistungen", and
/// [`themenfeld`] accepts both.
pub const THEMENFELDER: &[Themenfeld] = &[
    Themenfeld {
        id: "arbeit-ruhestand",
        name: "Arbeit & Ruhestand",
    },
    Themenfeld {
        id: "bauen-wohnen",
        name: "Bauen & Wohnen",
    },
    Themenfeld {
        id: "bildung",
        name: "Bildung",
    },
    Themenfeld {
        id: "ein-auswanderung",
        name: "Ein- & Auswanderung",
    },
    Themenfeld {
        id: "engagement-hobby",
        name: "Engagement & Hobby",
    },
    Themenfeld {
        id: "familie-kind",
        name: "Familie & Kind",
    },
    Themenfeld {
        id: "forschung-foerderung",
        name: "Forschung & Förderung",
    },
    Themenfeld {
        id: "gesundheit",
        name: "Gesundheit",
    },
    Themenfeld {
        id: "mobilitaet-reisen",
        name: "Mobilität & Reisen",
    },
    Themenfeld {
        id: "querschnitt",
        name: "Querschnitt",
    },
    Themenfeld {
        id: "recht-ordnung",
        name: "Recht & Ordnung",
    },
    Themenfeld {
        id: "steuern-zoll",
        name: "Steuern & Zoll",
    },
    Themenfeld {
        id: "umwelt",
        name: "Umwelt",
    },
    Themenfeld {
        id: "unternehmensfuehrung-entwicklung",
        name: "Unternehmensführung & -entwicklung",
    },
];

/// Further accepted spellings of Themenfelder: (alias, id).
const THEMENFELD_ALIASES: &[(&str, &str)] = &[
    ("Querschnittsleistungen", "querschnitt"),
    ("Querschnittsleistung", "querschnitt"),
    (
        "Unternehmensführung & Unternehmensentwicklung",
        "unternehmensfuehrung-entwicklung",
    ),
];

/// The Themenfeld named by `id_or_name`: its slug, its German name or a known alias.
///
/// Case-insensitive; ignores spacing and punctuation; treats `&` and `und` alike (so
/// `"Ein- und Auswanderung"`, `"ein-auswanderung"` and `"EIN & AUSWANDERUNG"` all match) and
/// umlauts like their transliteration (`"Mobilitaet & Reisen"`).
pub fn themenfeld(id_or_name: &str) -> Option<&'static Themenfeld> {
    let wanted = themenfeld_key(id_or_name);
    if wanted.is_empty() {
        return None;
    }
    THEMENFELDER
        .iter()
        .find(|t| themenfeld_key(t.id) == wanted || themenfeld_key(t.name) == wanted)
        .or_else(|| {
            THEMENFELD_ALIASES
                .iter()
                .find(|(alias, _)| themenfeld_key(alias) == wanted)
                .and_then(|(_, id)| THEMENFELDER.iter().find(|t| t.id == *id))
        })
}

/// The family a [`Standard`] belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StandardKind {
    /// A data-exchange standard of the XÖV family, or an X-standard of German administration
    /// maintained in the same way and published in the XRepository (e.g. XJustiz, XRechnung).
    Xoev,
    /// Transport, addressing and delivery of messages (OSCI-Transport, XTA, FIT-Connect, …).
    Transport,
    /// Payment of fees and charges (ePayBL, XBezahldienste, …).
    Payment,
    /// Identification, authentication and user accounts (BundID, eID, …).
    Identity,
    /// Everything else: catalogues, metadata, open-data and geodata standards, …
    Other,
}

impl StandardKind {
    /// A stable lowercase slug: `xoev`, `transport`, `payment`, `identity` or `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Xoev => "xoev",
            Self::Transport => "transport",
            Self::Payment => "payment",
            Self::Identity => "identity",
            Self::Other => "other",
        }
    }
}

/// An interoperability standard with its canonical name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Standard {
    /// The canonical name, spelled as its publisher does (e.g. `"XMeld"`, `"xdomea"`).
    pub name: &'static str,
    /// The family it belongs to.
    pub kind: StandardKind,
    /// A one-line description of what it is used for.
    pub description: &'static str,
}

const fn entry(name: &'static str, kind: StandardKind, description: &'static str) -> Standard {
    Standard {
        name,
        kind,
        description,
    }
}

/// Interoperability standards commonly named in German public administration: XÖV standards
/// as published by KoSIT in the XRepository (xrepository.de), the transport, payment and
/// identity infrastructure of the federal IT (IT-Planungsrat, FITKO, BMI), and a few open-data,
/// geodata and e-invoicing standards (state of 2024).
///
/// The list is **not exhaustive**: it holds only standards whose existence and purpose are well
/// established; records may name any other standard freely (see [`normalise_standard`], which
/// passes unknown names through). Names are canonical spellings; [`standard`] also accepts
/// spacing, hyphen and case variants and a few well-known aliases (e.g. "Nutzerkonto Bund" for
/// BundID, "XhD" for XHoheitlicheDokumente).
pub const STANDARDS: &[Standard] = &[
    // XÖV and X-standards (XRepository).
    entry(
        "XMeld",
        StandardKind::Xoev,
        "Data exchange in the registration of residence (Meldewesen) between registration \
         offices and with other authorities.",
    ),
    entry(
        "XAusländer",
        StandardKind::Xoev,
        "Data exchange in the administration of foreign nationals (Ausländerbehörden, BAMF, \
         Ausländerzentralregister).",
    ),
    entry(
        "XPersonenstand",
        StandardKind::Xoev,
        "Civil status data (births, marriages, deaths) between registry offices (Standesämter) \
         and other authorities.",
    ),
    entry(
        "XInneres",
        StandardKind::Xoev,
        "Shared building blocks (data types, code lists) of the interior-administration \
         standards such as XMeld, XAusländer and XPersonenstand.",
    ),
    entry(
        "XHoheitlicheDokumente",
        StandardKind::Xoev,
        "Identity documents (ID card, passport, residence permit card) between issuing \
         authorities and the document producer.",
    ),
    entry(
        "XWaffe",
        StandardKind::Xoev,
        "Weapons administration and the Nationales Waffenregister.",
    ),
    entry(
        "XKfz",
        StandardKind::Xoev,
        "Vehicle registration (Kfz-Zulassung, including internet-based i-Kfz) between \
         registration offices, the KBA and other parties.",
    ),
    entry(
        "XBau",
        StandardKind::Xoev,
        "Building-permit and related procedures between applicants, building authorities and \
         the bodies they involve.",
    ),
    entry(
        "XPlanung",
        StandardKind::Xoev,
        "Exchange of spatial plans (Bauleitpläne, regional and landscape plans), encoded as \
         XPlanGML.",
    ),
    entry(
        "XTrasse",
        StandardKind::Xoev,
        "Planning and documentation of line infrastructure (e.g. broadband and utility lines); \
         companion of XPlanung and XBreitband.",
    ),
    entry(
        "XBreitband",
        StandardKind::Xoev,
        "Permit procedures for the broadband roll-out (e.g. consent under the \
         Telekommunikationsgesetz).",
    ),
    entry(
        "XGewerbeanzeige",
        StandardKind::Xoev,
        "Trade notifications (registration, change and deregistration of a trade) between \
         trade offices and the authorities that receive them.",
    ),
    entry(
        "XUnternehmen",
        StandardKind::Xoev,
        "Core data model and modules for companies (Unternehmensbasisdaten), reused by other \
         standards.",
    ),
    entry(
        "XSozial",
        StandardKind::Xoev,
        "Data exchange for social benefits (e.g. Sozialhilfe), built on the XSozial-basis \
         module.",
    ),
    entry(
        "XBildung",
        StandardKind::Xoev,
        "Education data such as certificates and learner records; umbrella of XSchule, \
         XHochschule and XBerufsbildung.",
    ),
    entry(
        "XSchule",
        StandardKind::Xoev,
        "School data such as school certificates and pupil data on change of school; part of \
         the XBildung family.",
    ),
    entry(
        "XHochschule",
        StandardKind::Xoev,
        "Higher-education data such as enrolment and exmatriculation certificates; part of the \
         XBildung family.",
    ),
    entry(
        "XJustiz",
        StandardKind::Xoev,
        "Electronic legal communication between courts, public prosecutors, lawyers and \
         authorities.",
    ),
    entry(
        "xdomea",
        StandardKind::Xoev,
        "Exchange of records (Schriftgut) between document-management and e-file systems, and \
         their hand-over to archives.",
    ),
    entry(
        "XZuFi",
        StandardKind::Xoev,
        "Exchange of service descriptions, responsibilities and organisational units \
         (Zuständigkeitsfinder, Portalverbund).",
    ),
    entry(
        "XDatenfelder",
        StandardKind::Xoev,
        "FIM data fields, field groups and form data schemas.",
    ),
    entry(
        "XProzess",
        StandardKind::Xoev,
        "FIM process models of administrative services.",
    ),
    entry(
        "XFall",
        StandardKind::Xoev,
        "Hand-over of applications (Anträge) from online application services and portals to \
         the receiving authority's case handling.",
    ),
    entry(
        "XVergabe",
        StandardKind::Xoev,
        "E-procurement: interoperability between bidder clients and public procurement \
         platforms.",
    ),
    entry(
        "XRechnung",
        StandardKind::Xoev,
        "German specification (CIUS) of the European e-invoicing standard EN 16931 for \
         invoices to public-sector bodies.",
    ),
    // Transport, addressing and delivery.
    entry(
        "OSCI-Transport",
        StandardKind::Transport,
        "Secure message transport protocol (signed, end-to-end encrypted) used for XÖV \
         messages and EGVP.",
    ),
    entry(
        "XTA",
        StandardKind::Transport,
        "Interface between specialised procedures (Fachverfahren) and the transport \
         infrastructure, decoupling business messages from transport.",
    ),
    entry(
        "DVDV",
        StandardKind::Transport,
        "Deutsches Verwaltungsdiensteverzeichnis: directory of authorities' electronic service \
         endpoints (e.g. for OSCI).",
    ),
    entry(
        "FIT-Connect",
        StandardKind::Transport,
        "FITKO's routing and submission infrastructure and API for delivering applications \
         from online services to the responsible authority.",
    ),
    entry(
        "EGVP",
        StandardKind::Transport,
        "Elektronisches Gerichts- und Verwaltungspostfach: OSCI-based mailbox infrastructure \
         for communication with courts and authorities.",
    ),
    entry(
        "beBPo",
        StandardKind::Transport,
        "Besonderes elektronisches Behördenpostfach: authorities' secure mailbox for electronic \
         legal communication with courts.",
    ),
    entry(
        "De-Mail",
        StandardKind::Transport,
        "Legally regulated secure e-mail service under the De-Mail-Gesetz.",
    ),
    entry(
        "Peppol",
        StandardKind::Transport,
        "European eDelivery network for e-procurement documents and e-invoices.",
    ),
    // Payment.
    entry(
        "ePayBL",
        StandardKind::Payment,
        "E-Payment Bund-Länder: payment platform shared by federal and state administrations.",
    ),
    entry(
        "XBezahldienste",
        StandardKind::Payment,
        "Standard interface between online services and e-payment service providers.",
    ),
    entry(
        "SEPA",
        StandardKind::Payment,
        "Single Euro Payments Area credit transfer and direct debit schemes.",
    ),
    // Identity.
    entry(
        "BundID",
        StandardKind::Identity,
        "Central citizen account of the federation (formerly Nutzerkonto Bund) for \
         identification and a mailbox in online services.",
    ),
    entry(
        "Mein Unternehmenskonto",
        StandardKind::Identity,
        "Uniform account for businesses in online services, based on ELSTER organisation \
         certificates.",
    ),
    entry(
        "eID",
        StandardKind::Identity,
        "Online ID function of the German identity card, the electronic residence permit and \
         the eID card for EU citizens.",
    ),
    entry(
        "eIDAS",
        StandardKind::Identity,
        "EU regulation 910/2014 on electronic identification and trust services (cross-border \
         eIDs, qualified signatures and seals).",
    ),
    entry(
        "SAML 2.0",
        StandardKind::Identity,
        "OASIS Security Assertion Markup Language, used to connect online services to user \
         accounts.",
    ),
    entry(
        "OpenID Connect",
        StandardKind::Identity,
        "Identity layer on OAuth 2.0, used to connect online services to user accounts.",
    ),
    // Other.
    entry(
        "ELSTER",
        StandardKind::Other,
        "Electronic tax filing of the German tax administration (portal and interfaces); its \
         certificates also serve as business identity.",
    ),
    entry(
        "FIM",
        StandardKind::Other,
        "Föderales Informationsmanagement: method and catalogues for service descriptions \
         (Leistungen), data fields and processes.",
    ),
    entry(
        "LeiKa",
        StandardKind::Other,
        "Leistungskatalog der öffentlichen Verwaltung: catalogue of administrative services \
         with 14-digit keys.",
    ),
    entry(
        "OParl",
        StandardKind::Other,
        "Open API standard for parliamentary information systems (Ratsinformationssysteme).",
    ),
    entry(
        "DCAT-AP.de",
        StandardKind::Other,
        "German application profile of DCAT-AP for open-data metadata (e.g. GovData).",
    ),
    entry(
        "DCAT-AP",
        StandardKind::Other,
        "European DCAT application profile for metadata of public-sector data portals.",
    ),
    entry(
        "INSPIRE",
        StandardKind::Other,
        "EU spatial data infrastructure (directive 2007/2/EC): data specifications and network \
         services.",
    ),
    entry(
        "OGC WMS",
        StandardKind::Other,
        "OGC Web Map Service: serving georeferenced map images.",
    ),
    entry(
        "OGC WFS",
        StandardKind::Other,
        "OGC Web Feature Service: serving geographic features as data.",
    ),
    entry(
        "ZUGFeRD",
        StandardKind::Other,
        "Hybrid e-invoice format (PDF/A-3 with embedded XML) with EN 16931-compatible \
         profiles.",
    ),
];

/// Further accepted names of standards: (alias, canonical name). Spacing, hyphen and case
/// variants need no entry here; they are matched by [`standard_key`].
const STANDARD_ALIASES: &[(&str, &str)] = &[
    ("XhD", "XHoheitlicheDokumente"),
    ("XPlanGML", "XPlanung"),
    ("XBezahldienst", "XBezahldienste"),
    ("OSCI", "OSCI-Transport"),
    ("Deutsches Verwaltungsdiensteverzeichnis", "DVDV"),
    ("Elektronisches Gerichts- und Verwaltungspostfach", "EGVP"),
    ("Besonderes elektronisches Behördenpostfach", "beBPo"),
    ("E-Payment Bund-Länder", "ePayBL"),
    ("Nutzerkonto Bund", "BundID"),
    ("BundID-Konto", "BundID"),
    ("MUK", "Mein Unternehmenskonto"),
    ("Unternehmenskonto", "Mein Unternehmenskonto"),
    ("Online-Ausweis", "eID"),
    ("Online-Ausweisfunktion", "eID"),
    ("eID-Funktion", "eID"),
    ("nPA", "eID"),
    ("SAML", "SAML 2.0"),
    ("SAML2", "SAML 2.0"),
    ("OIDC", "OpenID Connect"),
    ("ELSTER Online", "ELSTER"),
    ("Mein ELSTER", "ELSTER"),
    ("Föderales Informationsmanagement", "FIM"),
    ("Leistungskatalog", "LeiKa"),
    ("WMS", "OGC WMS"),
    ("Web Map Service", "OGC WMS"),
    ("WFS", "OGC WFS"),
    ("Web Feature Service", "OGC WFS"),
];

/// The standard named by `name`: its canonical name, a spelling variant of it, or a known alias.
///
/// Case-insensitive; ignores spacing and punctuation (`"X Meld"`, `"XMELD"`, `"x-meld"`,
/// `"FIT Connect"`, `"osci transport"`) and matches umlauts with their transliteration
/// (`"XAuslaender"`).
pub fn standard(name: &str) -> Option<&'static Standard> {
    BY_KEY.get(&standard_key(name)).copied()
}

/// Every standard by the comparison key of its name and of each alias (a name wins over an
/// alias with the same key). Built once: records name a standard for every integration, and
/// comparing against every name and alias took a tenth of a catch-up's storing.
static BY_KEY: std::sync::LazyLock<std::collections::HashMap<String, &'static Standard>> =
    std::sync::LazyLock::new(|| {
        let mut map = std::collections::HashMap::new();
        for s in STANDARDS {
            map.entry(standard_key(s.name)).or_insert(s);
        }
        for (alias, canonical) in STANDARD_ALIASES {
            if let Some(s) = STANDARDS.iter().find(|s| s.name == *canonical) {
                map.entry(standard_key(alias)).or_insert(s);
            }
        }
        map.remove("");
        map
    });

/// The canonical name of the standard `name` when it is known (see [`standard`]), else `name`
/// with surrounding whitespace trimmed. Records use it so that spelling variants group together.
pub fn normalise_standard(name: &str) -> String {
    match standard(name) {
        Some(s) => s.name.to_owned(),
        None => name.trim().to_owned(),
    }
}

/// Lowercase words of `s`, umlauts and `ß` transliterated, split at every character that is
/// neither a letter nor a digit.
fn words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        match c {
            'ä' => current.push_str("ae"),
            'ö' => current.push_str("oe"),
            'ü' => current.push_str("ue"),
            'ß' => current.push_str("ss"),
            c if c.is_alphanumeric() => current.push(c),
            _ => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// The comparison key of a Themenfeld name or slug: its words without `und`/`and` (`&` is
/// punctuation and dropped anyway), concatenated.
fn themenfeld_key(s: &str) -> String {
    words(s)
        .into_iter()
        .filter(|w| w != "und" && w != "and")
        .collect()
}

/// The comparison key of a standard's name: its words, concatenated.
fn standard_key(s: &str) -> String {
    words(s).concat()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn exactly_fourteen_themenfelder_with_unique_ids_names_and_keys() {
        assert_eq!(THEMENFELDER.len(), 14);
        let ids: HashSet<_> = THEMENFELDER.iter().map(|t| t.id).collect();
        let names: HashSet<_> = THEMENFELDER.iter().map(|t| t.name).collect();
        assert_eq!(ids.len(), 14);
        assert_eq!(names.len(), 14);
        let mut keys = HashSet::new();
        for t in THEMENFELDER {
            assert!(keys.insert(themenfeld_key(t.name)), "{}", t.name);
        }
        for (alias, _) in THEMENFELD_ALIASES {
            assert!(keys.insert(themenfeld_key(alias)), "{alias}");
        }
    }

    #[test]
    fn themenfeld_ids_are_slugs_matching_their_names() {
        for t in THEMENFELDER {
            assert!(!t.id.is_empty());
            assert!(
                t.id.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{}",
                t.id
            );
            assert!(!t.id.starts_with('-') && !t.id.ends_with('-') && !t.id.contains("--"));
            assert_eq!(themenfeld_key(t.id), themenfeld_key(t.name), "{}", t.id);
        }
    }

    #[test]
    fn every_themenfeld_round_trips_by_id_and_name() {
        for t in THEMENFELDER {
            assert_eq!(themenfeld(t.id), Some(t));
            assert_eq!(themenfeld(t.name), Some(t));
            assert_eq!(themenfeld(&t.name.to_uppercase()), Some(t));
            assert_eq!(
                themenfeld(&format!("  {}  ", t.name.to_lowercase())),
                Some(t)
            );
        }
    }

    #[test]
    fn themenfeld_alias_targets_exist() {
        for (alias, id) in THEMENFELD_ALIASES {
            assert_eq!(themenfeld(alias).map(|t| t.id), Some(*id), "{alias}");
        }
    }

    #[test]
    fn themenfeld_lookup_variants() {
        let id = |s: &str| themenfeld(s).map(|t| t.id);
        assert_eq!(id("bauen-wohnen"), Some("bauen-wohnen"));
        assert_eq!(id("Bauen & Wohnen"), Some("bauen-wohnen"));
        assert_eq!(id("bauen und wohnen"), Some("bauen-wohnen"));
        assert_eq!(id("BAUEN_WOHNEN"), Some("bauen-wohnen"));
        assert_eq!(id("Ein- und Auswanderung"), Some("ein-auswanderung"));
        assert_eq!(id("Ein- & Auswanderung"), Some("ein-auswanderung"));
        assert_eq!(id("Mobilitaet & Reisen"), Some("mobilitaet-reisen"));
        assert_eq!(id("mobilität und reisen"), Some("mobilitaet-reisen"));
        assert_eq!(id("Forschung und Förderung"), Some("forschung-foerderung"));
        assert_eq!(
            id("Unternehmensführung und -entwicklung"),
            Some("unternehmensfuehrung-entwicklung")
        );
        assert_eq!(
            id("unternehmensfuehrung_entwicklung"),
            Some("unternehmensfuehrung-entwicklung")
        );
        assert_eq!(id("Querschnittsleistungen"), Some("querschnitt"));
        assert_eq!(id("Querschnitt"), Some("querschnitt"));
        assert_eq!(id("Arbeit & Ruhestand"), Some("arbeit-ruhestand"));
        // "und" is only dropped as a whole word, never inside one.
        assert_eq!(id("Gesundheit"), Some("gesundheit"));
        assert_eq!(id("Gesheit"), None);
    }

    #[test]
    fn unknown_themenfelder_are_none() {
        for s in [
            "",
            "   ",
            "&",
            "und",
            "Verkehr",
            "bauen",
            "wohnen",
            "Bauen & Wohnen & Zoll",
        ] {
            assert_eq!(themenfeld(s), None, "{s:?}");
        }
    }

    #[test]
    fn standard_names_and_alias_keys_are_unique() {
        let mut keys = HashSet::new();
        for s in STANDARDS {
            assert!(
                !s.name.is_empty() && s.name.trim() == s.name,
                "{:?}",
                s.name
            );
            assert!(!s.description.is_empty(), "{}", s.name);
            assert!(keys.insert(standard_key(s.name)), "{}", s.name);
        }
        for (alias, _) in STANDARD_ALIASES {
            assert!(keys.insert(standard_key(alias)), "{alias}");
        }
    }

    #[test]
    fn every_standard_round_trips_by_its_own_name() {
        for s in STANDARDS {
            assert_eq!(standard(s.name), Some(s));
            assert_eq!(standard(&s.name.to_uppercase()), Some(s));
            assert_eq!(standard(&s.name.to_lowercase()), Some(s));
            assert_eq!(normalise_standard(s.name), s.name);
            assert_eq!(normalise_standard(&format!(" {} ", s.name)), s.name);
        }
    }

    #[test]
    fn standard_alias_targets_exist() {
        for (alias, canonical) in STANDARD_ALIASES {
            assert_eq!(standard(alias).map(|s| s.name), Some(*canonical), "{alias}");
        }
    }

    #[test]
    fn required_standards_are_listed() {
        for name in [
            "XMeld",
            "XAusländer",
            "XPersonenstand",
            "XBau",
            "XPlanung",
            "XJustiz",
            "XInneres",
            "XFall",
            "XGewerbeanzeige",
            "XKfz",
            "XWaffe",
            "XUnternehmen",
            "XSozial",
            "XDomea",
            "XZuFi",
            "XHoheitlicheDokumente",
            "XVergabe",
            "XRechnung",
            "XBreitband",
            "XTA",
            "OSCI-Transport",
            "FIT-Connect",
            "ePayBL",
            "BundID",
            "ELSTER",
            "eID",
            "OParl",
            "DCAT-AP.de",
        ] {
            assert!(standard(name).is_some(), "{name}");
        }
    }

    #[test]
    fn standard_kinds() {
        let kind = |s: &str| standard(s).map(|s| s.kind);
        assert_eq!(kind("XMeld"), Some(StandardKind::Xoev));
        assert_eq!(kind("XRechnung"), Some(StandardKind::Xoev));
        assert_eq!(kind("OSCI-Transport"), Some(StandardKind::Transport));
        assert_eq!(kind("XTA"), Some(StandardKind::Transport));
        assert_eq!(kind("FIT-Connect"), Some(StandardKind::Transport));
        assert_eq!(kind("ePayBL"), Some(StandardKind::Payment));
        assert_eq!(kind("BundID"), Some(StandardKind::Identity));
        assert_eq!(kind("eID"), Some(StandardKind::Identity));
        assert_eq!(kind("OParl"), Some(StandardKind::Other));
        assert_eq!(kind("DCAT-AP.de"), Some(StandardKind::Other));
        let slugs: HashSet<_> = [
            StandardKind::Xoev,
            StandardKind::Transport,
            StandardKind::Payment,
            StandardKind::Identity,
            StandardKind::Other,
        ]
        .into_iter()
        .map(StandardKind::as_str)
        .collect();
        assert_eq!(slugs.len(), 5);
    }

    #[test]
    fn normalises_variants() {
        for (input, expected) in [
            ("X Meld", "XMeld"),
            ("XMELD", "XMeld"),
            ("x-meld", "XMeld"),
            ("XAuslaender", "XAusländer"),
            ("xausländer", "XAusländer"),
            ("XDomea", "xdomea"),
            ("X-Rechnung", "XRechnung"),
            ("OSCI-Transport", "OSCI-Transport"),
            ("OSCI Transport", "OSCI-Transport"),
            ("osci_transport", "OSCI-Transport"),
            ("OSCI", "OSCI-Transport"),
            ("FIT Connect", "FIT-Connect"),
            ("FITConnect", "FIT-Connect"),
            ("fit-connect", "FIT-Connect"),
            ("E-PayBL", "ePayBL"),
            ("EPAYBL", "ePayBL"),
            ("Bund ID", "BundID"),
            ("Nutzerkonto Bund", "BundID"),
            ("NUTZERKONTO-BUND", "BundID"),
            ("Elster", "ELSTER"),
            ("e-ID", "eID"),
            ("Online-Ausweisfunktion", "eID"),
            ("oparl", "OParl"),
            ("DCAT AP DE", "DCAT-AP.de"),
            ("dcat-ap.de", "DCAT-AP.de"),
            ("DCAT-AP", "DCAT-AP"),
            ("XhD", "XHoheitlicheDokumente"),
            ("X Hoheitliche Dokumente", "XHoheitlicheDokumente"),
            ("XPlanGML", "XPlanung"),
            ("x zufi", "XZuFi"),
            ("De Mail", "De-Mail"),
            ("PEPPOL", "Peppol"),
            ("saml", "SAML 2.0"),
            ("SAML2.0", "SAML 2.0"),
            ("OIDC", "OpenID Connect"),
            ("WMS", "OGC WMS"),
        ] {
            assert_eq!(normalise_standard(input), expected, "{input:?}");
        }
    }

    #[test]
    fn unknown_standards_pass_through_trimmed() {
        assert_eq!(normalise_standard("  XUnbekannt 2.1 \n"), "XUnbekannt 2.1");
        assert_eq!(normalise_standard("OSCI/XTA"), "OSCI/XTA");
        assert_eq!(normalise_standard("Eigene REST-API"), "Eigene REST-API");
        assert_eq!(normalise_standard("   "), "");
        assert_eq!(normalise_standard(""), "");
        assert_eq!(standard(""), None);
        assert_eq!(standard("-- / --"), None);
        // A prefix or extension of a known name is not that name.
        assert_eq!(standard("XMeld2"), None);
        assert_eq!(standard("XMel"), None);
    }

    proptest! {
        #[test]
        fn normalise_is_idempotent_and_trimmed(s in "\\PC{0,40}") {
            let once = normalise_standard(&s);
            prop_assert_eq!(once.trim(), once.as_str());
            prop_assert_eq!(normalise_standard(&once), once);
        }

        #[test]
        fn lookups_ignore_case_and_surrounding_space(s in "[ -~äöüÄÖÜß]{0,30}") {
            prop_assert_eq!(standard(&s), standard(&format!(" {} ", s.to_uppercase())));
            prop_assert_eq!(themenfeld(&s), themenfeld(&format!(" {} ", s.to_lowercase())));
        }
    }
}
