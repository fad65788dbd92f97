//! The OZG catalogue and the LeiKa Leistungen within it: what a task key means.
//!
//! A product's or deployment's task is a 14-digit LeiKa key, an OZG-Leistung (`ozg:10513`) or a
//! free category ([`crate::schema::Task`]). This module gives the keys their names and places
//! them in the OZG's structure: LeiKa Leistung → OZG-Leistung → Lebens- or Unternehmenslage →
//! Themenfeld.
//!
//! Compiled in from `protocol/data/ozg_leika_2019.tsv`, which `protocol/tests/ozg.rs` makes
//! from the KDN's OZG-Datenbank NRW (dump of December 2019, repository
//! `kdn-nrw/OZG-Datenbank-NRW`; [`SOURCE`]): 4,813 LeiKa Leistungen with a key (the OZG
//! subset of LeiKa, which had about 8,557 entries in 2021), 557 OZG-Leistungen, 55 Lebens- and
//! Unternehmenslagen, 14 Themenfelder. A LeiKa key that is not in this subset stays a valid
//! task; it is shown as unknown here ([`Catalogue::leika`] gives `None`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Where the catalogue comes from, shown with it.
pub const SOURCE: &str = "OZG-Umsetzungskatalog und LeiKa-Leistungen (OZG-Auszug) aus der OZG-Datenbank NRW der KDN (Stand Dezember 2019)";

/// A Themenfeld of the OZG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Themenfeld {
    /// Its number in the source.
    pub id: u32,
    /// Its name (`Bauen & Wohnen`).
    pub name: String,
}

/// A Lebens- or Unternehmenslage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lebenslage {
    /// Its number in the source.
    pub id: u32,
    /// Its Themenfeld.
    pub themenfeld: u32,
    /// Its name.
    pub name: String,
}

/// An OZG-Leistung.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OzgLeistung {
    /// Its five-digit id (`10513`).
    pub id: u32,
    /// Its name (`Abbruchgenehmigung`).
    pub name: String,
    /// Its Lebenslage, when the source names one.
    pub lebenslage: Option<u32>,
    /// The name of its Themenfeld.
    pub themenfeld: String,
}

/// A LeiKa Leistung.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeikaLeistung {
    /// The 14-digit LeiKa key.
    pub key: String,
    /// Its name.
    pub name: String,
    /// The LeiKa Typ (`1`, `2/3`, `4`, …; empty when the source has none).
    pub typ: String,
    /// The OZG-Leistung it belongs to, when the source names one.
    pub ozg: Option<u32>,
}

/// The whole catalogue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalogue {
    /// Themenfelder by id.
    pub themenfelder: BTreeMap<u32, Themenfeld>,
    /// Lebens- and Unternehmenslagen by id.
    pub lebenslagen: BTreeMap<u32, Lebenslage>,
    /// OZG-Leistungen by id.
    pub ozg: BTreeMap<u32, OzgLeistung>,
    /// LeiKa Leistungen by key.
    pub leika: BTreeMap<String, LeikaLeistung>,
}

/// The first line of the compact form.
pub const COMPACT_MAGIC: &str = "allmende-ozg-leika v1";

/// The edition of the compiled-in catalogue (the dump it was made from).
pub const EDITION: &str = "KDN OZG-Datenbank NRW, 2019-12";

