//! The Destatis Gemeindeverzeichnis (GV100AD): Germany's Länder, Kreise and Gemeinden with
//! their official keys, names, area and population, read from the fixed-width `.ASC` file
//! that Destatis publishes (UTF-8, one record a line, columns counted in characters).
//!
//! Record layout (1-based columns; Destatis, "Datensatzbeschreibung GV100AD"):
//!
//! | columns | field |
//! |---|---|
//! | 1–2 | record type: `10` Land, `20` Regierungsbezirk, `30` Region, `40` Kreis, `50` Gemeindeverband, `60` Gemeinde |
//! | 3–10 | territorial status (`YYYYMMDD`) |
//! | 11–22 | the key, as far as the type has one: Land 2 digits, Kreis 5; a Gemeinde's AGS in 11–18 and its Gemeindeverband in 19–22 |
//! | 23–72 | name |
//! | 123–124 | Textkennzeichen (kind of area, e.g. `61` kreisfreie Stadt, `63` Stadt, `64` Gemeinde) |
//! | 129–139 | area in hectares (Gemeinden) |
//! | 140–150 | population (Gemeinden) |
//! | 166–170 | postcode of the administrative seat (Gemeinden) |
//!
//! A Gemeinde's Amtlicher Regionalschlüssel (ARS) is Kreis, Gemeindeverband and Gemeinde:
//! columns 11–15, 19–22 and 16–18. (Reading the twelve digits as the ARS itself, as the
//! convenience CSV of `shared/refdata` does, gives 1,208 Gemeinden the key of another.) Regierungsbezirke, Regionen and Gemeindeverbände are read
//! for their form and otherwise skipped: the catalog speaks of Länder, Kreise and Gemeinden.
//!
//! [`parse`] reads a whole file or fails with the first wrong line, naming its number, the
//! columns and the field; it never returns part of a file.
//!
//! The directory of 30.11.2021 (population of 31.12.2020) is compiled in ([`shipped`], in the
//! compact form of `protocol/data/gv100ad_20211130.tsv`, made from Destatis' file by this
//! parser). Source: © Statistisches Bundesamt (Destatis), 2021 ([`ATTRIBUTION`]).
//!
//! Existence is checked where a record is written locally (`allmende init`, the profile and
//! attestation forms and endpoints), never when a record arrives from a peer: nodes may hold
//! different editions of the directory, and validity must be the same on every node.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// A Land of the Gemeindeverzeichnis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Land {
    /// The two-digit key (`05` Nordrhein-Westfalen).
    pub key: String,
    /// The official name.
    pub name: String,
}

/// A Kreis or kreisfreie Stadt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kreis {
    /// The five-digit key (`05334` Städteregion Aachen).
    pub key: String,
    /// The official name.
    pub name: String,
    /// The Textkennzeichen (kind of Kreis).
    pub textkennzeichen: u8,
}

/// A Gemeinde.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gemeinde {
    /// The eight-digit Amtlicher Gemeindeschlüssel.
    pub ags: String,
    /// The twelve-digit Amtlicher Regionalschlüssel.
    pub ars: String,
    /// The official name (`Aachen, Stadt`).
    pub name: String,
    /// The Textkennzeichen (kind of Gemeinde).
    pub textkennzeichen: u8,
    /// Area in hectares.
    pub area_ha: u64,
    /// Population at the file's reference date (0 for uninhabited areas).
    pub population: u64,
    /// Postcode of the administrative seat, when given.
    pub postcode: Option<String>,
}

/// A whole Gemeindeverzeichnis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gemeindeverzeichnis {
    /// The territorial status (`YYYYMMDD`) all records share.
    pub status: String,
    /// Länder by key.
    pub laender: BTreeMap<String, Land>,
    /// Kreise by key.
    pub kreise: BTreeMap<String, Kreis>,
    /// Gemeinden by AGS.
    pub gemeinden: BTreeMap<String, Gemeinde>,
}

/// Why a file is not a readable Gemeindeverzeichnis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gv100Error {
    /// The line (1-based), 0 for the file as a whole.
    pub line: usize,
    /// The columns (1-based, inclusive) of the field, when one is wrong.
    pub columns: Option<(usize, usize)>,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for Gv100Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.columns) {
            (0, _) => write!(f, "GV100AD file: {}", self.reason),
            (line, Some((a, b))) => {
                write!(f, "GV100AD line {line}, columns {a}-{b}: {}", self.reason)
            }
            (line, None) => write!(f, "GV100AD line {line}: {}", self.reason),
        }
    }
}

impl std::error::Error for Gv100Error {}

