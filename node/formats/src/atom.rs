//! Atom feeds (RFC 4287) of the events around a product, a task, an organisation or a region
//! (`allmende_catalog::follow`), and the German sentences that describe an event, shared with
//! the web UI (`docs/feeds.md`).
//!
//! Written by hand rather than through a feed crate: the format is a dozen elements, and what
//! matters is escaping every text that came from a peer, which [`text`] does (XML's five
//! special characters, and characters XML 1.0 does not allow at all, such as most control
//! characters, are dropped). The tests read every feed back with a maintained Atom parser.
//!
//! Threat: names, versions and texts in records are chosen by their authors; they can hold
//! markup or control characters, which end up as inert text. Entry ids are `tag:` URIs from
//! the record's document, key (percent-encoded) and content digest, so they are stable and
//! unique; times are the clamped ones of the catalog.

use std::fmt::Write as _;

use allmende_catalog::follow::Event;

/// What the feed as a whole is.
#[derive(Debug, Clone)]
pub struct FeedMeta<'a> {
    /// The feed's stable id (a `tag:` URI).
    pub id: &'a str,
    /// Its title.
    pub title: &'a str,
    /// The feed's own absolute URL (`rel="self"`).
    pub self_url: &'a str,
    /// The page it follows, absolute (`rel="alternate"`).
    pub page_url: &'a str,
    /// The node's base URL (`http://host:port`), for links to products.
    pub base: &'a str,
    /// Used as `updated` when there is no event (Unix seconds).
    pub now: i64,
}

/// `s` as XML character data: `&`, `<`, `>`, `"` and `'` escaped, characters XML 1.0 does not
/// allow dropped.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            '\u{7f}'..='\u{9f}' => {}
            '\u{fffe}' | '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Unix seconds as an RFC 3339 time in UTC (`2026-12-06T15:04:05Z`).
pub fn rfc3339(unix: i64) -> String {
    crate::civil::time_of_unix(unix)
}

fn product_label(e: &Event) -> String {
    e.product_name
        .clone()
        .unwrap_or_else(|| format!("Produkt {}", &e.product[..12.min(e.product.len())]))
}

fn org_label(e: &Event) -> String {
    e.org_name
        .clone()
        .unwrap_or_else(|| format!("Organisation {}", &e.org[..12.min(e.org.len())]))
}

fn field<'a>(e: &'a Event, name: &str) -> Option<&'a serde_json::Value> {
    e.record.get(name).filter(|v| !v.is_null())
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// The German title of an event ("Stadt Musterstadt nutzt XBau-Antragsdienst").
pub fn title(e: &Event) -> String {
    let p = product_label(e);
    let o = org_label(e);
    match e.kind.as_str() {
        "deployment" => match field(e, "status").and_then(|v| v.as_str()) {
            Some("production") => format!("{o} nutzt {p}"),
            Some("pilot") => format!("{o} erprobt {p}"),
            Some("planned") => format!("{o} plant {p}"),
            Some("retired") => format!("{o} hat {p} eingestellt"),
            _ => format!("{o}: Einsatz von {p} geändert"),
        },
        "rating" => format!("Bewertung von {p} durch {o}"),
        "reuse" => format!("Nachnutzungsbericht zu {p} von {o}"),
        "release" => {
            let mut parts = Vec::new();
            if let Some(v) = field(e, "current_version").and_then(|v| v.as_str()) {
                parts.push(format!("aktuelle Version {v}"));
            }
            if let Some(d) = field(e, "support_ends").and_then(|v| v.as_str()) {
                parts.push(format!("Support endet am {d}"));
            }
            format!("{p}: {}", parts.join(", "))
        }
        "proposal" => format!("Vorschlag zu {p} von {o}"),
        "decision" => match field(e, "decision").and_then(|v| v.as_str()) {
            Some("accepted") => format!("{p}: Vorschlag von {o} angenommen"),
            _ => format!("{p}: Vorschlag von {o} abgelehnt"),
        },
        _ => format!("{p}: Eintrag geändert"),
    }
}

