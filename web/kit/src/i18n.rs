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
}