/// The longest file read (the 2021 file has 3.6 MB).
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;

/// One line, as characters, with its number for errors.
struct Line<'a> {
    number: usize,
    chars: Vec<char>,
    _text: &'a str,
}

impl Line<'_> {
    fn err(&self, columns: (usize, usize), reason: impl Into<String>) -> Gv100Error {
        Gv100Error {
            line: self.number,
            columns: Some(columns),
            reason: reason.into(),
        }
    }

    /// Columns `a..=b` (1-based), as written (spaces kept).
    fn field(&self, a: usize, b: usize) -> String {
        self.chars
            .iter()
            .skip(a - 1)
            .take(b + 1 - a)
            .collect::<String>()
    }

    /// Columns `a..=b` must be `n` digits followed by spaces only.
    fn digits(&self, a: usize, b: usize, n: usize, what: &str) -> Result<String, Gv100Error> {
        let f = self.field(a, b);
        let (head, tail) = f.split_at(n.min(f.len()));
        if head.len() != n || !head.bytes().all(|c| c.is_ascii_digit()) || !tail.trim().is_empty() {
            return Err(self.err((a, b), format!("{what} must be {n} digits, found {f:?}")));
        }
        Ok(head.to_owned())
    }

    /// Columns `a..=b` as a number; spaces only reads as `None`.
    fn number(&self, a: usize, b: usize, what: &str) -> Result<Option<u64>, Gv100Error> {
        let f = self.field(a, b);
        let t = f.trim();
        if t.is_empty() {
            return Ok(None);
        }
        t.parse()
            .map(Some)
            .map_err(|_| self.err((a, b), format!("{what} is not a number: {f:?}")))
    }

    fn name(&self) -> Result<String, Gv100Error> {
        let n = self.field(23, 72).trim().to_owned();
        if n.is_empty() {
            return Err(self.err((23, 72), "the name is empty"));
        }
        Ok(n)
    }
}

