//! The web UI's HTTP surface against a real node, without a browser: the request guard (Host,
//! CSRF, Origin, body limit), hostile paths and form values, escaping, and that a refused
//! form stores nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cloned_ref_to_slice_refs
)]

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use integration_tests::TestNode;
use integration_tests::raw_http::{get, post, raw};

/// The CSRF cookie the node sets on a first visit.
fn csrf(addr: SocketAddr) -> String {
    let (_, head, _) = get(addr, "/", "");
    head.lines()
        .filter_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .find_map(|c| c.strip_prefix("allmende_csrf="))
        .and_then(|c| c.split(';').next())
        .expect("no CSRF cookie")
        .to_owned()
}

/// A `Cookie` header value for writing in the UI: the CSRF cookie and a session opened with a
/// one-time login link, which the admin token's holder gets from the API.
fn session(addr: SocketAddr, admin_token: &str) -> String {
    let csrf = format!("allmende_csrf={}", csrf(addr));
    let (code, link) = login_link(addr, admin_token);
    assert_eq!(code, 201, "{link}");
    let (code, head, _) = get(addr, link["path"].as_str().unwrap(), &csrf);
    assert_eq!(code, 303, "{head}");
    let sid = set_cookie(&head, "allmende_session").expect("no session cookie");
    format!("{csrf}; {}", sid.split(';').next().unwrap())
}