/// What a task key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskRef<'a> {
    /// A LeiKa Leistung of the catalogue.
    Leika(&'a LeikaLeistung),
    /// A 14-digit key this catalogue does not hold.
    UnknownLeika,
    /// An OZG-Leistung (`ozg:10513`).
    Ozg(&'a OzgLeistung),
    /// `ozg:` with an id this catalogue does not hold.
    UnknownOzg,
    /// A free category.
    Free,
}

impl Catalogue {
    /// The catalogue compiled in.
    pub fn shipped() -> &'static Catalogue {
        static DATA: OnceLock<Catalogue> = OnceLock::new();
        DATA.get_or_init(|| {
            Catalogue::from_compact(include_str!("../data/ozg_leika_2019.tsv")).unwrap_or_default()
        })
    }

    /// A LeiKa Leistung by key.
    pub fn leika(&self, key: &str) -> Option<&LeikaLeistung> {
        self.leika.get(key)
    }

    /// What a task (as written in a record) names.
    pub fn task(&self, task: &str) -> TaskRef<'_> {
        let t = task.trim();
        if t.len() == 14 && t.bytes().all(|b| b.is_ascii_digit()) {
            return self.leika(t).map_or(TaskRef::UnknownLeika, TaskRef::Leika);
        }
        if let Some(id) = t.strip_prefix("ozg:") {
            return id
                .trim()
                .parse::<u32>()
                .ok()
                .and_then(|id| self.ozg.get(&id))
                .map_or(TaskRef::UnknownOzg, TaskRef::Ozg);
        }
        TaskRef::Free
    }

    /// The OZG-Leistung a task belongs to: itself, or its LeiKa Leistung's.
    pub fn ozg_of(&self, task: &str) -> Option<&OzgLeistung> {
        match self.task(task) {
            TaskRef::Ozg(o) => Some(o),
            TaskRef::Leika(l) => l.ozg.and_then(|id| self.ozg.get(&id)),
            _ => None,
        }
    }

    /// The Lebenslage of a task's OZG-Leistung.
    pub fn lebenslage_of(&self, task: &str) -> Option<&Lebenslage> {
        self.ozg_of(task)
            .and_then(|o| o.lebenslage)
            .and_then(|id| self.lebenslagen.get(&id))
    }

    /// The name to show for a task: the LeiKa or OZG name, or the free text itself.
    pub fn task_name<'a>(&'a self, task: &'a str) -> &'a str {
        match self.task(task) {
            TaskRef::Leika(l) => &l.name,
            TaskRef::Ozg(o) => &o.name,
            _ => task,
        }
    }

    /// Reads the compact form (tab-separated: `T id name`, `B id themenfeld name`,
    /// `O id name lebenslage themenfeld`, `L key name typ ozg`).
    pub fn from_compact(text: &str) -> Result<Catalogue, String> {
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, first)) if first.starts_with(COMPACT_MAGIC) => {}
            _ => return Err(format!("the first line must start with {COMPACT_MAGIC:?}")),
        }
        let mut c = Catalogue::default();
        for (i, line) in lines {
            let n = i + 1;
            let f: Vec<&str> = line.split('\t').collect();
            let num = |s: &str| -> Result<u32, String> {
                s.parse()
                    .map_err(|_| format!("line {n}: {s:?} is not a number"))
            };
            let opt = |s: &str| -> Result<Option<u32>, String> {
                if s.is_empty() {
                    Ok(None)
                } else {
                    num(s).map(Some)
                }
            };
            match f.as_slice() {
                ["T", id, name] => {
                    let id = num(id)?;
                    c.themenfelder.insert(
                        id,
                        Themenfeld {
                            id,
                            name: (*name).into(),
                        },
                    );
                }
                ["B", id, tf, name] => {
                    let id = num(id)?;
                    c.lebenslagen.insert(
                        id,
                        Lebenslage {
                            id,
                            themenfeld: num(tf)?,
                            name: (*name).into(),
                        },
                    );
                }
                ["O", id, name, ll, tf] => {
                    let id = num(id)?;
                    c.ozg.insert(
                        id,
                        OzgLeistung {
                            id,
                            name: (*name).into(),
                            lebenslage: opt(ll)?,
                            themenfeld: (*tf).into(),
                        },
                    );
                }
                ["L", key, name, typ, ozg] => {
                    c.leika.insert(
                        (*key).into(),
                        LeikaLeistung {
                            key: (*key).into(),
                            name: (*name).into(),
                            typ: (*typ).into(),
                            ozg: opt(ozg)?,
                        },
                    );
                }
                _ => return Err(format!("line {n}: not a catalogue record: {line:?}")),
            }
        }
        Ok(c)
    }

    /// The compact form.
    pub fn to_compact(&self) -> String {
        let mut out = format!("{COMPACT_MAGIC}\t2019-12\n");
        for t in self.themenfelder.values() {
            out.push_str(&format!("T\t{}\t{}\n", t.id, t.name));
        }
        for b in self.lebenslagen.values() {
            out.push_str(&format!("B\t{}\t{}\t{}\n", b.id, b.themenfeld, b.name));
        }
        for o in self.ozg.values() {
            let ll = o.lebenslage.map(|l| l.to_string()).unwrap_or_default();
            out.push_str(&format!(
                "O\t{}\t{}\t{}\t{}\n",
                o.id, o.name, ll, o.themenfeld
            ));
        }
        for l in self.leika.values() {
            let ozg = l.ozg.map(|o| o.to_string()).unwrap_or_default();
            out.push_str(&format!("L\t{}\t{}\t{}\t{}\n", l.key, l.name, l.typ, ozg));
        }
        out
    }
}