/// Reads a GV100AD `.ASC` file (its text; a byte order mark and CRLF line ends are allowed).
pub fn parse(text: &str) -> Result<Gemeindeverzeichnis, Gv100Error> {
    let whole = |reason: String| Gv100Error {
        line: 0,
        columns: None,
        reason,
    };
    if text.len() > MAX_FILE_BYTES {
        return Err(whole(format!(
            "{} bytes, more than the {MAX_FILE_BYTES} a Gemeindeverzeichnis needs",
            text.len()
        )));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut status: Option<String> = None;
    let mut laender = BTreeMap::new();
    let mut kreise = BTreeMap::new();
    let mut gemeinden = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.trim().is_empty() {
            continue;
        }
        let line = Line {
            number: i + 1,
            chars: raw.chars().collect(),
            _text: raw,
        };
        if line.chars.len() < 72 {
            return Err(Gv100Error {
                line: line.number,
                columns: None,
                reason: format!(
                    "{} characters; a GV100AD record has at least 72 (type, status, key, name)",
                    line.chars.len()
                ),
            });
        }
        let kind = line.digits(1, 2, 2, "the record type")?;
        let date = line.digits(3, 10, 8, "the territorial status")?;
        match &status {
            None => status = Some(date.clone()),
            Some(s) if *s != date => {
                return Err(line.err(
                    (3, 10),
                    format!("territorial status {date} differs from {s} of the lines before"),
                ));
            }
            Some(_) => {}
        }
        match kind.as_str() {
            "10" => {
                let key = line.digits(11, 22, 2, "a Land's key")?;
                let land = Land {
                    key: key.clone(),
                    name: line.name()?,
                };
                if laender.insert(key.clone(), land).is_some() {
                    return Err(line.err((11, 22), format!("Land {key} appears twice")));
                }
            }
            "20" | "30" | "50" => {
                // Regierungsbezirke, Regionen and Gemeindeverbände: only the form is checked.
                let key = line.field(11, 22);
                if !key.starts_with(|c: char| c.is_ascii_digit())
                    || !key.chars().all(|c| c.is_ascii_digit() || c == ' ')
                {
                    return Err(
                        line.err((11, 22), format!("the key must be digits, found {key:?}"))
                    );
                }
            }
            "40" => {
                let key = line.digits(11, 22, 5, "a Kreis's key")?;
                if !laender.contains_key(&key[..2]) {
                    return Err(line.err(
                        (11, 12),
                        format!("Kreis {key} names no Land listed before it"),
                    ));
                }
                let textkennzeichen = line
                    .number(123, 124, "the Textkennzeichen")?
                    .and_then(|n| u8::try_from(n).ok())
                    .ok_or_else(|| line.err((123, 124), "the Textkennzeichen is missing"))?;
                let kreis = Kreis {
                    key: key.clone(),
                    name: line.name()?,
                    textkennzeichen,
                };
                if kreise.insert(key.clone(), kreis).is_some() {
                    return Err(line.err((11, 22), format!("Kreis {key} appears twice")));
                }
            }
            "60" => {
                let key = line.digits(11, 22, 12, "a Gemeinde's key")?;
                // Columns 11–18 hold the AGS, 19–22 the Gemeindeverband; the ARS puts the
                // Verband between Kreis and Gemeinde.
                let ags = key[..8].to_owned();
                let ars = format!("{}{}{}", &key[..5], &key[8..], &key[5..8]);
                // A few areas belong to no Kreis (07000999, the German-Luxembourgish
                // condominium); every Gemeinde belongs to a Land.
                if !laender.contains_key(&ags[..2]) {
                    return Err(line.err(
                        (11, 12),
                        format!("Gemeinde {ags} names no Land listed before it"),
                    ));
                }
                let textkennzeichen = line
                    .number(123, 124, "the Textkennzeichen")?
                    .and_then(|n| u8::try_from(n).ok())
                    .ok_or_else(|| line.err((123, 124), "the Textkennzeichen is missing"))?;
                let area_ha = line
                    .number(129, 139, "the area")?
                    .ok_or_else(|| line.err((129, 139), "the area is missing"))?;
                let population = line
                    .number(140, 150, "the population")?
                    .ok_or_else(|| line.err((140, 150), "the population is missing"))?;
                let postcode = line.field(166, 170).trim().to_owned();
                let postcode = if postcode.is_empty() {
                    None
                } else if postcode.len() == 5 && postcode.bytes().all(|b| b.is_ascii_digit()) {
                    Some(postcode)
                } else {
                    return Err(line.err(
                        (166, 170),
                        format!("the postcode {postcode:?} is not 5 digits"),
                    ));
                };
                let g = Gemeinde {
                    ags: ags.clone(),
                    ars,
                    name: line.name()?,
                    textkennzeichen,
                    area_ha,
                    population,
                    postcode,
                };
                if gemeinden.insert(ags.clone(), g).is_some() {
                    return Err(line.err((11, 22), format!("Gemeinde {ags} appears twice")));
                }
            }
            other => {
                return Err(line.err(
                    (1, 2),
                    format!("unknown record type {other} (known: 10, 20, 30, 40, 50, 60)"),
                ));
            }
        }
    }
    let status = status.ok_or_else(|| whole("the file holds no record".into()))?;
    if gemeinden.is_empty() {
        return Err(whole("the file lists no Gemeinde (record type 60)".into()));
    }
    Ok(Gemeindeverzeichnis {
        status,
        laender,
        kreise,
        gemeinden,
    })
}

/// The first line of the compact form ([`Gemeindeverzeichnis::to_compact`]).
pub const COMPACT_MAGIC: &str = "allmende-gv100ad v1";

impl Gemeindeverzeichnis {
    /// The compact form shipped with Allmende: one record a line, tab-separated (`L key name`,
    /// `K key name textkennzeichen`, `G ags ars name textkennzeichen area_ha population
    /// postcode`), after a first line with [`COMPACT_MAGIC`] and the territorial status.
    pub fn to_compact(&self) -> String {
        let mut out = format!("{COMPACT_MAGIC}\t{}\n", self.status);
        for l in self.laender.values() {
            out.push_str(&format!("L\t{}\t{}\n", l.key, l.name));
        }
        for k in self.kreise.values() {
            out.push_str(&format!(
                "K\t{}\t{}\t{}\n",
                k.key, k.name, k.textkennzeichen
            ));
        }
        for g in self.gemeinden.values() {
            out.push_str(&format!(
                "G\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                g.ags,
                g.ars,
                g.name,
                g.textkennzeichen,
                g.area_ha,
                g.population,
                g.postcode.as_deref().unwrap_or("")
            ));
        }
        out
    }

