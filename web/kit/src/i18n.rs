//! German first, English second. Texts are written in German in the code; [`Lang::tr`] looks
//! up the English translation and falls back to the German text when there is none, so a
//! missing translation shows German rather than nothing.

use std::collections::HashMap;
use std::sync::OnceLock;

/// A UI language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// German (default).
    #[default]
    De,
    /// English.
    En,
}

impl Lang {
    /// The BCP 47 tag for `lang` attributes.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::De => "de",
            Lang::En => "en",
        }
    }

    /// Parses `de` or `en`.
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "de" => Some(Lang::De),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The text in this language.
    pub fn tr(self, german: &'static str) -> &'static str {
        match self {
            Lang::De => german,
            Lang::En => english().get(german).copied().unwrap_or(german),
        }
    }
}

/// Whether the English table has an entry for `german`. Texts that read the same in both
/// languages (`"Status"`, `"Format"`) have one too, mapped to themselves, so a missing entry
/// always means a text that English pages show in German. The UI's tests use this to find
/// texts wrapped in [`Lang::tr`] that nobody translated.
pub fn has_english(german: &str) -> bool {
    english().contains_key(german)
}

fn english() -> &'static HashMap<&'static str, &'static str> {
    static TABLE: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    TABLE.get_or_init(|| EN.iter().copied().collect())
}