/// The CSRF token inside a cookie header value from [`session`].
fn csrf_of(cookie: &str) -> String {
    cookie
        .split(';')
        .find_map(|c| c.trim().strip_prefix("allmende_csrf="))
        .expect("no CSRF cookie")
        .to_owned()
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Publishes `n` organisation profiles of `kind` on the repository thread, each under its own
/// root key (secret: `seed` bytes with the index in the first four), named `name(i)`.
fn publish_profiles(
    s: &mut allmende_node::repo_actor::RepoState,
    seed: u8,
    n: u32,
    kind: allmende_protocol::schema::OrgKind,
    name: impl Fn(u32) -> String,
) -> Vec<allmende_protocol::ids::OrgId> {
    use allmende_protocol::doc::{DocHeader, DocKind};
    use allmende_protocol::identity::Keypair;
    use allmende_protocol::ids::OrgId;
    use allmende_protocol::schema::OrgProfile;
    (0..n)
        .map(|i| {
            let mut secret = [seed; 32];
            secret[..4].copy_from_slice(&i.to_be_bytes());
            let key = Keypair::from_secret_bytes(&secret).unwrap();
            let org = OrgId::from_root_key(key.public());
            let profile = OrgProfile::new(name(i), kind);
            let header = DocHeader::singleton(DocKind::Profile, org);
            s.edit(&key, header, allmende_node::now(), |ed| {
                ed.put_root(&profile)
            })
            .unwrap();
            org
        })
        .collect()
}

fn product_count(addr: SocketAddr) -> u64 {
    let (code, _, body) = get(addr, "/api/v1/products?limit=200", "");
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["total"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_refuses_hostile_requests_and_escapes_what_it_shows() {
    let tmp = tempfile::tempdir().unwrap();
    let node = TestNode::start_http(&tmp.path().join("a"), Some("UI Stadt"), &[])
        .await
        .unwrap();
    let addr = node.http_addr().unwrap();
    let admin = node.admin_token().unwrap();
    tokio::task::spawn_blocking(move || {
        let cookie = session(addr, &admin);
        let token = csrf_of(&cookie);
        let form = |name: &str, licence: &str| {
            format!(
                "_csrf={token}&name={}&vendor=Muster+GmbH&kind=software&licence={}",
                enc(name),
                enc(licence)
            )
        };
        let before = product_count(addr);

        // Wrong Host (DNS rebinding): refused before anything runs.
        let (code, _, _) = raw(
            addr,
            "GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
        );
        assert_eq!(code, 421);
        // POST without the CSRF field, with a wrong one, without the cookie, from another site.
        let body = form("Ohne Token", "MIT");
        let no_field = body.replace(&format!("_csrf={token}&"), "");
        assert_eq!(post(addr, "/produkte/neu", &cookie, "", &no_field).0, 403);
        let wrong = body.replace(&token, &"0".repeat(64));
        assert_eq!(post(addr, "/produkte/neu", &cookie, "", &wrong).0, 403);
        assert_eq!(post(addr, "/produkte/neu", "", "", &body).0, 403);
        let (code, _, page) = post(
            addr,
            "/produkte/neu",
            &cookie,
            "Origin: http://evil.example\r\n",
            &body,
        );
        assert_eq!(code, 403);
        assert!(page.contains("anderen Website"), "{page}");
        // Oversized body.
        let huge = format!("{body}&description={}", "x".repeat(300 * 1024));
        assert_eq!(post(addr, "/produkte/neu", &cookie, "", &huge).0, 413);
        // Bad values: 422, the page keeps the input (escaped) and names the field.
        let script = "<script>alert(1)</script>";
        let (code, _, page) = post(
            addr,
            "/produkte/neu",
            &cookie,
            "",
            &form(script, "EUPL 1.2"),
        );
        assert_eq!(code, 422);
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!page.contains(script));
        assert!(page.contains(r#"id="licence-fehler""#));
        // Control characters and unknown enumeration values are refused too.
        let (code, _, _) = post(
            addr,
            "/produkte/neu",
            &cookie,
            "",
            &format!("{}&kind=raumschiff", form("Name\u{7}", "MIT")).replace("&kind=software", ""),
        );
        assert_eq!(code, 422);
        assert_eq!(
            product_count(addr),
            before,
            "a refused form stored something"
        );

        // A good form is stored, and the stored name is shown escaped everywhere.
        let (code, head, _) = post(addr, "/produkte/neu", &cookie, "", &form(script, "MIT"));
        assert_eq!(code, 303, "{head}");
        let location = head
            .lines()
            .find_map(|l| l.strip_prefix("location: "))
            .expect("no redirect");
        assert!(location.starts_with("/produkte/"));
        assert_eq!(product_count(addr), before + 1);
        let (code, _, page) = get(addr, location, &cookie);
        assert_eq!(code, 200);
        assert!(page.contains("Produkt gespeichert"));
        assert!(page.contains("&lt;script&gt;") && !page.contains(script));
        let (_, _, list) = get(addr, "/produkte?q=alert", &cookie);
        assert!(!list.contains(script));

        // Hostile paths and parameters: clear pages, never a crash or an echo of markup.
        for (path, want) in [
            ("/produkte/not-an-id", 404),
            (&format!("/produkte/{}", "a".repeat(64)), 404),
            (&format!("/organisationen/{}", "0".repeat(64)), 404),
            ("/organisationen/%3Cscript%3E", 404),
            ("/aufgaben/%3Cscript%3Ealert(1)%3C%2Fscript%3E", 200),
            (
                "/produkte?q=%22%27%3C%3E%00&kind=%3Cx%3E&seite=99999999999",
                200,
            ),
            ("/produkte?q=AND%20OR%20NEAR(%22", 200),
            ("/einsaetze/neu?produkt=zzz", 404),
            ("/einsaetze/%3Cscript%3E/bearbeiten", 404),
            ("/nachnutzung/neu", 400),
            ("/abdeckung?nach=%3Cx%3E&alle=1", 200),
            ("/kreise/05358", 200),
            ("/quellen", 200),
            ("/ozg-leistungen?alle=%3Cx%3E", 200),
            ("/kreise/99999", 404),
            ("/kreise/%3Cscript%3E", 404),
            (&format!("/kreise/{}", "1".repeat(5000)), 404),
        ] {
            let (code, head, page) = get(addr, path, &cookie);
            assert_eq!(code, want, "{path}: {head}");
            assert!(page.contains("</html>"), "{path} is no full page");
            assert!(!page.contains("<script"), "{path} echoed markup");
        }
        // The sources page gives the attribution the Gemeindeverzeichnis demands, and every
        // page links to it.
        let (_, _, sources) = get(addr, "/quellen", &cookie);
        assert!(
            sources.contains("Statistisches Bundesamt (Destatis), 2021"),
            "{sources}"
        );
        assert!(sources.contains("OZG-Datenbank NRW"), "{sources}");
        let (_, _, start) = get(addr, "/", &cookie);
        assert!(start.contains("href=\"/quellen\""));
        // Every page carries the security headers.
        let (_, head, _) = get(addr, "/", &cookie);
        let head = head.to_lowercase();
        assert!(head.contains("content-security-policy: default-src 'none'"));
        assert!(head.contains("x-content-type-options: nosniff"));
        // The API still answers in JSON for unknown API paths.
        let (code, _, body) = get(addr, "/api/v1/unknown", "");
        assert_eq!(code, 404);
        assert!(body.contains("no such endpoint"));
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keys_page_signs_delegations_and_revocations_and_refuses_bad_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let node = TestNode::start_http(&tmp.path().join("a"), Some("Schlüssel Stadt"), &[])
        .await
        .unwrap();
    let addr = node.http_addr().unwrap();
    let own = format!("{:#}", node.keypair().unwrap().public());
    let provider = "06e6ad7f6f775ddef8e0afec96d2693b95382fc407990bdfba905384648bef1b";
    let repo = node.node().unwrap().repo.clone();
    let certs = move || {
        let repo = repo.clone();
        tokio::runtime::Handle::current().block_on(async move {
            repo.call(|st| {
                let c = st.repo().certificates();
                (c.delegations().count(), c.revocations().count())
            })
            .await
            .unwrap()
        })
    };
    let admin = node.admin_token().unwrap();
    tokio::task::spawn_blocking(move || {
        let cookie = session(addr, &admin);
        let token = csrf_of(&cookie);
        let (code, _, page) = get(addr, "/schluessel", &cookie);
        assert_eq!(code, 200);
        assert!(page.contains(&own), "the page shows the organisation's key");
        assert!(page.contains("Delegation signieren"));
        // Bad input: 422, the message beside the field, the input kept (escaped), nothing signed.
        for (key, days, needle) in [
            ("<script>x</script>", "30", "64 Hexadezimalzeichen"),
            (own.as_str(), "30", "eigene Schlüssel"),
            (provider, "0", "Mindestens ein Tag"),
            (provider, "99999", "höchstens"),
        ] {
            let body = format!("_csrf={token}&key={}&days={}", enc(key), enc(days));
            let (code, _, page) = post(addr, "/schluessel/delegieren", &cookie, "", &body);
            assert_eq!(code, 422, "{key} {days}");
            assert!(page.contains(needle), "{key} {days}: lacks {needle}");
            assert!(!page.contains("<script>x</script>"));
        }
        assert_eq!(certs(), (0, 0));
        // Without the CSRF field nothing is signed either.
        let body = format!("key={provider}&days=30");
        assert_eq!(
            post(addr, "/schluessel/delegieren", &cookie, "", &body).0,
            403
        );
        assert_eq!(certs(), (0, 0));
        // A good delegation (with the scope the form ticks by default), then its revocation.
        let body = format!(
            "_csrf={token}&key={provider}&days=30&scope=deployments&scope=experience&scope=product"
        );
        let (code, head, _) = post(addr, "/schluessel/delegieren", &cookie, "", &body);
        assert_eq!(code, 303);
        assert!(
            head.contains("/schluessel?gespeichert=delegation"),
            "{head}"
        );
        assert_eq!(certs(), (1, 0));
        let (_, _, page) = get(addr, "/schluessel?gespeichert=delegation", &cookie);
        assert!(page.contains(provider) && page.contains("Delegation signiert"));
        let body = format!("_csrf={token}&key={provider}&reason=Vertrag+beendet");
        assert_eq!(
            post(addr, "/schluessel/widerrufen", &cookie, "", &body).0,
            303
        );
        assert_eq!(certs(), (1, 1));
        let (_, _, trust) = get(addr, "/vertrauen", &cookie);
        assert!(trust.contains("Vertrag beendet"));
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publiccode_yml_pasted_in_the_ui_becomes_a_product_with_its_warnings() {
    let tmp = tempfile::tempdir().unwrap();
    let node = TestNode::start_http(&tmp.path().join("a"), Some("Import Stadt"), &[])
        .await
        .unwrap();
    let addr = node.http_addr().unwrap();
    let admin = node.admin_token().unwrap();
    tokio::task::spawn_blocking(move || {
        let cookie = session(addr, &admin);
        let token = csrf_of(&cookie);
        let (code, _, page) = get(addr, "/produkte/import", &cookie);
        assert_eq!(code, 200);
        assert!(page.contains("publiccode.yml importieren"));
        let before = product_count(addr);
        // Not YAML: 422, the parser's message with its line at the field, the text kept.
        let broken = "name: <b>Fett</b>\ndescription:\n  de:\n\t shortDescription: x\n";
        let (code, _, page) = post(addr, "/produkte/import", &cookie, "", &format!("_csrf={token}&yaml={}", enc(broken)));
        assert_eq!(code, 422);
        assert!(page.contains("YAML error at line"), "{page}");
        assert!(page.contains("&lt;b&gt;Fett&lt;/b&gt;") && !page.contains("<b>Fett</b>"));
        assert_eq!(product_count(addr), before);
        // Empty: 422 too.
        assert_eq!(post(addr, "/produkte/import", &cookie, "", &format!("_csrf={token}&yaml=")).0, 422);
        // A good file with an unknown key: created, the warning with key and line shown.
        let yaml = "publiccodeYmlVersion: \"0.4\"\nname: Bürgerkonto\nurl: https://example.org/b/konto\nlegal:\n  license: MIT\n  repoOwner: Land Beispiel\nunbekannt: 1\n";
        let (code, _, page) = post(addr, "/produkte/import", &cookie, "", &format!("_csrf={token}&yaml={}", enc(yaml)));
        assert_eq!(code, 200, "{page}");
        assert!(page.contains("Produkt angelegt."), "{page}");
        assert!(page.contains("unbekannt") && page.contains(">7<"), "{page}");
        assert_eq!(product_count(addr), before + 1);
        // The same file again: nothing changed, still one product.
        let (_, _, page) = post(addr, "/produkte/import", &cookie, "", &format!("_csrf={token}&yaml={}", enc(yaml)));
        assert!(page.contains("nichts geändert"), "{page}");
        assert_eq!(product_count(addr), before + 1);
        // Without the CSRF field nothing is imported.
        assert_eq!(post(addr, "/produkte/import", &cookie, "", &format!("yaml={}", enc(&yaml.replace("konto", "konto2")))).0, 403);
        assert_eq!(product_count(addr), before + 1);
    })
    .await
    .unwrap();
}

/// The organisation list shows 200 organisations a page, by name, with links between pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_organisation_list_comes_in_pages() {
    use allmende_protocol::schema::OrgKind;
    let tmp = tempfile::tempdir().unwrap();
    let node = TestNode::start_http(tmp.path(), None, &[]).await.unwrap();
    let addr = node.http_addr().unwrap();
    node.node()
        .unwrap()
        .repo
        .call(|s| {
            publish_profiles(s, 7, 201, OrgKind::Kommune, |i| format!("Gemeinde {i:03}"));
        })
        .await
        .unwrap();
    tokio::task::spawn_blocking(move || {
        let rows = |body: &str| body.matches("href=\"/organisationen/").count();
        let (code, _, first) = get(addr, "/organisationen", "");
        assert_eq!(code, 200);
        assert_eq!(rows(&first), 200);
        assert!(first.contains("Gemeinde 000") && first.contains("Gemeinde 199"));
        assert!(!first.contains("Gemeinde 200"));
        assert!(first.contains("href=\"/organisationen?seite=1\" rel=\"next\""));
        assert!(!first.contains("rel=\"prev\""));

        let (code, _, second) = get(addr, "/organisationen?seite=1", "");
        assert_eq!(code, 200);
        assert_eq!(rows(&second), 1);
        assert!(second.contains("Gemeinde 200"));
        assert!(second.contains("href=\"/organisationen\" rel=\"prev\""));
        assert!(!second.contains("rel=\"next\""));

        // Past the end and nonsense: an empty page or the first, never an error.
        let (code, _, beyond) = get(addr, "/organisationen?seite=99", "");
        assert_eq!((code, rows(&beyond)), (200, 0));
        let (code, _, bad) = get(addr, "/organisationen?seite=-1", "");
        assert_eq!((code, rows(&bad)), (200, 200));
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organisation_and_product_pages_name_what_they_link() {
    use allmende_protocol::schema::OrgKind;
    let tmp = tempfile::tempdir().unwrap();
    let node = TestNode::start_http(tmp.path(), Some("Stadt Namenstest"), &[])
        .await
        .unwrap();
    let addr = node.http_addr().unwrap();
    let own = format!("{:#}", node.org().unwrap());
    // An IT-Dienstleister with a profile, and organisations and products nobody links.
    let provider = node
        .node()
        .unwrap()
        .repo
        .call(|s| {
            publish_profiles(s, 9, 30, OrgKind::ItDienstleister, |i| {
                format!("Rechenzentrum {i:02}")
            })[0]
        })
        .await
        .unwrap();
    for i in 0..5 {
        node.add_product(&format!("Unverlinktes Produkt {i}"))
            .await
            .unwrap();
    }
    let product = node.add_product("Verlinktes Fachverfahren").await.unwrap();
    let pid = format!("{:#}", product.id());
    let provider = format!("{provider:#}");
    let token = node.admin_token().unwrap();
    let url = addr.to_string();
    tokio::task::spawn_blocking(move || {
        let body = serde_json::json!({
            "product": pid,
            "status": "production",
            "operated_by": {"by": "it-dienstleister", "org": provider},
        });
        let (code, answer) = integration_tests::http(
            &url,
            "POST",
            "/api/v1/deployments",
            Some(&token),
            &body.to_string(),
            Duration::from_secs(20),
        )
        .unwrap();
        assert_eq!(code, 201, "{answer}");
        let link =
            |path: &str, id: &str, name: &str| format!("<a href=\"/{path}/{id}\">{name}</a>");

        let (code, _, page) = get(addr, &format!("/organisationen/{own}"), "");
        assert_eq!(code, 200);
        assert!(
            page.contains(&link("produkte", &pid, "Verlinktes Fachverfahren")),
            "{page}"
        );
        assert!(
            page.contains(&link("organisationen", &provider, "Rechenzentrum 00")),
            "{page}"
        );
        assert!(!page.contains("Unverlinktes") && !page.contains("Rechenzentrum 01"));

        let (code, _, page) = get(addr, &format!("/produkte/{pid}"), "");
        assert_eq!(code, 200);
        assert!(
            page.contains(&link("organisationen", &own, "Stadt Namenstest")),
            "{page}"
        );
        assert!(
            page.contains(&link("organisationen", &provider, "Rechenzentrum 00")),
            "{page}"
        );
        assert!(!page.contains(&format!("org:{}", &own[..12])), "{page}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_with_many_deployments_shows_them_a_page_at_a_time() {
    use allmende_protocol::doc::{DocHeader, DocKind};
    use allmende_protocol::ids::DocId;
    use allmende_protocol::schema::{Deployment, Integration, IntegrationStatus};
    let tmp = tempfile::tempdir().unwrap();
    let node = TestNode::start_http(tmp.path(), Some("Stadt Seitentest"), &[])
        .await
        .unwrap();
    let addr = node.http_addr().unwrap();
    let product = node.add_product("Vielgenutztes Verfahren").await.unwrap();
    let pid = format!("{:#}", product.id());
    let key = node.keypair().unwrap();
    let header = DocHeader::singleton(DocKind::Deployments, node.org().unwrap());
    // 150 deployments of the product under distinct keys, in one change, each reporting an
    // integration with another partner product (one partner by two deployments).
    node.node()
        .unwrap()
        .repo
        .call(move |s| {
            s.edit(&key, header, allmende_node::now(), |ed| {
                for i in 0..150u8 {
                    let partner = |n: u8| Integration {
                        product: DocId::from_bytes([n; 32]),
                        standard: "XMeld".into(),
                        status: IntegrationStatus::Works,
                    };
                    let d = Deployment {
                        integrations: match i {
                            0 => vec![partner(200)],
                            1 => vec![partner(200), partner(1)],
                            _ => vec![partner(i)],
                        },
                        ..integration_tests::deployment(product.id(), &format!("{i}.0"))
                    };
                    ed.put(&format!("standort-{i:03}"), &d)?;
                }
                Ok(())
            })
            .unwrap();
        })
        .await
        .unwrap();
    tokio::task::spawn_blocking(move || {
        let rows = |body: &str| body.matches("<td>selbst</td>").count();
        let (code, _, first) = get(addr, &format!("/produkte/{pid}"), "");
        assert_eq!(code, 200);
        assert_eq!(rows(&first), 100, "{first}");
        assert!(first.contains("150 Einsätze"), "{first}");
        assert!(first.contains("Seite 1 / 2"), "{first}");
        assert!(first.contains(&format!("href=\"/produkte/{pid}?seite=1\" rel=\"next\"")));
        assert!(!first.contains("rel=\"prev\""));
        // The 100 best-evidenced of 150 integrations, the one reported twice first.
        assert!(first.contains("100 / 150"), "{first}");
        let partner = |n: u8| format!("/produkte/{:#}\"", DocId::from_bytes([n; 32]));
        assert_eq!(first.matches("<td>XMeld</td>").count(), 100, "{first}");
        assert!(first.contains(&partner(200)), "{first}");
        assert!(
            first.contains(&partner(1)) && !first.contains(&partner(149)),
            "{first}"
        );

        let (code, _, second) = get(addr, &format!("/produkte/{pid}?seite=1"), "");
        assert_eq!(code, 200);
        assert_eq!(rows(&second), 50);
        assert!(second.contains(&format!("href=\"/produkte/{pid}?seite=0\" rel=\"prev\"")));
        assert!(!second.contains("rel=\"next\""));

        // Past the end and nonsense: no rows or the first page, never an error.
        let (code, _, beyond) = get(addr, &format!("/produkte/{pid}?seite=7"), "");
        assert_eq!((code, rows(&beyond)), (200, 0));
        let (code, _, bad) = get(addr, &format!("/produkte/{pid}?seite=-1"), "");
        assert_eq!((code, rows(&bad)), (200, 100));

        // The API still lists every deployment.
        let (code, _, api) = get(addr, &format!("/api/v1/products/{pid}"), "");
        assert_eq!(code, 200);
        let api: serde_json::Value = serde_json::from_str(&api).unwrap();
        assert_eq!(api["deployments"].as_array().unwrap().len(), 150);
        assert_eq!(api["integrations"].as_array().unwrap().len(), 150);
    })
    .await
    .unwrap();
}

/// The delegation form offers the scope as check boxes; what it sends by default (every kind
/// but the profile) gives a delegate that publishes deployments but cannot change the
/// organisation's profile. An unknown scope value is refused and nothing is signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delegation_signed_in_the_ui_leaves_the_profile_to_the_organisation() {
    use allmende_protocol::doc::{DocHeader, DocKind};
    use allmende_protocol::identity::Keypair;
    use allmende_protocol::schema::{OrgKind, OrgProfile};
    let tmp = tempfile::tempdir().unwrap();
    let node = TestNode::start_http(&tmp.path().join("a"), Some("Delegierende Stadt"), &[])
        .await
        .unwrap();
    let addr = node.http_addr().unwrap();
    let org = node.org().unwrap();
    let delegate = Keypair::from_secret_bytes(&[9; 32]).unwrap();
    let delegate_hex = format!("{:#}", delegate.public());
    let admin = node.admin_token().unwrap();
    let cookie = tokio::task::spawn_blocking(move || session(addr, &admin))
        .await
        .unwrap();
    let (cookie2, hex2) = (cookie.clone(), delegate_hex.clone());
    let page = tokio::task::spawn_blocking(move || {
        let token = csrf_of(&cookie2);
        let (code, _, page) = get(addr, "/schluessel", &cookie2);
        assert_eq!(code, 200);
        // The form's default: everything but the profile is ticked.
        for (value, ticked) in [
            ("profile", false),
            ("deployments", true),
            ("experience", true),
            ("product", true),
        ] {
            let needle = format!("value=\"{value}\" checked");
            assert_eq!(page.contains(&needle), ticked, "{value}: {page}");
        }
        // An unknown scope: 422 naming it, nothing signed.
        let body = format!("_csrf={token}&key={hex2}&days=30&scope=deployments&scope=ratingz");
        let (code, _, page) = post(addr, "/schluessel/delegieren", &cookie2, "", &body);
        assert_eq!(code, 422);
        assert!(page.contains("ratingz"), "{page}");
        // No scope at all: 422 too.
        let body = format!("_csrf={token}&key={hex2}&days=30");
        assert_eq!(
            post(addr, "/schluessel/delegieren", &cookie2, "", &body).0,
            422
        );
        // What the browser sends with the defaults ticked.
        let body = format!(
            "_csrf={token}&key={hex2}&days=30&scope=deployments&scope=experience&scope=product"
        );
        let (code, head, _) = post(addr, "/schluessel/delegieren", &cookie2, "", &body);
        assert_eq!(code, 303, "{head}");
        get(addr, "/schluessel", &cookie2).2
    })
    .await
    .unwrap();
    assert!(
        page.contains("<td>Einsätze, Bewertungen und Nachnutzungsberichte, Produkte</td>"),
        "the keys page shows the scope: {page}"
    );
    let repo = node.node().unwrap().repo.clone();
    let (profile_edit, deployment_edit, delegations) = repo
        .call(move |st| {
            let renamed = OrgProfile::new("Übernommen", OrgKind::Kreis);
            let p = st.edit(
                &delegate,
                DocHeader::singleton(DocKind::Profile, org),
                allmende_node::now(),
                move |ed| ed.put_root(&renamed),
            );
            let dep = integration_tests::deployment(DocHeader::product(org, [2; 16]).id(), "1.0");
            let d = st.edit(
                &delegate,
                DocHeader::singleton(DocKind::Deployments, org),
                allmende_node::now(),
                move |ed| ed.put("d1", &dep),
            );
            (
                format!("{p:?}"),
                d.map(|h| h.is_some()).map_err(|e| e.to_string()),
                st.repo().certificates().delegations().count(),
            )
        })
        .await
        .unwrap();
    assert_eq!(delegations, 1);
    assert!(profile_edit.starts_with("Err(Auth"), "{profile_edit}");
    assert_eq!(deployment_edit, Ok(true));
    let (_, _, org_page) = tokio::task::spawn_blocking(move || {
        get(addr, &format!("/organisationen/{org:#}"), &cookie)
    })
    .await
    .unwrap();
    assert!(org_page.contains("Delegierende Stadt") && !org_page.contains("Übernommen"));
}

/// The `Set-Cookie` value of `name` in a response head, if it sets one.
fn set_cookie(head: &str, name: &str) -> Option<String> {
    head.lines()
        .filter_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// A one-time login link from `POST /api/v1/ui/login` with `token`; returns status and body.
fn login_link(addr: SocketAddr, token: &str) -> (u16, serde_json::Value) {
    let (code, _, body) = raw(
        addr,
        &format!(
            "POST /api/v1/ui/login HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    );
    (
        code,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
    )
}

/// Any local user or process can reach a loopback UI, so writing in it needs a session also
/// there: opened by a one-time login link (`allmende run` prints one; the admin token holder
/// gets more from the API) or with a token at `/anmelden`. Reading stays open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writing_in_a_loopback_ui_needs_a_session_from_the_one_time_login_link() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a");
    let dd = allmende_node::datadir::DataDir::new(dir.clone());
    dd.create_identity().unwrap();
    let (_, member_token) = dd.add_member().unwrap();
    let node = TestNode::start_http(&dir, Some("Anmelde Stadt"), &[])
        .await
        .unwrap();
    let addr = node.http_addr().unwrap();
    let admin = node.admin_token().unwrap();
    tokio::task::spawn_blocking(move || {
        let token = csrf(addr);
        let cookie = format!("allmende_csrf={token}");
        let form = format!("_csrf={token}&name=Ohne+Anmeldung&vendor=Muster+GmbH&kind=software");
        let before = product_count(addr);
        // Reads stay open.
        assert_eq!(get(addr, "/produkte", &cookie).0, 200);
        // Without a session: every write is sent to sign in, and nothing is stored.
        let (code, head, _) = post(addr, "/produkte/neu", &cookie, "", &form);
        assert_eq!(code, 303, "{head}");
        assert!(head.contains("location: /anmelden"), "{head}");
        assert_eq!(product_count(addr), before, "stored without a session");
        for path in ["/schluessel", "/produkte/neu", "/produkte/import"] {
            let (code, head, _) = get(addr, path, &cookie);
            assert_eq!(code, 303, "{path}: {head}");
            assert!(head.contains("location: /anmelden"), "{path}: {head}");
        }
        let provider = "06e6ad7f6f775ddef8e0afec96d2693b95382fc407990bdfba905384648bef1b";
        let body = format!("_csrf={token}&key={provider}&days=30&scope=deployments");
        let (code, head, _) = post(addr, "/schluessel/delegieren", &cookie, "", &body);
        assert!(
            code == 303 && head.contains("location: /anmelden"),
            "{head}"
        );

        // Login links: for the admin token only.
        assert_eq!(login_link(addr, "falsch").0, 401);
        let (code, answer) = login_link(addr, &member_token);
        assert_eq!(code, 403, "{answer}");
        let (code, answer) = login_link(addr, &admin);
        assert_eq!(code, 201, "{answer}");
        let path = answer["path"].as_str().unwrap().to_owned();
        assert!(path.starts_with("/anmelden?token="), "{path}");
        assert_eq!(
            answer["url"].as_str().unwrap(),
            format!("http://{addr}{path}")
        );
        // A made-up token opens nothing.
        let (code, head, _) = get(
            addr,
            &format!("/anmelden?token={}", "ab".repeat(32)),
            &cookie,
        );
        assert_eq!(code, 401, "{head}");
        assert!(set_cookie(&head, "allmende_session").is_none());
        // The link opens a session once: HttpOnly, SameSite=Strict.
        let (code, head, _) = get(addr, &path, &cookie);
        assert_eq!(code, 303, "{head}");
        let session = set_cookie(&head, "allmende_session").expect("no session cookie");
        assert!(
            session.contains("HttpOnly") && session.contains("SameSite=Strict"),
            "{session}"
        );
        let sid = session.split(';').next().unwrap().to_owned();
        let (code, head, _) = get(addr, &path, &cookie);
        assert_eq!(code, 401, "a second use: {head}");
        assert!(set_cookie(&head, "allmende_session").is_none());

        // With the session the same write works.
        let signed_in = format!("{cookie}; {sid}");
        let (code, head, _) = post(addr, "/produkte/neu", &signed_in, "", &form);
        assert_eq!(code, 303, "{head}");
        assert!(head.contains("location: /produkte/"), "{head}");
        assert_eq!(product_count(addr), before + 1);
        // It may publish for every tenant of the node: the form offers the choice.
        let (code, _, page) = get(addr, "/produkte/neu", &signed_in);
        assert_eq!(code, 200);
        assert!(page.contains("name=\"_fuer\""), "no choice of tenant");
        // After signing out, writing needs a session again.
        let (code, _, _) = post(addr, "/abmelden", &signed_in, "", &format!("_csrf={token}"));
        assert_eq!(code, 303);
        let (code, head, _) = post(addr, "/produkte/neu", &signed_in, "", &form);
        assert!(
            code == 303 && head.contains("location: /anmelden"),
            "{head}"
        );
        assert_eq!(product_count(addr), before + 1);
    })
    .await
    .unwrap();
}

/// The demo (`allmende demo`: made-up data on loopback) keeps publishing without a session,
/// and its banner says so on every page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_publishes_without_a_session_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let dd = allmende_node::datadir::DataDir::new(tmp.path().join("demo"));
    dd.create_identity().unwrap();
    let node = allmende_node::node::Node::spawn(allmende_node::node::NodeConfig {
        data_dir: dd.path().to_owned(),
        identity_file: None,
        net: integration_tests::test_net(&[]),
        http: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        trust_anchors: vec![],
        quarantine: Default::default(),
        demo: true,
    })
    .await
    .unwrap();
    let addr = node.http_addr.unwrap();
    tokio::task::spawn_blocking(move || {
        let token = csrf(addr);
        let cookie = format!("allmende_csrf={token}");
        let (_, _, page) = get(addr, "/", &cookie);
        assert!(page.contains("ohne Anmeldung"), "{page}");
        let before = product_count(addr);
        let form = format!("_csrf={token}&name=Demo+Produkt&vendor=Muster+GmbH&kind=software");
        let (code, head, _) = post(addr, "/produkte/neu", &cookie, "", &form);
        assert!(
            code == 303 && head.contains("location: /produkte/"),
            "{head}"
        );
        assert_eq!(product_count(addr), before + 1);
    })
    .await
    .unwrap();
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_product_form_names_co_stewards_and_refuses_what_is_no_organisation_id() {
    let tmp = tempfile::tempdir().unwrap();
    let mut node = TestNode::start_http(&tmp.path().join("a"), Some("UI Kreis"), &[])
        .await
        .unwrap();
    let addr = node.http_addr().unwrap();
    let admin = node.admin_token().unwrap();
    let vendor = allmende_protocol::ids::OrgId::from_root_key(
        allmende_protocol::identity::Keypair::from_secret_bytes(&[77; 32])
            .unwrap()
            .public(),
    );
    tokio::task::spawn_blocking(move || {
        let cookie = session(addr, &admin);
        let token = csrf_of(&cookie);
        let form = |co: &str| {
            format!(
                "_csrf={token}&name=Ratsinfo+Offen&vendor=Muster+GmbH&kind=software&co_stewards={}",
                enc(co)
            )
        };
        let before = product_count(addr);
        let (code, _, page) = post(addr, "/produkte/neu", &cookie, "", &form("Stadt Zülpich"));
        assert_eq!(code, 422);
        assert!(page.contains(r#"id="co_stewards-fehler""#), "{page}");
        assert_eq!(
            product_count(addr),
            before,
            "a refused form stored something"
        );

        let (code, head, _) = post(
            addr,
            "/produkte/neu",
            &cookie,
            "",
            &form(&format!("{vendor:#}\n")),
        );
        assert_eq!(code, 303, "{head}");
        let location = head
            .lines()
            .find_map(|l| l.strip_prefix("location: "))
            .expect("no redirect");
        let id = location
            .trim_start_matches("/produkte/")
            .split('?')
            .next()
            .unwrap()
            .to_owned();
        let (code, _, body) = get(addr, &format!("/api/v1/products/{id}/stewardship"), "");
        assert_eq!(code, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let roles: Vec<(String, String)> = v["stewards"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["org"].as_str().unwrap().to_owned(),
                    s["role"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert!(
            roles.contains(&(format!("{vendor:#}"), "co_steward".to_owned())),
            "{roles:?}"
        );
        // The edit form shows them again.
        let (_, _, page) = get(addr, &format!("/produkte/{id}/bearbeiten"), &cookie);
        assert!(
            page.contains(&format!("{vendor:#}")),
            "the edit form lost the co-steward"
        );
    })
    .await
    .unwrap();
    node.stop().await;
}

/// The location a 303 answer sends to.
fn location(head: &str) -> String {
    head.lines()
        .find_map(|l| {
            l.strip_prefix("location: ")
                .or_else(|| l.strip_prefix("Location: "))
        })
        .expect("no redirect")
        .trim()
        .to_owned()
}

/// A JSON call on the API with the admin token; returns status and parsed body.
fn api(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, serde_json::Value) {
    let (code, text) = integration_tests::http(
        &addr.to_string(),
        method,
        path,
        token,
        body,
        Duration::from_secs(20),
    )
    .unwrap();
    (
        code,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

/// Whom to ask, how a deployment ended and training offers, entered in the forms: refused
/// input stores nothing and names the field; what is stored shows on the product page, the
/// training overview and in the API, and a publisher's own rating of its offer never counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_replacements_and_training_go_from_the_forms_to_the_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let mut node = TestNode::start_http(&tmp.path().join("a"), Some("Gemeinde Beispiel"), &[])
        .await
        .unwrap();
    let old = node.add_product("Gewerbe-Alt").await.unwrap().id();
    let new = node.add_product("Gewerbe-Neu").await.unwrap().id();
    let addr = node.http_addr().unwrap();
    let admin = node.admin_token().unwrap();
    let me = node.org().unwrap();
    tokio::task::spawn_blocking(move || {
        let cookie = session(addr, &admin);
        let token = csrf_of(&cookie);
        let deployments = || {
            api(addr, "GET", "/api/v1/deployments", None, "").1
                .as_array()
                .unwrap()
                .len()
        };
        let deploy = |fields: &str| {
            post(
                addr,
                "/einsaetze/neu",
                &cookie,
                "",
                &format!("_csrf={token}&produkt={old:#}&operated_by=self&{fields}"),
            )
        };
        // A person's address is refused at its field, and nothing is stored.
        let (code, _, page) = deploy(&format!(
            "status=production&exchange_ok=ja&contact_role={}",
            enc("anna.schmidt@gemeinde.example")
        ));
        assert_eq!(code, 422);
        assert!(page.contains(r#"id="contact_role-fehler""#), "{page}");
        // A successor needs the status retired.
        let (code, _, page) = deploy(&format!("status=production&replaced_by={new:#}"));
        assert_eq!(code, 422);
        assert!(page.contains(r#"id="replaced_by-fehler""#), "{page}");
        assert_eq!(deployments(), 0, "a refused form stored something");

        let (code, head, _) = deploy(&format!(
            "status=production&exchange_ok=ja&contact_role={}",
            enc("Ordnungsamt, Produktverantwortliche")
        ));
        assert_eq!(code, 303, "{head}");
        let (code, head, _) = deploy(&format!(
            "status=retired&since=2016-01-01&until=2024-06-30&replaced_by={new:#}&end_reason={}",
            enc("Hersteller hat <b>abgekündigt</b>")
        ));
        assert_eq!(code, 303, "{head}");
        assert_eq!(deployments(), 2);

        let (code, _, page) = get(addr, &format!("/produkte/{old:#}"), "");
        assert_eq!(code, 200);
        assert!(page.contains("Ordnungsamt, Produktverantwortliche"), "{page}");
        assert!(page.contains("Abgelöst durch"), "{page}");
        assert!(page.contains("Gewerbe-Neu"), "{page}");
        assert!(
            page.contains("Hersteller hat &lt;b&gt;abgekündigt&lt;/b&gt;"),
            "the reason is not escaped"
        );
        let (_, page) = {
            let (c, _, p) = get(addr, &format!("/produkte/{new:#}"), "");
            (c, p)
        };
        assert!(page.contains("Löste ab"), "{page}");
        let (code, flows) = api(
            addr,
            "GET",
            &format!("/api/v1/products/{new:#}/replacements"),
            None,
            "",
        );
        assert_eq!(code, 200);
        assert_eq!(flows["replaced"][0]["organisations"], 1, "{flows}");
        let (code, contacts) = api(
            addr,
            "GET",
            &format!("/api/v1/products/{old:#}/contacts"),
            None,
            "",
        );
        assert_eq!(code, 200);
        assert_eq!(
            contacts[0]["contact_role"], "Ordnungsamt, Produktverantwortliche",
            "{contacts}"
        );

        // A training offer: a bad format and a bad link are named, then it is stored.
        let offer = |format: &str, link: &str| {
            post(
                addr,
                "/schulungen/neu",
                &cookie,
                "",
                &format!(
                    "_csrf={token}&produkt={new:#}&title={}&provider={}&format={format}&duration_minutes=360&cost_eur=0&link={}&roles={}",
                    enc("Gewerbe-Neu für die Sachbearbeitung"),
                    enc("Studieninstitut Westfalen"),
                    enc(link),
                    enc("Sachbearbeitung Gewerbeamt\nAdministration")
                ),
            )
        };
        let (code, _, page) = offer("fernstudium", "ftp://x");
        assert_eq!(code, 422);
        assert!(page.contains(r#"id="format-fehler""#), "{page}");
        assert!(page.contains(r#"id="link-fehler""#), "{page}");
        let (code, head, _) = offer("online", "https://studieninstitut.example/gewerbe");
        assert_eq!(code, 303, "{head}");
        assert!(location(&head).contains("gespeichert=schulung"));

        let (code, list) = api(addr, "GET", "/api/v1/trainings", None, "");
        assert_eq!(code, 200);
        let t = &list["tasks"][0]["trainings"][0];
        assert_eq!(t["offer"]["title"], "Gewerbe-Neu für die Sachbearbeitung");
        assert_eq!(t["offer"]["roles"].as_array().unwrap().len(), 2);
        let key = t["key"].as_str().unwrap().to_owned();
        assert_eq!(t["org"], format!("{me:#}"));

        let (code, _, page) = get(addr, "/schulungen", "");
        assert_eq!(code, 200);
        assert!(page.contains("Gewerbe-Neu für die Sachbearbeitung"), "{page}");
        assert!(page.contains("6 h"), "{page}");
        let (code, _, page) = get(addr, "/schulungen?format=praesenz", "");
        assert_eq!(code, 200);
        assert!(!page.contains("Gewerbe-Neu für die Sachbearbeitung"));
        let (code, _, page) = get(addr, "/schulungen?format=%3Cscript%3E", "");
        assert_eq!(code, 200);
        assert!(page.contains("Unbekanntes Format."));
        assert!(!page.contains("<script>"));

        // Rating: out of range refused; the publisher's own rating is stored but not counted.
        let rate = |score: &str| {
            post(
                addr,
                &format!("/schulungen/{me:#}/{key}/bewerten"),
                &cookie,
                "",
                &format!("_csrf={token}&score={score}&recommend=ja"),
            )
        };
        let (code, _, page) = rate("9");
        assert_eq!(code, 422);
        assert!(page.contains(r#"id="score-fehler""#), "{page}");
        let (code, head, _) = rate("5");
        assert_eq!(code, 303, "{head}");
        let (_, list) = api(addr, "GET", "/api/v1/trainings", None, "");
        assert_eq!(list["tasks"][0]["trainings"][0]["ratings"], 0, "{list}");
        let (code, _, _) = get(addr, &format!("/schulungen/{me:#}/{}/bewerten", "f".repeat(32)), &cookie);
        assert_eq!(code, 404);

        // The API refuses what the forms refuse, naming it.
        for (path, body, field) in [
            (
                "/api/v1/trainings",
                format!(r#"{{"product":"{new:#}","title":"Kurs","provider":"X","format":"fernstudium"}}"#),
                "format",
            ),
            (
                "/api/v1/training-ratings",
                format!(r#"{{"org":"{me:#}","offer":"{key}","score":9}}"#),
                "score",
            ),
            (
                "/api/v1/training-ratings",
                format!(r#"{{"org":"{me:#}","offer":"../{key}","score":3}}"#),
                "offer",
            ),
            (
                "/api/v1/deployments",
                format!(r#"{{"product":"{old:#}","status":"production","operated_by":{{"by":"self"}},"contact_role":"Tel. 02241 12345"}}"#),
                "contact_role",
            ),
        ] {
            let (code, answer) = api(addr, "POST", path, Some(&admin), &body);
            assert_eq!(code, 400, "{path} {body}: {answer}");
            assert!(answer["message"].as_str().unwrap().contains(field), "{answer}");
        }
        let (code, _) = api(
            addr,
            "POST",
            "/api/v1/trainings",
            None,
            &format!(r#"{{"product":"{new:#}","title":"Kurs","provider":"X","format":"online"}}"#),
        );
        assert_eq!(code, 401);
        for bad in ["format=fernstudium", "task=123", "product=xyz", "sort=best", "unverified=ja"] {
            let (code, answer) = api(addr, "GET", &format!("/api/v1/trainings?{bad}"), None, "");
            assert_eq!(code, 400, "{bad}: {answer}");
        }
    })
    .await
    .unwrap();
    node.stop().await;
}

/// The inventory upload is the one multipart form: it needs the CSRF field like every form,
/// takes one file of at most 4 MiB, refuses a broken body, and an upload token works only for
/// the organisation that uploaded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inventory_upload_is_guarded_like_every_form() {
    let tmp = tempfile::tempdir().unwrap();
    let mut node = TestNode::start_http(&tmp.path().join("a"), Some("Gemeinde Upload"), &[])
        .await
        .unwrap();
    let addr = node.http_addr().unwrap();
    let admin = node.admin_token().unwrap();
    tokio::task::spawn_blocking(move || {
        let cookie = session(addr, &admin);
        let token = csrf_of(&cookie);
        let multipart = |csrf: &str, file: &[u8]| {
            let mut body = format!(
                "--XYZ\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{csrf}\r\n\
                 --XYZ\r\nContent-Disposition: form-data; name=\"datei\"; filename=\"b.csv\"\r\nContent-Type: text/csv\r\n\r\n"
            )
            .into_bytes();
            body.extend_from_slice(file);
            body.extend_from_slice(b"\r\n--XYZ--\r\n");
            body
        };
        let send = |body: &[u8]| {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            let head = format!(
                "POST /bestand HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nContent-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            s.write_all(head.as_bytes()).unwrap();
            let _ = s.write_all(body);
            let mut out = Vec::new();
            let _ = s.read_to_end(&mut out);
            let text = String::from_utf8_lossy(&out).into_owned();
            let code: u16 = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
            (code, text)
        };
        let csv = "Fachverfahren;Hersteller\nMeldewesen <script>;Beispiel GmbH\n";
        let deployments = || {
            let (_, _, body) = get(addr, "/api/v1/deployments", "");
            serde_json::from_str::<serde_json::Value>(&body).unwrap().as_array().unwrap().len()
        };
        // Without the CSRF field: refused before anything is read.
        let (code, _) = send(&multipart("wrong", csv.as_bytes()));
        assert_eq!(code, 403);
        // A body that is no multipart.
        let (code, _) = send(b"--XYZ\r\nnonsense");
        assert_eq!(code, 400);
        // Too large.
        let (code, _) = send(&multipart(&token, &vec![b'a'; 5 * 1024 * 1024]));
        assert_eq!(code, 413);
        // Not a spreadsheet: the preview form again, with the reason at the field.
        let (code, page) = send(&multipart(&token, b"\x00\x01\x02 PK not a table"));
        assert_eq!(code, 422, "{page}");
        assert!(page.contains(r#"id="datei-fehler""#), "{page}");
        // A real file: the preview, escaped, with its upload token; nothing written yet.
        let (code, page) = send(&multipart(&token, csv.as_bytes()));
        assert_eq!(code, 200, "{page}");
        assert!(page.contains("Meldewesen &lt;script&gt;"), "{page}");
        assert!(!page.contains("Meldewesen <script>"));
        assert_eq!(deployments(), 0);
        let upload = page
            .split(r#"name="datei" value=""#)
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_owned();
        // An unknown token: gone, start again.
        let (code, _, page) = post(
            addr,
            "/bestand/import",
            &cookie,
            "",
            &format!("_csrf={token}&datei={}", "0".repeat(64)),
        );
        assert_eq!(code, 410, "{page}");
        // Importing the real upload writes it (one new product, one deployment).
        let (code, _, page) = post(
            addr,
            "/bestand/import",
            &cookie,
            "",
            &format!("_csrf={token}&datei={upload}"),
        );
        assert_eq!(code, 200, "{page}");
        assert!(page.contains("Bestand importiert"), "{page}");
        assert_eq!(deployments(), 1);
        // The token is used up.
        let (code, _, _) = post(
            addr,
            "/bestand/import",
            &cookie,
            "",
            &format!("_csrf={token}&datei={upload}"),
        );
        assert_eq!(code, 410);
        assert_eq!(deployments(), 1);
    })
    .await
    .unwrap();
    node.stop().await;
}