    /// Reads the compact form.
    pub fn from_compact(text: &str) -> Result<Self, Gv100Error> {
        let err = |line: usize, reason: String| Gv100Error {
            line,
            columns: None,
            reason,
        };
        let mut lines = text.lines().enumerate();
        let status = match lines.next() {
            Some((_, first)) => match first.split_once('\t') {
                Some((COMPACT_MAGIC, status)) => status.to_owned(),
                _ => {
                    return Err(err(
                        1,
                        format!("the first line must be {COMPACT_MAGIC:?} and the status"),
                    ));
                }
            },
            None => return Err(err(0, "empty".into())),
        };
        let mut v = Gemeindeverzeichnis {
            status,
            laender: BTreeMap::new(),
            kreise: BTreeMap::new(),
            gemeinden: BTreeMap::new(),
        };
        for (i, line) in lines {
            let f: Vec<&str> = line.split('\t').collect();
            let n = i + 1;
            let num = |s: &str, what: &str| -> Result<u64, Gv100Error> {
                s.parse()
                    .map_err(|_| err(n, format!("{what} is not a number: {s:?}")))
            };
            match f.as_slice() {
                ["L", key, name] => {
                    v.laender.insert(
                        (*key).into(),
                        Land {
                            key: (*key).into(),
                            name: (*name).into(),
                        },
                    );
                }
                ["K", key, name, tk] => {
                    let textkennzeichen = u8::try_from(num(tk, "the Textkennzeichen")?)
                        .map_err(|_| err(n, "the Textkennzeichen is too large".into()))?;
                    v.kreise.insert(
                        (*key).into(),
                        Kreis {
                            key: (*key).into(),
                            name: (*name).into(),
                            textkennzeichen,
                        },
                    );
                }
                ["G", ags, ars, name, tk, area, pop, plz] => {
                    let textkennzeichen = u8::try_from(num(tk, "the Textkennzeichen")?)
                        .map_err(|_| err(n, "the Textkennzeichen is too large".into()))?;
                    v.gemeinden.insert(
                        (*ags).into(),
                        Gemeinde {
                            ags: (*ags).into(),
                            ars: (*ars).into(),
                            name: (*name).into(),
                            textkennzeichen,
                            area_ha: num(area, "the area")?,
                            population: num(pop, "the population")?,
                            postcode: (!plz.is_empty()).then(|| (*plz).to_owned()),
                        },
                    );
                }
                _ => return Err(err(n, format!("not a compact GV100AD record: {line:?}"))),
            }
        }
        Ok(v)
    }
}

/// The copyright line of the source, shown wherever its figures are.
pub const COPYRIGHT: &str = "© Statistisches Bundesamt (Destatis), 2021";

/// The attribution the source demands, shown with the data (UI sources page, exports).
pub const ATTRIBUTION: &str = "Gemeindeverzeichnis GV100AD: © Statistisches Bundesamt (Destatis), 2021. Vervielfältigung und Verbreitung, auch auszugsweise, mit Quellenangabe gestattet.";

/// The compiled-in directory (territorial status 30.11.2021, population 31.12.2020), read
/// once per process and shared (a node hands the same `Arc` to every reader).
pub fn shipped() -> &'static Arc<Gemeindeverzeichnis> {
    static DATA: OnceLock<Arc<Gemeindeverzeichnis>> = OnceLock::new();
    DATA.get_or_init(|| {
        Arc::new(
            Gemeindeverzeichnis::from_compact(include_str!("../data/gv100ad_20211130.tsv"))
                .unwrap_or_else(|_| Gemeindeverzeichnis {
                    status: String::new(),
                    laender: BTreeMap::new(),
                    kreise: BTreeMap::new(),
                    gemeinden: BTreeMap::new(),
                }),
        )
    })
}

/// Lowercase, umlauts and `ß` folded, everything else but letters and digits a space.
fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        match c {
            'ä' => out.push('a'),
            'ö' => out.push('o'),
            'ü' => out.push('u'),
            'ß' => out.push_str("ss"),
            c if c.is_alphanumeric() => out.push(c),
            _ => out.push(' '),
        }
    }
    out
}

/// Words of a name that say what kind of body it is, not which.
const KIND_WORDS: &[&str] = &[
    "stadt",
    "gemeinde",
    "kreis",
    "landkreis",
    "kreisfreie",
    "hansestadt",
    "markt",
    "demo",
    "der",
    "die",
    "das",
    "am",
    "an",
    "im",
    "in",
    "bei",
    "und",
    "st",
];