/// German → English.
const EN: &[(&str, &str)] = &[
    ("1 = mangelhaft, 5 = sehr gut", "1 = poor, 5 = very good"),
    ("Abgelöst durch", "Replaced by"),
    ("Ablösungen", "Replacements"),
    ("Alle Schulungen nach Aufgabe", "All training by task"),
    ("Ansprechbare Stelle", "Whom to ask"),
    ("Ansprechbare Stelle (Rolle)", "Whom to ask (role)"),
    (
        "Ansprechbar für Erfahrungsaustausch",
        "Open to an exchange of experience",
    ),
    (
        "Andere Behörden dürfen Ihre Organisation zu diesem Einsatz ansprechen.",
        "Other public bodies may ask your organisation about this deployment.",
    ),
    (
        "Diese Organisationen setzen das Produkt ein und beantworten Fragen anderer Behörden dazu.",
        "These organisations run the product and answer other public bodies' questions about it.",
    ),
    (
        "Eine Rolle je Zeile, z. B. Sachbearbeitung, Administration; keine Personennamen",
        "One role per line, e.g. case work, administration; no names of persons",
    ),
    ("Ende des Einsatzes", "End of the deployment"),
    ("Erfahrungsaustausch", "Exchange of experience"),
    ("Ganze Euro; 0 für kostenlos", "Whole euros; 0 when free"),
    (
        "Ganze Minuten, z. B. 360 für einen Schulungstag",
        "Whole minutes, e.g. 360 for a day of training",
    ),
    ("Gesamturteil", "Overall score"),
    ("Grund der Ablösung", "Why it was replaced"),
    ("Im Einsatz bis", "In use until"),
    ("Keine Ablösungen gemeldet.", "No replacements reported."),
    (
        "Keine Schulungsangebote gefunden.",
        "No training offers found.",
    ),
    ("Kosten je Person", "Cost per person"),
    ("Kosten je Person (Euro)", "Cost per person (euros)"),
    (
        "LeiKa-Schlüssel (14 Ziffern) oder Aufgabenbezeichnung",
        "LeiKa key (14 digits) or task name",
    ),
    (
        "Link zur Anmeldung oder Beschreibung",
        "Link to book or read more",
    ),
    ("Löste ab", "Replaced"),
    (
        "Noch keine Organisation hat sich zu diesem Produkt als ansprechbar gemeldet.",
        "No organisation has offered to answer questions about this product yet.",
    ),
    ("Noch keine Schulungsangebote.", "No training offers yet."),
    (
        "Nur bei Status „eingestellt“.",
        "Only with the status “retired”.",
    ),
    ("Ohne Aufgabe", "Without a task"),
    ("Schulung", "Training"),
    ("Schulung anbieten", "Offer training"),
    ("Schulung bewerten", "Rate training"),
    ("Schulung veröffentlichen", "Publish the training"),
    ("Schulungen", "Training"),
    ("Schulungen zu dieser Aufgabe", "Training for this task"),
    ("Schulungsangebote nach Aufgabe", "Training offers by task"),
    (
        "Schulungsangebote zu Produkten, die Organisationen im Netz veröffentlichen und bewerten, geordnet nach den Aufgaben der Produkte.",
        "Training offers for products, published and rated by organisations in the network, by the products' tasks.",
    ),
    ("Unbekanntes Format.", "Unknown format."),
    ("Veröffentlicht von", "Published by"),
    (
        "Wer es einsetzt, kann das beim Einsatz angeben.",
        "Whoever runs it can say so with their deployment.",
    ),
    (
        "Würden Sie die Schulung weiterempfehlen?",
        "Would you recommend the training?",
    ),
    ("keines / unbekannt", "none / unknown"),
    ("kostenlos", "free"),
    ("noch keine Bewertung", "not rated yet"),
    ("unbekanntes Produkt", "unknown product"),
    (
        "Widersprüchliche Änderungen signiert",
        "Signed contradicting changes",
    ),
    (
        "Ein Schlüssel dieser Organisation hat zwei verschiedene Änderungen für dieselbe Stelle eines Dokuments signiert. Beide Signaturen liegen als Beweis vor; jeder Knoten verwirft die Änderungen dieser Sitzung ab dieser Stelle.",
        "A key of this organisation signed two different changes for the same place in a document. Both signatures are kept as proof; every node drops that session's changes from there on.",
    ),
    ("Nummer", "Number"),
    ("Offener Modus:", "Open mode:"),
    (
        "Dieser Knoten folgt keinem Vertrauensanker. Er kann bestätigte öffentliche Stellen nicht von beliebigen Schlüsseln unterscheiden und zeigt, was jeder Schlüssel signiert.",
        "This node follows no trust anchor. It cannot tell attested public bodies from any key, and shows what every key signs.",
    ),
    ("Mehr zum Vertrauen", "More on trust"),
    ("Vertrauensbereich", "Trust scope"),
    (
        "Änderungen der letzten 24 Stunden",
        "Changes in the last 24 hours",
    ),
    (
        "Bestätigte Organisationen werden nicht gedrosselt: Knoten, die unterschiedlich drosseln, hielten unterschiedliche Kataloge. Wer ungewöhnlich viele Änderungen signiert, wird hier gezeigt, damit sein Vertrauensanker die Bestätigung zurückziehen oder die Organisation ihren Schlüssel widerrufen kann.",
        "Attested organisations are not throttled: nodes that throttled differently would hold different catalogs. An organisation that signs unusually many changes is shown here, so that its trust anchor can withdraw the attestation or the organisation can revoke its key.",
    ),
    ("Änderungen", "Changes"),
    ("Hinweis", "Note"),
    ("ungewöhnlich viele Änderungen", "unusually many changes"),
    ("Quarantäne", "Quarantine"),
    (
        "Signierte Angaben von Schlüsseln außerhalb des Vertrauensbereichs werden weder gespeichert noch angezeigt noch weitergegeben. Ein kleiner Teil wartet im Arbeitsspeicher, je Schlüssel begrenzt und insgesamt gedeckelt, zum Beispiel das Profil einer Organisation, die ihr Vertrauensanker noch bestätigen muss.",
        "Signed data of keys outside the trust scope is neither stored nor shown nor passed on. A small part waits in memory, limited per key and capped in total, for example the profile of an organisation its trust anchor has yet to attest.",
    ),
    ("Belegt", "Used"),
    (
        "Profile ohne Bestätigung (Organisations-ID):",
        "Profiles without attestation (organisation id):",
    ),
    (
        "Organisationen und Schlüssel, deren Angaben dieser Knoten als bestätigt behandelt: die Vertrauensanker, die von ihnen bestätigten Organisationen, die eigene und die betreuten Organisationen, ihre Schlüssel und die heute gültigen Delegationen.",
        "Organisations and keys whose statements this node treats as attested: the trust anchors, the organisations they attest, its own and hosted organisations, their keys and the delegations valid today.",
    ),
    (
        "Organisationen im Vertrauensbereich",
        "Organisations in the trust scope",
    ),
    ("Schlüssel im Vertrauensbereich", "Keys in the trust scope"),
    ("Dokument", "Document"),
    (
        "Hier delegieren Sie das Veröffentlichen an einen weiteren Schlüssel, etwa an Ihren IT-Dienstleister, und widerrufen Schlüssel. Jede Aussage wird signiert und an alle Knoten verteilt.",
        "Here you delegate publishing to another key, for example your IT-Dienstleister's, and revoke keys. Every statement is signed and sent to all nodes.",
    ),
    ("Schlüssel der Organisation", "The organisation's keys"),
    ("Stand", "State"),
    ("Stammschlüssel", "root key"),
    ("aktuell", "current"),
    ("abgelöst", "replaced"),
    ("dieser Knoten", "this node"),
    (
        "Einen Schlüssel wechseln Sie mit allmende key rotate auf dem Rechner des Knotens.",
        "To replace a key, run allmende key rotate on the node's machine.",
    ),
    ("Delegieren", "Delegate"),
    (
        "Schlüssel, der veröffentlichen darf",
        "Key that may publish",
    ),
    (
        "64 Hexadezimalzeichen; der Empfänger zeigt ihn mit allmende key export-public an.",
        "64 hexadecimal characters; the recipient shows it with allmende key export-public.",
    ),
    ("Gültig für Tage", "Valid for days"),
    ("1 bis 3650", "1 to 3650"),
    ("Delegation signieren", "Sign the delegation"),
    ("Darf veröffentlichen", "May publish"),
    ("darf veröffentlichen", "may publish"),
    (
        "Das Profil (Name, AGS, Art) ändert üblicherweise nur die Organisation selbst.",
        "Usually only the organisation itself changes its profile (name, AGS, kind).",
    ),
    (
        "Profil (Name, AGS, Art der Organisation)",
        "Profile (name, AGS, kind of organisation)",
    ),
    (
        "Bewertungen und Nachnutzungsberichte",
        "Ratings and Nachnutzung reports",
    ),
    (
        "keine Art von Einträgen, die delegiert werden kann.",
        "not a kind of record that can be delegated.",
    ),
    (
        "Bitte mindestens eine Art von Einträgen wählen.",
        "Please choose at least one kind of record.",
    ),
    (
        "Delegieren kann nur der Stammschlüssel der Organisation; dieser Knoten hält einen anderen Schlüssel.",
        "Only the organisation's root key can delegate; this node holds another key.",
    ),
    ("Widerrufen", "Revoke"),
    ("Zu widerrufender Schlüssel", "Key to revoke"),
    (
        "Ein Schlüssel, an den Sie delegiert haben, oder ein früherer Schlüssel Ihrer Organisation.",
        "A key you delegated to, or an earlier key of your organisation.",
    ),
    (
        "Zum Beispiel: Vertrag beendet, Schlüssel verloren.",
        "For example: contract ended, key lost.",
    ),
    ("Widerruf signieren", "Sign the revocation"),
    (
        "Delegation signiert. Andere Knoten erhalten sie beim nächsten Abgleich.",
        "Delegation signed. Other nodes receive it at the next reconciliation.",
    ),
    (
        "Widerruf signiert. Andere Knoten erhalten ihn beim nächsten Abgleich.",
        "Revocation signed. Other nodes receive it at the next reconciliation.",
    ),
    (
        "Das ist der eigene Schlüssel dieses Knotens.",
        "That is this node's own key.",
    ),
    (
        "Bitte einen Schlüssel aus 64 Hexadezimalzeichen angeben.",
        "Please give a key of 64 hexadecimal characters.",
    ),
    ("Mindestens ein Tag.", "At least one day."),
    (
        "Bitte eine Anzahl Tage angeben.",
        "Please give a number of days.",
    ),
    ("widerrufen ab", "revoked from"),
    (
        "Schlüssel und Delegationen verwalten",
        "Manage keys and delegations",
    ),
    (
        "Mitglieder verwalten (IT-Dienstleister): allmende member add und allmende member remove; die Änderung gilt nach wenigen Sekunden.",
        "Managing members (IT-Dienstleister): allmende member add and allmende member remove; the change applies within seconds.",
    ),
    ("Zum Inhalt springen", "Skip to content"),
    ("Hauptnavigation", "Main navigation"),
    ("Start", "Home"),
    ("Produkte", "Products"),
    ("Organisationen", "Organisations"),
    ("Aufgaben", "Tasks"),
    ("Interoperabilität", "Interoperability"),
    ("Doppelentwicklungen", "Duplicate developments"),
    ("Abdeckung", "Coverage"),
    ("Netzwerk", "Network"),
    ("Vertrauen", "Trust"),
    ("Einstellungen", "Settings"),
    ("Sprache", "Language"),
    (
        "Referenzkatalog für Verwaltungssoftware",
        "Reference catalogue of public-administration software",
    ),
    (
        "Demo-Daten: Alle Organisationen, Produkte und Erfahrungen auf diesem Knoten sind erfunden.",
        "Demo data: every organisation, product and experience on this node is made up.",
    ),
    (
        "Veröffentlichen geht hier ohne Anmeldung, für jeden an diesem Rechner.",
        "Anyone at this machine can publish here without signing in.",
    ),
    (
        "Demo: Auf diesem Knoten kann jeder an diesem Rechner ohne Anmeldung veröffentlichen.",
        "Demo: anyone at this machine can publish on this node without signing in.",
    ),
    (
        "Die Oberfläche ist nur auf diesem Rechner erreichbar (127.0.0.1), aber für alle seine Benutzer und Programme; zum Veröffentlichen melden Sie sich mit dem Anmeldelink von allmende run oder einem Token an.",
        "The interface can be reached from this machine only (127.0.0.1), but by all its users and programs; to publish, sign in with the login link from allmende run or with a token.",
    ),
    (
        "Zum Veröffentlichen melden Sie sich an, auch auf diesem Rechner: Lesen kann jeder, der den Knoten erreicht, veröffentlichen nur, wer angemeldet ist.",
        "To publish, sign in, also on this machine: anyone who reaches the node can read, only those signed in can publish.",
    ),
    (
        "Am einfachsten mit dem Anmeldelink, den allmende run beim Start ausgibt (Zeile UI login). Jeder Link gilt einmal; einen neuen erhält, wer das Admin-Token hat, mit POST /api/v1/ui/login.",
        "The easiest way is the login link allmende run prints at start (line UI login). Each link works once; whoever holds the admin token gets a new one with POST /api/v1/ui/login.",
    ),
    (
        "Oder mit dem Admin-Token Ihrer Organisation. Es steht in der Datei admin.token im Datenverzeichnis des Knotens (bei betreuten Mitgliedern in members/).",
        "Or with your organisation's admin token. It is in the file admin.token in the node's data directory (for hosted members in members/).",
    ),
    (
        "Dieser Anmeldelink ist ungültig oder wurde schon benutzt. Jeder Link gilt nur einmal.",
        "This login link is invalid or was used already. Each link works once.",
    ),
    ("Dieser Knoten", "This node"),
    (
        "ohne eigene Organisation (nur lesen)",
        "without an organisation of its own (read only)",
    ),
    ("Suchbegriff", "Search term"),
    ("Suchen", "Search"),
    ("Produkte suchen", "Search products"),
    (
        "z. B. Bauantrag, Meldewesen, XBau",
        "e.g. Bauantrag, Meldewesen, XBau",
    ),
    ("Kennzahlen", "Key figures"),
    ("Neueste Aktivität", "Recent activity"),
    ("Meistgenutzte Produkte", "Most used products"),
    ("Noch keine Aktivität.", "No activity yet."),
    ("Einsätze", "Deployments"),
    ("Bewertungen", "Ratings"),
    ("Nachnutzungsberichte", "Reuse reports"),
    ("Dokumente", "Documents"),
    ("Verbundene Knoten", "Connected peers"),
    ("Treffer", "results"),
    ("Filter", "Filters"),
    ("Aktive Filter", "Active filters"),
    ("Filter entfernen", "Remove filter"),
    ("Keine Produkte gefunden.", "No products found."),
    ("Vorherige Seite", "Previous page"),
    ("Nächste Seite", "Next page"),
    ("Seite", "Page"),
    ("Art", "Kind"),
    ("Aufgabe", "Task"),
    ("Themenfeld", "Subject area"),
    ("Kategorie", "Category"),
    ("Standard", "Standard"),
    ("Lizenz", "Licence"),
    ("Open Source", "Open source"),
    ("Betrieb", "Hosting"),
    ("Einer für Alle", "One for all (EfA)"),
    ("EfA-Land", "EfA Land"),
    ("ja", "yes"),
    ("nein", "no"),
    ("Ja", "Yes"),
    ("Nein", "No"),
    ("Keine Angabe", "Not stated"),
    ("keine Angabe", "not stated"),
    ("Software", "Software"),
    ("Fachverfahren", "Specialised procedure"),
    ("Onlinedienst", "Online service"),
    ("Basiskomponente", "Base component"),
    ("Eigenbetrieb", "On premises"),
    ("IT-Dienstleister", "IT service provider"),
    ("Software as a Service", "Software as a service"),
    ("Cloud", "Cloud"),
    ("Hersteller", "Vendor"),
    ("Beschreibung", "Description"),
    ("Keine Beschreibung angegeben.", "No description given."),
    ("Standards und Schnittstellen", "Standards and interfaces"),
    ("Voraussetzungen und Kosten", "Prerequisites and costs"),
    ("Voraussetzungen", "Prerequisites"),
    ("Kostenmodell", "Cost model"),
    ("Service-Level", "Service level"),
    ("Repository", "Repository"),
    ("Website", "Website"),
    ("Erklärung zur Barrierefreiheit", "Accessibility statement"),
    (
        "Datenschutz-Folgenabschätzung verfügbar",
        "Data protection impact assessment available",
    ),
    ("Testinstanz verfügbar", "Test instance available"),
    ("Wer nutzt es wo", "Who uses it where"),
    (
        "Noch keine Einsätze gemeldet.",
        "No deployments reported yet.",
    ),
    ("Noch keine Bewertungen.", "No ratings yet."),
    ("Noch keine Nachnutzungsberichte.", "No reuse reports yet."),
    ("Keine Integrationen gemeldet.", "No integrations reported."),
    (
        "Keine ähnlichen Produkte gefunden.",
        "No similar products found.",
    ),
    ("Ähnliche Produkte", "Similar products"),
    ("Produkt bewerten", "Rate this product"),
    ("Einsatz melden", "Report a deployment"),
    ("Nachnutzung berichten", "Write a reuse report"),
    ("Produkt bearbeiten", "Edit product"),
    ("Produkt anlegen", "Add product"),
    ("Neues Produkt anlegen", "Add a new product"),
    ("Organisation", "Organisation"),
    ("Status", "Status"),
    ("Betrieben von", "Operated by"),
    ("seit", "since"),
    ("Kosten jährlich", "Yearly cost"),
    ("Kosten einmalig", "One-off cost"),
    ("Mittelwert je Dimension", "Mean per dimension"),
    ("Verteilung der Punktzahlen", "Distribution of scores"),
    ("Anzahl", "Count"),
    ("Punktzahl", "Score"),
    ("Mittelwert", "Mean"),
    ("Dimension", "Dimension"),
    ("Weiterempfehlung", "Would recommend"),
    ("Funktionalität", "Functionality"),
    ("Bedienbarkeit", "Usability"),
    ("Support", "Support"),
    ("Stabilität", "Stability"),
    ("Preis-Leistung", "Value for money"),
    ("Barrierefreiheit", "Accessibility"),
    ("geplant", "planned"),
    ("Pilot", "pilot"),
    ("Produktion", "production"),
    ("eingestellt", "retired"),
    ("funktioniert", "works"),
    ("teilweise", "partly"),
    ("funktioniert nicht", "fails"),
    ("selbst", "itself"),
    ("Hersteller (SaaS)", "vendor (SaaS)"),
    ("Ergebnis", "Outcome"),
    ("laufend", "in progress"),
    ("abgebrochen", "abandoned"),
    ("Aufwand (Personentage)", "Effort (person days)"),
    ("Wochen bis zum Betrieb", "Weeks to production"),
    ("Hindernisse", "Obstacles"),
    ("rechtlich", "legal"),
    ("technisch", "technical"),
    ("organisatorisch", "organisational"),
    ("finanziell", "financial"),
    ("Anbieter", "Provider"),
    ("Nutzung nach Land", "Usage by Land"),
    ("Organisationen nach Land", "Organisations by Land"),
    ("Land", "Land"),
    ("Kreis", "District"),
    ("Verifiziert", "Verified"),
    ("verifiziert", "verified"),
    ("nicht verifiziert", "not verified"),
    (
        "Von einem Vertrauensanker bestätigt.",
        "Confirmed by a trust anchor.",
    ),
    (
        "Von keinem Vertrauensanker dieses Knotens bestätigt.",
        "Not confirmed by any trust anchor this node follows.",
    ),
    ("Einwohner", "Inhabitants"),
    ("AGS", "Municipality key (AGS)"),
    ("Kennung", "Identifier"),
    ("Software-Ausstattung", "Software in use"),
    ("Eigene Bewertungen", "Its ratings"),
    ("Eigene Nachnutzungsberichte", "Its reuse reports"),
    ("Kommune", "Municipality"),
    ("Bund", "Federal body"),
    ("Sonstige", "Other"),
    ("Aufgaben und Themenfelder", "Tasks and subject areas"),
    ("Themenfelder", "Subject areas"),
    ("Produkte im Einsatz", "Products in use"),
    ("Produkte für diese Aufgabe", "Products for this task"),
    ("Keine Aufgaben bekannt.", "No tasks known."),
    ("Interoperabilitätsmatrix", "Interoperability matrix"),
    (
        "Noch keine Integrationen gemeldet.",
        "No integrations reported yet.",
    ),
    ("Produkt", "Product"),
    ("Partnerprodukt", "Other product"),
    (
        "Die am besten belegten Produktpaare",
        "The best-evidenced product pairs",
    ),
    (
        "Bis zu 10.000 Zeilen, nach Belegen geordnet, liefert die API unter",
        "The API lists up to 10,000 rows, best evidenced first, at",
    ),
    ("Belege", "Evidence"),
    (
        "Die am besten belegten Integrationen; alle in der API unter",
        "The best-evidenced integrations; all of them in the API at",
    ),
    (
        "Keine Doppelentwicklungen gefunden.",
        "No duplicate developments found.",
    ),
    ("Abdeckung nach Land", "Coverage by Land"),
    ("Abdeckung nach Kreis", "Coverage by district"),
    ("Region", "Region"),
    ("Abgedeckte Aufgaben", "Tasks covered"),
    ("Nach Land", "By Land"),
    ("Nach Kreis", "By district"),
    (
        "Keine Einsätze in Pilot oder Produktion.",
        "No deployments in pilot or production.",
    ),
    ("Peer-ID", "Peer id"),
    ("Adressen", "Addresses"),
    ("Gesperrte Knoten", "Blocked peers"),
    ("Synchronisation", "Synchronisation"),
    ("Abgeschlossene Abgleiche", "Completed reconciliations"),
    ("Ausstehende Abrufe", "Pending fetches"),
    ("Gesendet", "Sent"),
    ("Empfangen", "Received"),
    ("Abgewiesene Nachrichten", "Rejected messages"),
    ("Grund", "Reason"),
    ("Keine abgewiesenen Nachrichten.", "No rejected messages."),
    ("Signierte Änderungen", "Signed changes"),
    ("Zertifikate", "Certificates"),
    ("Keine.", "None."),
    ("Vertrauensanker", "Trust anchors"),
    ("Bestätigungen", "Attestations"),
    ("Delegationen", "Delegations"),
    ("Widerrufe", "Revocations"),
    ("Bestätigt von", "Attested by"),
    ("Aussteller", "Issuer"),
    ("Schlüssel", "Key"),
    ("gültig bis", "valid until"),
    ("gültig ab", "valid from"),
    ("Veröffentlichen für", "Publish for"),
    ("Version", "Version"),
    ("Anmelden", "Sign in"),
    ("Abmelden", "Sign out"),
    ("Admin-Token", "Admin token"),
    (
        "Bitte korrigieren Sie die markierten Angaben.",
        "Please correct the marked fields.",
    ),
    ("Speichern", "Save"),
    ("Bewertung veröffentlichen", "Publish rating"),
    ("Einsatz veröffentlichen", "Publish deployment"),
    ("Bericht veröffentlichen", "Publish report"),
    ("Änderungen veröffentlichen", "Publish changes"),
    ("Abbrechen", "Cancel"),
    ("Pflichtfeld", "required"),
    ("Seite nicht gefunden", "Page not found"),
    ("Fehler", "Error"),
    ("Zurück zur Startseite", "Back to the home page"),
    ("Anfrage abgelehnt", "Request refused"),
    ("Als Tabelle anzeigen", "Show as table"),
    ("Pflege des Eintrags", "Who looks after this entry"),
    (
        "Die Angaben setzen die Pflegenden; Änderungen anderer sind Vorschläge, über die sie entscheiden.",
        "The stewards set these values; changes by others are proposals they decide on.",
    ),
    ("Verlauf aller Änderungen", "History of every change"),
    ("Änderungsvorschläge", "Proposed changes"),
    ("Keine offenen Vorschläge.", "No open proposals."),
    ("Vorschlag von", "Proposal by"),
    ("Vorgeschlagene Änderungen", "Proposed changes"),
    ("Angabe", "Field"),
    ("angezeigt", "shown"),
    ("vorgeschlagen", "proposed"),
    ("Vorschlag übernehmen", "Accept proposal"),
    ("Vorschlag ablehnen", "Decline proposal"),
    (
        "weitere Vorschläge nicht verifizierter Organisationen anzeigen",
        "more proposals by unverified organisations",
    ),
    ("Herkunft der Angaben", "Where these values come from"),
    ("gesetzt von", "set by"),
    ("am", "on"),
    ("vorgeschlagen von", "proposed by"),
    ("hat den Eintrag angelegt", "created the entry"),
    (
        "Mitpflege, benannt von der anlegenden Organisation",
        "co-steward, named by the creator",
    ),
    (
        "vom Vertrauensanker übertragen (anstelle der anlegenden Organisation)",
        "handed over by the trust anchor (in the creator’s place)",
    ),
    (
        "vom Vertrauensanker als Pflegende benannt",
        "made steward by the trust anchor",
    ),
    ("Pflege", "Steward"),
    ("Mitpflege", "Co-steward"),
    ("vor Einführung der Pflege", "before stewardship"),
    ("Vorschlag", "Proposal"),
    ("Verlauf", "History"),
    ("Zurück zum Produkt", "Back to the product"),
    (
        "Alle Änderungen, älteste zuerst",
        "Every change, oldest first",
    ),
    ("Zeit", "Time"),
    ("von", "by"),
    ("Angaben", "Fields"),
    ("übernimmt Vorschlag", "accepts proposal"),
    ("lehnt Vorschlag ab", "declines proposal"),
    ("Änderung vorschlagen", "Propose a change"),
    (
        "Der Knoten hat die Entscheidung nicht gespeichert",
        "The node did not store the decision",
    ),
    (
        "Diesen Vorschlag gibt es nicht.",
        "There is no such proposal.",
    ),
    (
        "Änderungsvorschlag gespeichert. Die Pflegenden des Eintrags entscheiden, ob sie ihn übernehmen.",
        "Proposal saved. The entry’s stewards decide whether to accept it.",
    ),
    (
        "Vorschlag übernommen. Andere Knoten erhalten die Änderung beim nächsten Abgleich.",
        "Proposal accepted. Other nodes receive the change at the next sync.",
    ),
    ("Vorschlag abgelehnt.", "Proposal declined."),
    (
        "weitere, nicht verifizierte Einträge anzeigen",
        "more unverified entries",
    ),
    (
        "(weder eine verifizierte Organisation pflegt sie noch hat eine sie im Einsatz, bewertet oder über ihre Nachnutzung berichtet)",
        "(no verified organisation looks after them, runs them, rated them or reported on reusing them)",
    ),
    ("(leer)", "(empty)"),
    ("Kategorien", "Categories"),
    ("Organisation des Herstellers", "Vendor’s organisation"),
    ("dasselbe Produkt wie", "same product as"),
    ("Mitpflegende", "Co-stewards"),
    ("Name", "Name"),
    (
        "ältere offene Vorschläge; alle im",
        "older open proposals; all of them in the",
    ),
    ("Mitpflegende Organisationen", "Co-steward organisations"),
    (
        "Keine gültige Organisations-ID. Bitte je Zeile die 64 Hexadezimalzeichen der ID angeben, wie sie auf der Seite der Organisation steht.",
        "Not a valid organisation id. Give the 64 hex characters of the id per line, as the organisation's page shows it.",
    ),
    (
        "Organisationen, die den Eintrag mit Ihnen pflegen, z. B. der Hersteller: je Zeile eine Organisations-ID. Festlegen kann das nur, wer den Eintrag angelegt hat; von anderen ist es ein Vorschlag.",
        "Organisations that look after this entry with you, such as the vendor: one organisation id per line. Only the entry's creator sets this; from anyone else it is a proposal.",
    ),
    (
        "Anteil der Bevölkerung in Gemeinden, die veröffentlicht haben",
        "Share of the population in municipalities that have published",
    ),
    ("Anteil der Bevölkerung (%)", "Share of the population (%)"),
    (
        "Wie viele Gemeinden einer Region (und welcher Anteil ihrer Bevölkerung) ihren Einsatz von Software veröffentlicht haben, und für wie viele Aufgaben dort mindestens ein Produkt im Pilot- oder Produktivbetrieb ist.",
        "How many municipalities of a region (and what share of its population) have published the software they use, and for how many tasks at least one product is in pilot or production there.",
    ),
    (
        "Gemeinden und Einwohner laut Gemeindeverzeichnis",
        "Municipalities and inhabitants according to the official municipality directory",
    ),
    (
        "Gemeinden mit Veröffentlichung",
        "Municipalities that have published",
    ),
    ("Anteil der Bevölkerung", "Share of the population"),
    ("Diesen Kreis gibt es nicht.", "There is no such district."),
    ("Gemeinden", "Municipalities"),
    (
        "Produkte im Einsatz in diesem Kreis",
        "Products in use in this district",
    ),
    (
        "Laut Gemeindeverzeichnis",
        "According to the official municipality directory",
    ),
    ("Gemeinde", "Municipality"),
    ("Organisation im Katalog", "Organisation in the catalog"),
    ("Einsätze veröffentlicht", "Deployments published"),
    ("keine", "none"),
    ("noch keine", "none yet"),
    ("OZG-Leistung", "OZG service"),
    ("Lebenslage", "Life situation"),
    (
        "Aufgabe im OZG-/LeiKa-Katalog suchen",
        "Find a task in the OZG/LeiKa catalogue",
    ),
    (
        "z. B. Abbruchgenehmigung, Hundesteuer oder ein LeiKa-Schlüssel",
        "e.g. Abbruchgenehmigung, Hundesteuer or a LeiKa key",
    ),
    ("Aufgaben suchen", "Find tasks"),
    (
        "Keine Aufgabe im Katalog passt zu diesem Suchbegriff.",
        "No task of the catalogue matches this search term.",
    ),
    ("Gefundene Aufgaben", "Tasks found"),
    ("Ausgewählte Aufgaben übernehmen", "Add the selected tasks"),
    (
        "OZG-Leistungen im Produktivbetrieb",
        "OZG services in production",
    ),
    (
        "Für welche OZG-Leistungen ein Produkt im Produktivbetrieb ist, bei wie vielen Organisationen und in welchen Ländern.",
        "For which OZG services a product is in production, at how many organisations and in which Länder.",
    ),
    (
        "OZG-Leistungen des Katalogs.",
        "OZG services of the catalogue.",
    ),
    (
        "Keine Einsätze in Produktion für eine OZG-Leistung.",
        "No deployment in production for an OZG service.",
    ),
    ("Länder", "Länder (states)"),
    (
        "AGS nicht im Gemeindeverzeichnis",
        "AGS not in the official municipality directory",
    ),
    ("Einwohner (eigene Angabe)", "Inhabitants (as claimed)"),
    ("Quellen und Lizenzen", "Sources and licences"),
    (
        "Was dieser Knoten neben den signierten Angaben der Organisationen zeigt, stammt aus diesen amtlichen und öffentlichen Quellen.",
        "Besides what organisations sign themselves, this node shows data from these official and public sources.",
    ),
    ("Gemeindeverzeichnis", "Municipality directory"),
    (
        "Gemeinden, Kreise und Länder mit amtlichem Gemeindeschlüssel, Namen, Fläche und Bevölkerung (Gemeindeverzeichnis GV100AD)",
        "Municipalities, districts and Länder with official key, name, area and population (Gemeindeverzeichnis GV100AD)",
    ),
    (
        "Es dient als Nenner der Abdeckung und der Kosten je Einwohner; eine neuere Ausgabe spielt der Betrieb mit allmende import gv100ad ein.",
        "It is the denominator of coverage and of costs per inhabitant; operators load a newer edition with allmende import gv100ad.",
    ),
    ("OZG-Umsetzungskatalog und LeiKa", "OZG catalogue and LeiKa"),
    ("LeiKa-Leistungen", "LeiKa services"),
    ("OZG-Leistungen", "OZG services"),
    (
        "Lebens- und Unternehmenslagen",
        "life and business situations",
    ),
    ("Lizenzen und Standards", "Licences and standards"),
    (
        "Lizenzkennungen nach der SPDX License List; Standards und Schnittstellen nach XRepository (KoSIT), IT-Planungsrat und FITKO.",
        "Licence identifiers from the SPDX License List; standards and interfaces from XRepository (KoSIT), IT-Planungsrat and FITKO.",
    ),
    ("Die Angaben im Katalog", "The catalog's records"),
    (
        "Einsätze, Bewertungen und Berichte signieren die Organisationen selbst; Exporte tragen diese Quellen in ihren Metadaten.",
        "Organisations sign their deployments, ratings and reports themselves; exports carry these sources in their metadata.",
    ),
    // Neighbour comparison (compare.rs)
    ("Nachbarvergleich", "Neighbour comparison"),
    (
        "Nachbarvergleich: was vergleichbare Organisationen einsetzen",
        "Neighbour comparison: what comparable organisations use",
    ),
    (
        "Keine gültige Organisationskennung.",
        "Not a valid organisation id.",
    ),
    (
        "Diese Organisation ist auf diesem Knoten nicht bekannt.",
        "This node does not know this organisation.",
    ),
    (
        "Dieser Knoten hat keine eigene Organisation; wählen Sie eine Organisation auf ihrer Seite (Organisationen) und dort „Nachbarvergleich“.",
        "This node has no organisation of its own; choose “Neighbour comparison” on an organisation's page (Organisations).",
    ),
    (
        "org: keine gültige Organisationskennung (64 Hexadezimalzeichen).",
        "org: not a valid organisation id (64 hexadecimal characters).",
    ),
    (
        "gruppe: unbekannte Vergleichsgruppe; möglich sind kreis, land und groesse.",
        "gruppe: unknown comparison group; it can be kreis, land or groesse.",
    ),
    ("Die Anfrage ist länger als", "The query is longer than"),
    ("Zeichen.", "characters."),
    ("Unbekannter Parameter", "Unknown parameter"),
    (
        "möglich sind org, gruppe und alle.",
        "the parameters are org, gruppe and alle.",
    ),
    (
        "Diese Vergleichsgruppe lässt sich nicht bilden",
        "This comparison group cannot be formed",
    ),
    (
        "Wählen Sie oben eine andere Gruppe oder ergänzen Sie das Profil der Organisation um ihren Amtlichen Gemeindeschlüssel.",
        "Choose another group above, or add the official municipality key (AGS) to the organisation's profile.",
    ),
    (
        "Was vergleichbare Organisationen je Aufgabe einsetzen, wie sie es bewerten und was es sie kostet, neben dem eigenen Bestand.",
        "What comparable organisations use for each task, how they rate it and what it costs them, next to the organisation's own inventory.",
    ),
    ("Zur Seite der Organisation", "To the organisation's page"),
    ("Vergleichen", "Compare"),
    ("Vergleichsgruppe", "Comparison group"),
    ("Gleicher Kreis", "Same district"),
    ("Gleiches Land", "Same Land"),
    ("Gleiche Größenklasse", "Same size class"),
    ("nicht möglich", "not possible"),
    ("ohne eigenes Produkt", "without a product of its own"),
    (
        "Nachbarn mit einem Produkt im Einsatz, je Aufgabe",
        "Neighbours with a product in use, by task",
    ),
    ("Nachbarn mit Produkt", "Neighbours with a product"),
    (
        "Gezählt werden alle Organisationen, auch von keinem Vertrauensanker bestätigte.",
        "All organisations are counted, including those no trust anchor has attested.",
    ),
    (
        "Gezählt werden nur von einem Vertrauensanker bestätigte Organisationen; nicht bestätigte Organisationen, die sich demselben Kreis zuordnen, zählen nicht.",
        "Only organisations attested by a trust anchor are counted; unattested organisations that place themselves in the same district do not count.",
    ),
    ("Einwohner (amtlich)", "Inhabitants (official)"),
    ("Größenklasse", "Size class"),
    ("unter 2.000 Einwohner", "under 2,000 inhabitants"),
    (
        "2.000 bis unter 5.000 Einwohner",
        "2,000 to under 5,000 inhabitants",
    ),
    (
        "5.000 bis unter 10.000 Einwohner",
        "5,000 to under 10,000 inhabitants",
    ),
    (
        "10.000 bis unter 20.000 Einwohner",
        "10,000 to under 20,000 inhabitants",
    ),
    (
        "20.000 bis unter 50.000 Einwohner",
        "20,000 to under 50,000 inhabitants",
    ),
    (
        "50.000 bis unter 100.000 Einwohner",
        "50,000 to under 100,000 inhabitants",
    ),
    (
        "100.000 bis unter 200.000 Einwohner",
        "100,000 to under 200,000 inhabitants",
    ),
    (
        "200.000 bis unter 500.000 Einwohner",
        "200,000 to under 500,000 inhabitants",
    ),
    ("500.000 Einwohner und mehr", "500,000 inhabitants and more"),
    ("Vergleichbare Organisationen", "Comparable organisations"),
    ("davon mit Einsätzen", "of which with deployments"),
    ("Nur bestätigte zählen", "Count attested ones only"),
    ("Alle Organisationen zählen", "Count all organisations"),
    (
        "Die Gruppe ist sehr groß; verglichen wird mit einem begrenzten Ausschnitt.",
        "The group is very large; the comparison uses a limited part of it.",
    ),
    (
        "Wo der eigene Bestand abweicht",
        "Where the organisation's inventory differs",
    ),
    (
        "Keine Abweichungen in dieser Gruppe.",
        "No differences in this group.",
    ),
    (
        "Aufgaben ohne eigenes Produkt",
        "Tasks without a product of its own",
    ),
    (
        "Nachbarn setzen etwas ein",
        "neighbours use something for it",
    ),
    (
        "Eigene Produkte, die wenige Nachbarn einsetzen",
        "Own products that few neighbours use",
    ),
    (
        "Nachbarn mit einem Produkt für diese Aufgabe",
        "neighbours with a product for this task",
    ),
    (
        "Produkte, von denen Nachbarn abgerückt sind",
        "Products neighbours have moved away from",
    ),
    ("Nachbarn haben es abgelöst", "neighbours replaced it"),
    ("setzen es weiter ein", "still use it"),
    ("Sie setzen es noch ein.", "You still use it."),
    ("Je Aufgabe", "By task"),
    (
        "Weder die Organisation noch ihre Nachbarn haben Einsätze mit einer Aufgabe gemeldet.",
        "Neither the organisation nor its neighbours have reported deployments with a task.",
    ),
    (
        "Kein eigenes Produkt für diese Aufgabe.",
        "No product of its own for this task.",
    ),
    (
        "Nachbarn setzen ein Produkt dafür ein.",
        "neighbours use a product for it.",
    ),
    ("Produkte der Nachbarn", "The neighbours' products"),
    ("Eigener Einsatz", "Own deployment"),
    ("Nachbarn im Einsatz", "Neighbours using it"),
    ("Abgelöst", "Replaced"),
    ("Bewertung (Ø 1–5)", "Rating (mean 1–5)"),
    ("Empfehlung", "Recommendation"),
    (
        "Kosten jährlich (Median, Meldungen)",
        "Yearly cost (median, reports)",
    ),
    (
        "Kosten einmalig (Median, Meldungen)",
        "One-off cost (median, reports)",
    ),
    ("€ je Einwohner und Jahr", "€ per inhabitant and year"),
    (
        "weitere Produkte mit wenigen Nachbarn nicht aufgeführt.",
        "more products with few neighbours not listed.",
    ),
    (
        "weitere Aufgaben nicht aufgeführt.",
        "more tasks not listed.",
    ),
    (
        "Bewertungen: Mittel der Dimensionen aus den Bewertungen der Nachbarn, eine je Organisation und Produkt, ohne Selbstbewertungen der Hersteller. Kosten: je Organisation die Summe ihrer Einsätze, davon der Median; € je Einwohner mit der amtlichen Einwohnerzahl.",
        "Ratings: the mean of the dimensions of the neighbours' ratings, one per organisation and product, without vendors' ratings of their own products. Costs: per organisation the sum of its deployments, and of those the median; € per inhabitant with the official population.",
    ),
    ("Als JSON", "As JSON"),
    // Training and exchange of experience (exchange.rs, training.rs)
    ("Format", "Format"),
    ("Dauer", "Duration"),
    ("Für", "For"),
    ("Bewertung", "Rating"),
    ("bewerten", "rate"),
    ("Präsenz", "In person"),
    ("Online (live)", "Online (live)"),
    ("Selbstlernkurs", "Self-paced course"),
    ("Hybrid", "Hybrid"),
    ("alle Formate", "all formats"),
    ("Anzeigen", "Show"),
    ("Titel", "Title"),
    (
        "Hersteller, IT-Dienstleister, Studieninstitut, …",
        "Vendor, IT service provider, training institute, …",
    ),
    ("Dauer (Minuten)", "Duration (minutes)"),
    ("https://…", "https://…"),
    ("Für welche Rollen", "For which roles"),
    ("Inhalt", "Content"),
    (
        "Bitte eine vollständige Adresse mit http:// oder https:// angeben.",
        "Please give a full address with http:// or https://.",
    ),
    (
        "Diese Aufgabe ist kein gültiger LeiKa-Schlüssel und keine Aufgabenbezeichnung.",
        "This task is neither a valid LeiKa key nor a task name.",
    ),
    (
        "Dieses Schulungsangebot ist auf diesem Knoten nicht bekannt.",
        "This node does not know this training offer.",
    ),
    ("Erfahrung", "Experience"),
    (
        "Was hat die Schulung gebracht? Bitte keine personenbezogenen Daten.",
        "What did the training bring? Please no personal data.",
    ),
    // Watch list, notices and feeds (follow.rs)
    ("Beobachten", "Watch"),
    ("Nicht mehr beobachten", "Stop watching"),
    ("Atom-Feed abonnieren", "Subscribe to the Atom feed"),
    ("Unbekannte Aktion.", "Unknown action."),
    ("neu", "new"),
    ("Beobachtet", "Watch list"),
    (
        "Dieser Knoten hat keine eigene Organisation und führt keine Merkliste.",
        "This node has no organisation of its own and keeps no watch list.",
    ),
    (
        "Produkte, Aufgaben, Organisationen und Regionen, die Ihre Organisation auf diesem Knoten beobachtet.",
        "Products, tasks, organisations and regions your organisation watches on this node.",
    ),
    (
        "Neu seit Ihrem letzten Besuch am",
        "What is new since your last visit on",
    ),
    ("ist markiert.", "is marked."),
    (
        "Beim nächsten Besuch ist markiert, was seitdem neu ist.",
        "On your next visit, what is new since then is marked.",
    ),
    (
        "Noch nichts beobachtet. Auf den Seiten von Produkten, Aufgaben, Organisationen und Kreisen steht der Knopf „Beobachten“.",
        "Nothing watched yet. The pages of products, tasks, organisations and districts have a “Watch” button.",
    ),
    ("neu seit Ihrem letzten Besuch", "new since your last visit"),
    ("Noch keine Ereignisse.", "No events yet."),
    ("Hinweise", "Notices"),
    (
        "Dieser Knoten hat keine eigene Organisation; Hinweise gibt es für die Produkte, die eine Organisation einsetzt.",
        "This node has no organisation of its own; notices are about the products an organisation uses.",
    ),
    (
        "Neue Bewertungen und Nachnutzungsberichte anderer Organisationen, neue Versionen und das Ende des Supports der Produkte, die Ihre Organisation einsetzt.",
        "New ratings and reuse reports by other organisations, new versions and the end of support of the products your organisation uses.",
    ),
    ("Keine Hinweise.", "No notices."),
    // Inventory import (inventory.rs)
    ("Bestand importieren", "Import inventory"),
    (
        "Laden Sie die Liste Ihrer Fachverfahren als Tabelle hoch (CSV, Excel .xlsx oder OpenDocument .ods, höchstens 4 MiB). Sie sehen zuerst eine Vorschau: wie die Spalten verstanden wurden, welche Produkte gefunden wurden, und jeden Fehler mit Tabelle, Zeile und Spalte. Geschrieben wird erst, wenn Sie „Importieren“ wählen.",
        "Upload the list of your specialised procedures as a spreadsheet (CSV, Excel .xlsx or OpenDocument .ods, at most 4 MiB). You see a preview first: how the columns were understood, which products were found, and every error with its sheet, row and column. Nothing is written until you choose “Import”.",
    ),
    (
        "Ein erneuter Import der aktualisierten Tabelle aktualisiert, beendet und ergänzt Einsätze, statt sie zu verdoppeln. Die Zuordnung der Spalten wird gemerkt.",
        "Importing the updated spreadsheet again updates, ends and adds deployments instead of duplicating them. The column mapping is remembered.",
    ),
    (
        "Die Datei konnte nicht gelesen werden",
        "The file could not be read",
    ),
    ("Tabelle", "Spreadsheet"),
    (
        "CSV, XLSX oder ODS; die erste Tabelle mit einer Kopfzeile wird gelesen.",
        "CSV, XLSX or ODS; the first sheet with a header row is read.",
    ),
    ("Vorschau anzeigen", "Show the preview"),
    (
        "Eine Beispieltabelle liegt der Demo bei; das Format beschreibt docs/inventory.md.",
        "The demo comes with an example spreadsheet; docs/inventory.md describes the format.",
    ),
    ("Bitte wählen Sie eine Datei aus.", "Please choose a file."),
    (
        "Die Datei ist größer als 4 MiB.",
        "The file is larger than 4 MiB.",
    ),
    (
        "Die hochgeladene Datei ist nicht mehr vorhanden (nach 30 Minuten oder nach weiteren Uploads). Bitte laden Sie sie erneut hoch.",
        "The uploaded file is no longer kept (after 30 minutes or after further uploads). Please upload it again.",
    ),
    (
        "Nicht importiert: Die Vorschau hat noch Fehler oder offene Entscheidungen. Entscheiden Sie die markierten Zeilen oder lassen Sie fehlerhafte Zeilen aus.",
        "Not imported: the preview still has errors or open decisions. Decide the marked rows or skip the rows with errors.",
    ),
    ("Bestand importiert", "Inventory imported"),
    (
        "Alle Änderungen wurden in einem Schritt signiert. Andere Knoten erhalten sie beim nächsten Abgleich.",
        "All changes were signed in one step. Other nodes receive them at the next reconciliation.",
    ),
    ("Datei", "File"),
    ("Einsätze geschrieben", "Deployments written"),
    ("davon neu", "of which new"),
    ("aktualisiert", "updated"),
    ("beendet", "ended"),
    ("Produkte neu angelegt", "Products created"),
    (
        "Zur Seite Ihrer Organisation",
        "To your organisation's page",
    ),
    ("Vorschau des Bestands", "Preview of the inventory"),
    ("Kopfzeile", "Header row"),
    ("Zusammenfassung", "Summary"),
    ("Zeilen gelesen", "Rows read"),
    ("Einsätze neu", "New deployments"),
    ("Einsätze aktualisieren", "Deployments to update"),
    ("unverändert", "unchanged"),
    ("Einsätze beenden", "Deployments to end"),
    ("Produkte neu anlegen", "Products to create"),
    ("Zeilen zu entscheiden", "Rows to decide"),
    ("Warnungen", "Warnings"),
    ("Zuordnung der Spalten", "Column mapping"),
    (
        "Wie die Spalten der Tabelle verstanden wurden",
        "How the spreadsheet's columns were understood",
    ),
    ("Spalte", "Column"),
    ("Überschrift", "Heading"),
    ("Feld", "Field"),
    ("nicht verwendet", "not used"),
    ("Repository / Website", "Repository / website"),
    ("Aufgaben (LeiKa)", "Tasks (LeiKa)"),
    ("Fehler und Warnungen", "Errors and warnings"),
    ("Stelle", "Location"),
    ("Meldung", "Message"),
    ("Warnung", "Warning"),
    ("Zeilen", "Rows"),
    ("Zeile", "Row"),
    ("Produkt laut Tabelle", "Product in the spreadsheet"),
    ("Hersteller laut Tabelle", "Vendor in the spreadsheet"),
    ("Aktion", "Action"),
    ("Produkt im Katalog", "Product in the catalog"),
    ("aktualisieren", "update"),
    ("bitte entscheiden", "please decide"),
    ("ausgelassen", "skipped"),
    ("gefunden", "found"),
    ("gewählt", "chosen"),
    ("neuer Eintrag", "new entry"),
    ("offen", "open"),
    ("Produkt für Zeile", "Product for row"),
    ("bitte wählen", "please choose"),
    ("neuen Eintrag anlegen", "create a new entry"),
    ("Zeile auslassen", "skip the row"),
    (
        "Einsätze, die die Tabelle nicht mehr nennt",
        "Deployments the spreadsheet no longer lists",
    ),
    (
        "Sie werden beim Import beendet (Status „eingestellt“). Markieren Sie die, die bleiben sollen.",
        "The import ends them (status “retired”). Tick those that should stay.",
    ),
    ("behalten:", "keep:"),
    ("Zeilen mit Fehlern auslassen", "Skip rows with errors"),
    ("Importieren", "Import"),
    ("Vorschau aktualisieren", "Update the preview"),
    ("Andere Datei", "Another file"),
    // publiccode.yml import (import.rs)
    ("publiccode.yml importieren", "Import publiccode.yml"),
    (
        "Fügen Sie den Inhalt einer publiccode.yml-Datei ein (Versionen 0.2 bis 0.7, mit deutscher Erweiterung und LeiKa-Schlüsseln). Das Produkt wird angelegt oder, wenn dieselbe Datei schon einmal importiert wurde, aktualisiert. Angaben unter usedBy werden als Hinweise gezeigt, nicht als Einsätze gespeichert.",
        "Paste the content of a publiccode.yml file (versions 0.2 to 0.7, with the German extension and LeiKa keys). The product is created or, if the same file was imported before, updated. Entries under usedBy are shown as hints, not stored as deployments.",
    ),
    ("Inhalt der publiccode.yml", "Content of the publiccode.yml"),
    ("Höchstens 200 KiB.", "At most 200 KiB."),
    (
        "Bitte den Inhalt einer publiccode.yml einfügen.",
        "Please paste the content of a publiccode.yml.",
    ),
    (
        "Die Datei ist größer als 200 KiB.",
        "The file is larger than 200 KiB.",
    ),
    (
        "Die Datei wurde nicht importiert",
        "The file was not imported",
    ),
    ("Produkt angelegt.", "Product created."),
    ("Produkt aktualisiert.", "Product updated."),
    (
        "Das Produkt war schon auf diesem Stand; nichts geändert.",
        "The product was up to date already; nothing changed.",
    ),
    ("publiccode.yml importiert", "publiccode.yml imported"),
    (
        "Keine: alle Angaben wurden übernommen.",
        "None: every value was taken over.",
    ),
    (
        "Diese Angaben wurden nicht oder nur teilweise übernommen:",
        "These values were not taken over, or only in part:",
    ),
    ("Genannte Nutzer (usedBy)", "Users named (usedBy)"),
    (
        "Die Datei nennt diese Nutzer. Das sind unbestätigte Hinweise; als Einsatz zählt nur, was eine Organisation selbst veröffentlicht.",
        "The file names these users. They are unconfirmed hints; only what an organisation publishes itself counts as a deployment.",
    ),
    // Forms (forms.rs)
    (
        "Der Knoten hat die Änderung nicht gespeichert",
        "The node did not store the change",
    ),
    ("Bitte ausfüllen.", "Please fill this in."),
    (
        "Zu lang; höchstens Zeichen:",
        "Too long; most characters allowed:",
    ),
    ("Zu groß; höchstens", "Too large; at most"),
    (
        "keine gültige Aufgabe. LeiKa-Schlüssel haben 14 Ziffern; sonst eine Bezeichnung ohne Steuerzeichen.",
        "not a valid task. LeiKa keys have 14 digits; anything else is a name without control characters.",
    ),
    (
        "Keine gültige Web-Adresse; sie beginnt mit https:// oder http://.",
        "Not a valid web address; it starts with https:// or http://.",
    ),
    (
        "Kein gültiges Datum; bitte im Format JJJJ-MM-TT, z. B. 2024-03-01.",
        "Not a valid date; please use the format YYYY-MM-DD, e.g. 2024-03-01.",
    ),
    (
        "Bitte eine ganze Zahl angeben (ohne Nachkommastellen).",
        "Please give a whole number (no decimals).",
    ),
    (
        "Bitte einen Eintrag aus der Liste wählen.",
        "Please choose an entry from the list.",
    ),
    ("Ungültige Angabe", "Invalid value"),
    (
        "Keine gültige Lizenzangabe. Bitte eine SPDX-Kennung angeben, z. B. EUPL-1.2, MIT, GPL-3.0-or-later oder LicenseRef-proprietary für eine proprietäre Lizenz.",
        "Not a valid licence. Please give an SPDX identifier, e.g. EUPL-1.2, MIT, GPL-3.0-or-later, or LicenseRef-proprietary for a proprietary licence.",
    ),
    ("kein EfA-Angebot", "no EfA offer"),
    ("Lizenz (SPDX-Kennung)", "Licence (SPDX identifier)"),
    (
        "Einer für Alle: anbietendes Land",
        "One for all (EfA): providing Land",
    ),
    ("Weg zur Nachnutzung", "How to reuse it"),
    ("Aktuelle Version", "Current version"),
    ("Support endet am", "Support ends on"),
    (
        "Dieses Produkt gibt es wahrscheinlich schon",
        "This product probably exists already",
    ),
    (
        "Bitte prüfen Sie, ob einer dieser Einträge gemeint ist. Doppelte Einträge zersplittern Erfahrungen und Bewertungen.",
        "Please check whether you mean one of these entries. Duplicate entries split experience and ratings.",
    ),
    (
        "Keiner davon ist gemeint: trotzdem neu anlegen",
        "None of these: add it anyway",
    ),
    (
        "Hersteller oder herausgebende Stelle",
        "Vendor or publishing body",
    ),
    (
        "z. B. EUPL-1.2, MIT oder LicenseRef-proprietary",
        "e.g. EUPL-1.2, MIT or LicenseRef-proprietary",
    ),
    (
        "Eine je Zeile: LeiKa-Schlüssel (14 Ziffern) oder Bezeichnung",
        "One per line: LeiKa key (14 digits) or name",
    ),
    (
        "Eine je Zeile, z. B. ein OZG-Themenfeld",
        "One per line, e.g. an OZG subject area",
    ),
    (
        "Einer je Zeile, z. B. XBau, FIT-Connect, OSCI",
        "One per line, e.g. XBau, FIT-Connect, OSCI",
    ),
    (
        "z. B. FIT-Store, Kooperationsvertrag",
        "e.g. FIT-Store, cooperation agreement",
    ),
    (
        "Die zuletzt vom Hersteller veröffentlichte Version, z. B. 4.2",
        "The vendor's latest released version, e.g. 4.2",
    ),
    (
        "Abkündigung: Datum im Format JJJJ-MM-TT",
        "End of support: date in the format YYYY-MM-DD",
    ),
    (
        "Dieses Produkt ist auf diesem Knoten nicht bekannt.",
        "This node does not know this product.",
    ),
    (
        "Würden Sie das Produkt weiterempfehlen?",
        "Would you recommend the product?",
    ),
    ("Erfahrungsbericht", "Experience report"),
    ("Im Einsatz seit", "In use since"),
    ("1 – mangelhaft", "1 – poor"),
    ("2 – ausreichend", "2 – adequate"),
    ("3 – befriedigend", "3 – satisfactory"),
    ("4 – gut", "4 – good"),
    ("5 – sehr gut", "5 – very good"),
    (
        "Ihre Bewertung wird mit dem Schlüssel Ihrer Organisation signiert und im Netzwerk veröffentlicht. Eine Organisation hat je Produkt eine Bewertung; eine neue ersetzt die alte.",
        "Your rating is signed with your organisation's key and published in the network. An organisation has one rating per product; a new one replaces the old one.",
    ),
    (
        "Punktzahlen (1 = mangelhaft, 5 = sehr gut)",
        "Scores (1 = poor, 5 = very good)",
    ),
    (
        "Was lief gut, was nicht? Bitte keine personenbezogenen Daten.",
        "What went well, what did not? Please no personal data.",
    ),
    (
        "Datum im Format JJJJ-MM-TT, z. B. 2023-01-15",
        "Date in the format YYYY-MM-DD, e.g. 2023-01-15",
    ),
    (
        "Datum im Format JJJJ-MM-TT, z. B. 2024-06-30",
        "Date in the format YYYY-MM-DD, e.g. 2024-06-30",
    ),
    (
        "Bitte eine Punktzahl von 1 bis 5 wählen.",
        "Please choose a score from 1 to 5.",
    ),
    (
        "Bitte mindestens eine Punktzahl, eine Empfehlung oder einen Erfahrungsbericht angeben.",
        "Please give at least a score, a recommendation or an experience report.",
    ),
    ("Einsatz", "Deployment"),
    (
        "Durchgängig digital (Ende-zu-Ende)",
        "Fully digital (end to end)",
    ),
    ("Kosten einmalig (Euro)", "One-off cost (euros)"),
    ("Kosten jährlich (Euro)", "Yearly cost (euros)"),
    ("Ganze Euro, z. B. 12000", "Whole euros, e.g. 12000"),
    ("Funktioniert die Verbindung?", "Does the connection work?"),
    (
        "Nur falls abweichend vom Produkt; eine je Zeile",
        "Only if different from the product; one per line",
    ),
    (
        "Eine Rolle oder Stelle, kein Personenname, keine E-Mail-Adresse oder Telefonnummer: die Angaben sind öffentlich. Z. B. „Fachbereich Bürgerdienste, Produktverantwortliche“",
        "A role or office, no name of a person, no e-mail address or phone number: this is public. E.g. “Citizen services department, product owners”",
    ),
    (
        "Anbindung an ein anderes Produkt",
        "Connection to another product",
    ),
    ("z. B. XMeld, XBau, OSCI", "e.g. XMeld, XBau, OSCI"),
    (
        "Bitte wählen Sie zuerst das Produkt: Suchen Sie es unter „Produkte“ und wählen Sie dort „Einsatz melden“ oder „Nachnutzung berichten“.",
        "Please choose the product first: find it under “Products” and choose “Report a deployment” or “Write a reuse report” there.",
    ),
    (
        "Ihre Organisation hat keinen Einsatz unter dieser Kennung.",
        "Your organisation has no deployment with this identifier.",
    ),
    ("Nachnutzungsbericht", "Reuse report"),
    (
        "Nachnutzung nach Einer für Alle",
        "Reuse under One for all (EfA)",
    ),
    (
        "Würden Sie die Nachnutzung weiterempfehlen?",
        "Would you recommend the reuse?",
    ),
    ("Bericht", "Report"),
    (
        "Berichten Sie, wie die Nachnutzung einer Lösung einer anderen Stelle gelaufen ist: Aufwand, Kosten, Dauer und Hindernisse helfen den nächsten.",
        "Report how reusing another body's solution went: effort, costs, duration and obstacles help those who come next.",
    ),
    (
        "Die Stelle, deren Lösung Sie nachgenutzt haben",
        "The body whose solution you reused",
    ),
    (
        "Bitte keine personenbezogenen Daten.",
        "Please no personal data.",
    ),
    (
        "Dieses Token gehört zu keiner Organisation dieses Knotens.",
        "This token belongs to no organisation of this node.",
    ),
    // Pages (pages.rs)
    (
        "Dieser Knoten folgt keinem Vertrauensanker: Die Zahlen zählen alle Organisationen, auch nicht bestätigte.",
        "This node follows no trust anchor: the figures count all organisations, including unattested ones.",
    ),
    (
        "Gezählt werden alle Organisationen, auch nicht bestätigte.",
        "All organisations are counted, including unattested ones.",
    ),
    (
        "Gezählt werden nur von einem Vertrauensanker bestätigte Organisationen.",
        "Only organisations attested by a trust anchor are counted.",
    ),
    ("hat das Profil aktualisiert", "updated its profile"),
    ("hat Einsätze gemeldet", "reported deployments"),
    (
        "hat Bewertungen oder Nachnutzungsberichte veröffentlicht",
        "published ratings or reuse reports",
    ),
    (
        "hat ein Produkt angelegt oder geändert",
        "added or changed a product",
    ),
    ("hat Bestätigungen veröffentlicht", "published attestations"),
    (
        "Verwaltungssoftware finden und Erfahrungen teilen",
        "Find public-administration software and share experience",
    ),
    (
        "Welche Software nutzen andere Verwaltungen für welche Aufgabe, wie gut funktioniert sie, und was hat die Nachnutzung gekostet?",
        "Which software do other administrations use for which task, how well does it work, and what did reusing it cost?",
    ),
    ("Alle Produkte", "All products"),
    ("Seiten", "Pages"),
    (
        "Bewertung veröffentlicht. Andere Knoten erhalten sie beim nächsten Abgleich.",
        "Rating published. Other nodes receive it at the next reconciliation.",
    ),
    (
        "Einsatz veröffentlicht. Andere Knoten erhalten ihn beim nächsten Abgleich.",
        "Deployment published. Other nodes receive it at the next reconciliation.",
    ),
    (
        "Nachnutzungsbericht veröffentlicht. Andere Knoten erhalten ihn beim nächsten Abgleich.",
        "Reuse report published. Other nodes receive it at the next reconciliation.",
    ),
    (
        "Produkt gespeichert. Andere Knoten erhalten es beim nächsten Abgleich.",
        "Product saved. Other nodes receive it at the next reconciliation.",
    ),
    (
        "Schulungsangebot veröffentlicht. Andere Knoten erhalten es beim nächsten Abgleich.",
        "Training offer published. Other nodes receive it at the next reconciliation.",
    ),
    (
        "Bewertung der Schulung veröffentlicht. Andere Knoten erhalten sie beim nächsten Abgleich.",
        "Training rating published. Other nodes receive it at the next reconciliation.",
    ),
    ("ohne Land", "without a Land"),
    (
        "Dieser Eintrag wurde mit einem anderen zusammengeführt:",
        "This entry was merged into another one:",
    ),
    ("nicht Open Source", "not open source"),
    ("Angelegt von", "Created by"),
    ("Ansprechpartner (Rolle)", "Contact (role)"),
    ("Betreute Organisationen", "Hosted organisations"),
    (
        "Welche Produkte für welche Verwaltungsleistung im Einsatz sind: nach OZG-Themenfeld und nach Aufgabe (LeiKa-Schlüssel oder Bezeichnung).",
        "Which products are in use for which administrative service: by OZG subject area and by task (LeiKa key or name).",
    ),
    (
        "Organisationen, die das Produkt für diese Aufgabe einsetzen",
        "Organisations that use the product for this task",
    ),
    ("In der Produktsuche öffnen", "Open in the product search"),
    (
        "Welche Produkte über welchen Standard zusammenarbeiten, belegt durch gemeldete Einsätze. Jede Zelle nennt den Standard und wie viele Einsätze die Verbindung als funktionierend, teilweise funktionierend oder nicht funktionierend melden.",
        "Which products work together over which standard, as evidenced by reported deployments. Each cell names the standard and how many deployments report the connection as working, partly working or not working.",
    ),
    (
        "Aufgaben, für die mehrere mit öffentlichem Geld entwickelte Produkte (Open Source oder Einer für Alle) existieren. Hier lohnt es sich, vor einer Neuentwicklung nachzufragen.",
        "Tasks for which several products developed with public money (open source or One for all) exist. Here it pays to ask around before developing something new.",
    ),
    (
        "Der Knoten findet andere über Bootstrap-Adressen oder im lokalen Netz.",
        "The node finds others through bootstrap addresses or in the local network.",
    ),
    (
        "Vertrauensanker (zum Beispiel eine Landesbehörde) bestätigen, welcher Schlüssel zu welcher echten Organisation gehört. Nur bestätigte Organisationen zählen in den Auswertungen; Organisationen können das Veröffentlichen an einen weiteren Schlüssel delegieren, etwa an ihren IT-Dienstleister.",
        "Trust anchors (for example an authority of a Land) attest which key belongs to which real organisation. Only attested organisations count in the statistics; organisations can delegate publishing to another key, for example to their IT-Dienstleister.",
    ),
    (
        "Dieser Knoten folgt keinem Vertrauensanker. Mit allmende run --trust-anchor ORG wird einer festgelegt.",
        "This node follows no trust anchor. Set one with allmende run --trust-anchor ORG.",
    ),
    ("Schlüsselwechsel zu", "Key rotation to"),
    ("aktiv", "active"),
    ("Veröffentlichen", "Publishing"),
    (
        "Dieser Knoten hat keine eigene Organisation und kann nur lesen. Eine Organisation wird mit allmende init angelegt.",
        "This node has no organisation of its own and can only read. Create one with allmende init.",
    ),
    (
        "Dieser Knoten veröffentlicht für:",
        "This node publishes for:",
    ),
    ("eigene Organisation", "own organisation"),
    ("betreutes Mitglied", "hosted member"),
    ("Sie sind angemeldet.", "You are signed in."),
    (
        "Die Oberfläche ist im Netz erreichbar; zum Veröffentlichen melden Sie sich mit dem Admin-Token an.",
        "The interface can be reached over the network; to publish, sign in with the admin token.",
    ),
    ("Schnittstelle", "API"),
    ("Dieselben Daten als JSON:", "The same data as JSON:"),
    // Shell, request guard and stewardship (shell.rs, lib.rs, stewardship.rs)
    (
        "Der Knoten konnte die Seite nicht erstellen. Details stehen im Protokoll des Knotens.",
        "The node could not build the page. The node's log has the details.",
    ),
    (
        "Veröffentlichen nicht möglich",
        "Publishing is not possible",
    ),
    ("Keine gültige Produktkennung", "Not a valid product id"),
    (
        "Das Formular wurde von einer anderen Website abgeschickt.",
        "The form was sent from another website.",
    ),
    (
        "Die Eingaben sind zu umfangreich (höchstens 256 KiB).",
        "The input is too large (at most 256 KiB).",
    ),
    (
        "Das Formular ist abgelaufen oder stammt nicht von dieser Seite. Bitte laden Sie die Seite neu und senden Sie es erneut.",
        "The form has expired or does not come from this page. Please reload the page and send it again.",
    ),
    (
        "Unter dieser Adresse gibt es keine Seite. Vielleicht hilft die Suche auf der Startseite.",
        "There is no page at this address. The search on the home page may help.",
    ),
    (
        "Unter dieser Adresse gibt es keine Seite.",
        "There is no page at this address.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_german_text_has_one_translation() {
        let mut seen = std::collections::HashSet::new();
        for (de, en) in EN {
            assert!(seen.insert(*de), "{de:?} translated twice");
            assert!(!en.is_empty(), "{de:?} has an empty translation");
        }
    }

    #[test]
    fn english_falls_back_to_german() {
        assert_eq!(Lang::En.tr("Produkte"), "Products");
        assert_eq!(Lang::De.tr("Produkte"), "Produkte");
        assert_eq!(Lang::En.tr("Gibt es nicht"), "Gibt es nicht");
        assert_eq!(Lang::parse("en"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
    }

    #[test]
    fn entries_are_found_by_their_german_text() {
        assert!(has_english("Produkte"));
        assert!(has_english("Status"));
        assert!(!has_english("Gibt es nicht"));
        assert!(!has_english("Products"));
    }
}
