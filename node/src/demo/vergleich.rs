//! Demo data for the Nachbarvergleich (`docs/nachbarvergleich.md`): a third Gemeinde of the
//! Kreis Euskirchen of Hellenthal's size class (Nettersheim, hosted by the KRZ West), and
//! deployments that make the comparison say something: Nettersheim runs Bauantrag Online and
//! the Kita-Navigator, which Hellenthal lacks; Nettersheim, Dahlem and the Kreis retired the
//! Sitzungsdienst Kommunal (neighbours left it).

use allmende_protocol::schema::DeploymentStatus::{self, Production, Retired};

/// A deployment (with a rating unless every score is 0), as the demo's own list has them,
/// naming organisation (slug) and product (name) instead of their indexes.
pub(super) struct Extra {
    pub(super) org: &'static str,
    pub(super) product: &'static str,
    pub(super) status: DeploymentStatus,
    pub(super) since: &'static str,
    pub(super) yearly: u64,
    /// Operated by the KRZ West.
    pub(super) at_krz: bool,
    /// Functionality, usability, interoperability, support, stability (0 = not rated).
    pub(super) scores: [u8; 5],
    pub(super) text: &'static str,
}

const NETTERSHEIM: &str = "nettersheim";
const DAHLEM: &str = "dahlem";
const KREIS: &str = "kreis-euskirchen";

/// Deployments added to the demo's own list.
pub(super) const USES: &[Extra] = &[
    Extra {
        org: NETTERSHEIM,
        product: "Meldewesen Plus",
        status: Production,
        since: "2017-01-01",
        yearly: 6_100,
        at_krz: true,
        scores: [3, 3, 3, 4, 4],
        text: "Wie bei den Nachbargemeinden beim Rechenzentrum betrieben.",
    },
    Extra {
        org: NETTERSHEIM,
        product: "Bauantrag Online",
        status: Production,
        since: "2023-05-01",
        yearly: 0,
        at_krz: false,
        scores: [4, 4, 4, 4, 4],
        text: "Bauanträge kommen digital; wir leiten sie an die Bauaufsicht des Kreises.",
    },
    Extra {
        org: NETTERSHEIM,
        product: "ePayBL-Anbindung",
        status: Production,
        since: "2021-06-01",
        yearly: 1_000,
        at_krz: true,
        scores: [4, 4, 4, 4, 4],
        text: "",
    },
    Extra {
        org: NETTERSHEIM,
        product: "Ratsinfo Offen",
        status: Production,
        since: "2022-03-01",
        yearly: 1_400,
        at_krz: true,
        scores: [4, 4, 4, 0, 4],
        text: "",
    },
    Extra {
        org: NETTERSHEIM,
        product: "Kita-Navigator Offen",
        status: Production,
        since: "2022-08-01",
        yearly: 3_500,
        at_krz: true,
        scores: [4, 5, 4, 4, 4],
        text: "Eltern und Kitas kamen schnell zurecht.",
    },
    Extra {
        org: NETTERSHEIM,
        product: "Sitzungsdienst Kommunal",
        status: Retired,
        since: "2015-01-01",
        yearly: 2_000,
        at_krz: false,
        scores: [2, 2, 3, 2, 3],
        text: "Zugunsten des gemeinsamen Ratsinformationssystems mit dem Kreis abgelöst.",
    },
    Extra {
        org: DAHLEM,
        product: "Sitzungsdienst Kommunal",
        status: Retired,
        since: "2016-01-01",
        yearly: 1_800,
        at_krz: false,
        scores: [0, 0, 0, 0, 0],
        text: "",
    },
    Extra {
        org: KREIS,
        product: "Sitzungsdienst Kommunal",
        status: Retired,
        since: "2014-01-01",
        yearly: 12_000,
        at_krz: false,
        scores: [0, 0, 0, 0, 0],
        text: "",
    },
];