/// What an eight-digit key names: a Gemeinde, a Kreis (`KKKKK000`, as a Kreisverwaltung
/// writes its key) or a Land (`LL000000`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area<'a> {
    /// A Gemeinde.
    Gemeinde(&'a Gemeinde),
    /// A Kreis or kreisfreie Stadt.
    Kreis(&'a Kreis),
    /// A Land.
    Land(&'a Land),
}

impl Area<'_> {
    /// The official name.
    pub fn name(&self) -> &str {
        match self {
            Area::Gemeinde(g) => &g.name,
            Area::Kreis(k) => &k.name,
            Area::Land(l) => &l.name,
        }
    }
}

impl Gemeindeverzeichnis {
    /// What `ags` names, if it exists: a Gemeinde first, then a Kreis or Land written with
    /// zeros.
    pub fn area(&self, ags: &str) -> Option<Area<'_>> {
        if let Some(g) = self.gemeinden.get(ags) {
            return Some(Area::Gemeinde(g));
        }
        if let Some(k) = ags.strip_suffix("000").and_then(|k| self.kreise.get(k)) {
            return Some(Area::Kreis(k));
        }
        ags.strip_suffix("000000")
            .and_then(|l| self.laender.get(l))
            .map(Area::Land)
    }

    /// The population of an area: a Gemeinde's, or the sum of a Kreis's or Land's
    /// Gemeinden.
    pub fn population(&self, area: Area<'_>) -> u64 {
        let prefix = match area {
            Area::Gemeinde(g) => return g.population,
            Area::Kreis(k) => &k.key,
            Area::Land(l) => &l.key,
        };
        self.gemeinden
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(prefix.as_str()))
            .map(|(_, g)| g.population)
            .sum()
    }

    /// The Gemeinde with this AGS.
    pub fn gemeinde(&self, ags: &str) -> Option<&Gemeinde> {
        self.gemeinden.get(ags)
    }

    /// The Kreis of a Gemeinde (the first five digits of its AGS).
    pub fn kreis_of(&self, ags: &str) -> Option<&Kreis> {
        self.kreise.get(ags.get(..5)?)
    }

    /// Up to `n` Gemeinden that a writer who gave `ags` (which does not exist) and `name`
    /// probably meant: Gemeinden whose name shares a distinctive word with `name` (those in
    /// the same Kreis as `ags` first, then by population); without such a word, the
    /// Gemeinden of the Kreis that `ags` names, nearest key first.
    pub fn suggest(&self, ags: Option<&str>, name: &str, n: usize) -> Vec<&Gemeinde> {
        let words: Vec<String> = fold(name)
            .split_whitespace()
            .filter(|w| w.chars().count() >= 3 && !KIND_WORDS.contains(w))
            .map(str::to_owned)
            .collect();
        let kreis = ags.and_then(|a| a.get(..5));
        let mut hits: Vec<(&Gemeinde, usize)> = self
            .gemeinden
            .values()
            .filter_map(|g| {
                let gw = fold(&g.name);
                let gw: Vec<&str> = gw.split_whitespace().collect();
                let shared = words.iter().filter(|w| gw.contains(&w.as_str())).count();
                (shared > 0).then_some((g, shared))
            })
            .collect();
        if !hits.is_empty() {
            hits.sort_by(|(a, sa), (b, sb)| {
                sb.cmp(sa)
                    .then_with(|| (Some(&b.ags[..5]) == kreis).cmp(&(Some(&a.ags[..5]) == kreis)))
                    .then_with(|| b.population.cmp(&a.population))
                    .then_with(|| a.ags.cmp(&b.ags))
            });
            return hits.into_iter().take(n).map(|(g, _)| g).collect();
        }
        let (Some(kreis), Some(given)) = (kreis, ags.and_then(|a| a.parse::<u64>().ok())) else {
            return Vec::new();
        };
        let mut same: Vec<&Gemeinde> = self
            .gemeinden
            .range(kreis.to_owned()..)
            .take_while(|(k, _)| k.starts_with(kreis))
            .map(|(_, g)| g)
            .collect();
        same.sort_by_key(|g| g.ags.parse::<u64>().unwrap_or(0).abs_diff(given));
        same.truncate(n);
        same
    }

    /// The sentence that refuses an AGS the directory does not know, with suggestions
    /// ("Meinten Sie 05334002 Aachen, Stadt?").
    pub fn unknown_ags_message(&self, ags: &str, name: &str) -> String {
        let s = self.suggest(Some(ags), name, 3);
        let mut msg = format!(
            "AGS {ags} gibt es im Gemeindeverzeichnis (Stand {}) nicht",
            self.status_date()
        );
        if !s.is_empty() {
            let list: Vec<String> = s.iter().map(|g| format!("{} {}", g.ags, g.name)).collect();
            msg.push_str(&format!(". Meinten Sie {}?", list.join(" oder ")));
        }
        msg
    }

    /// The territorial status as `DD.MM.YYYY`.
    pub fn status_date(&self) -> String {
        match (
            self.status.get(..4),
            self.status.get(4..6),
            self.status.get(6..8),
        ) {
            (Some(y), Some(m), Some(d)) => format!("{d}.{m}.{y}"),
            _ => self.status.clone(),
        }
    }
}