/// A short German summary of the event's record (plain text).
pub fn summary(e: &Event) -> String {
    match e.kind.as_str() {
        "deployment" => {
            let mut s = String::new();
            if let Some(v) = field(e, "version").and_then(|v| v.as_str()) {
                let _ = write!(s, "Version {v}. ");
            }
            if let Some(v) = field(e, "since").and_then(|v| v.as_str()) {
                let _ = write!(s, "Im Einsatz seit {v}.");
            }
            s.trim().to_owned()
        }
        "rating" => {
            let mut s = String::new();
            if let Some(scores) = field(e, "scores").and_then(|v| v.as_object()) {
                let n = scores.len().max(1) as f64;
                let mean: f64 = scores.values().filter_map(|v| v.as_f64()).sum::<f64>() / n;
                let _ = write!(s, "Mittel {:.1} von 5. ", mean);
            }
            match field(e, "recommend").and_then(|v| v.as_bool()) {
                Some(true) => s.push_str("Empfohlen. "),
                Some(false) => s.push_str("Nicht empfohlen. "),
                None => {}
            }
            if let Some(t) = field(e, "text").and_then(|v| v.as_str()) {
                s.push_str(&clip(t, 500));
            }
            s.trim().to_owned()
        }
        "reuse" => {
            let outcome = match field(e, "outcome").and_then(|v| v.as_str()) {
                Some("production") => "in Produktion",
                Some("in-progress") => "laufend",
                Some("abandoned") => "abgebrochen",
                _ => "ohne Angabe",
            };
            let mut s = format!("Ergebnis: {outcome}.");
            if let Some(t) = field(e, "text").and_then(|v| v.as_str()) {
                s.push(' ');
                s.push_str(&clip(t, 500));
            }
            s
        }
        "release" => title(e),
        "proposal" | "decision" => {
            let fields: Vec<&str> = field(e, "fields")
                .and_then(|v| v.as_array())
                .map(|a| a.iter().filter_map(|f| f.as_str()).collect())
                .unwrap_or_default();
            format!("Felder: {}", fields.join(", "))
        }
        _ => String::from("Die Angaben des Eintrags wurden geändert."),
    }
}

/// The Atom document of `events` (newest first, as the catalog answers them).
pub fn feed(meta: &FeedMeta<'_>, events: &[Event]) -> String {
    let updated = events.iter().map(|e| e.at).max().unwrap_or(meta.now);
    let mut x = String::with_capacity(1024 + events.len() * 600);
    x.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    x.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"de\">\n");
    let _ = writeln!(x, "  <id>{}</id>", text(meta.id));
    let _ = writeln!(x, "  <title type=\"text\">{}</title>", text(meta.title));
    let _ = writeln!(x, "  <updated>{}</updated>", rfc3339(updated));
    let _ = writeln!(
        x,
        "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>",
        text(meta.self_url)
    );
    let _ = writeln!(
        x,
        "  <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>",
        text(meta.page_url)
    );
    x.push_str("  <author><name>Allmende-Knoten</name></author>\n");
    x.push_str("  <generator>Allmende</generator>\n");
    for e in events {
        x.push_str("  <entry>\n");
        let _ = writeln!(x, "    <id>{}</id>", text(&e.id));
        let _ = writeln!(x, "    <title type=\"text\">{}</title>", text(&title(e)));
        let _ = writeln!(x, "    <updated>{}</updated>", rfc3339(e.at));
        let _ = writeln!(
            x,
            "    <link rel=\"alternate\" type=\"text/html\" href=\"{}/produkte/{}\"/>",
            text(meta.base),
            text(&e.product)
        );
        let _ = writeln!(
            x,
            "    <author><name>{}</name></author>",
            text(&org_label(e))
        );
        let _ = writeln!(x, "    <category term=\"{}\"/>", text(&e.kind));
        let s = summary(e);
        if !s.is_empty() {
            let _ = writeln!(x, "    <summary type=\"text\">{}</summary>", text(&s));
        }
        x.push_str("  </entry>\n");
    }
    x.push_str("</feed>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_515_200), "2026-12-06T00:00:00Z");
        assert_eq!(rfc3339(1_796_518_805), "2026-12-06T01:00:05Z");
    }

    #[test]
    fn text_escapes_markup_and_drops_what_xml_forbids() {
        assert_eq!(
            text("<b>&\"'\u{0}\u{1b}\u{7f}\u{fffe}ok\n"),
            "&lt;b&gt;&amp;&quot;&apos;ok\n"
        );
    }
}
