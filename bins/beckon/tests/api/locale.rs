//! Tenant locales (CONTRACT §6 "Locales"): a tenant's email and `/invite`
//! pages are in its language, with dates in that language's form; a page
//! that knows no tenant follows the browser.

use std::time::Duration;

use chrono::{DateTime, Datelike, Utc};
use reqwest::Response;

use crate::helpers::{Backend, Caller, Decoded, TestApp, on_both_backends, spawn_app};

/// What one locale must say, written here independently of the app.
struct Speaks {
    locale: &'static str,
    months: [&'static str; 12],
    /// Day, month name, year → the date before the time.
    date: fn(u32, &str, i32) -> String,
    /// The word between the date and the time.
    at: &'static str,
    subject: &'static str,
    greeting: &'static str,
    button: &'static str,
    accepted: &'static str,
    withdrawn: &'static str,
    expired: &'static str,
}

const EN: Speaks = Speaks {
    locale: "en",
    months: [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    date: |d, m, y| format!("{d} {m} {y}"),
    at: "at",
    subject: "You're invited to join",
    greeting: "Hello Ada,",
    button: "Accept invitation",
    accepted: "Invitation accepted",
    withdrawn: "This invitation was withdrawn",
    expired: "This invitation has expired",
};

const DE: Speaks = Speaks {
    locale: "de",
    months: [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ],
    date: |d, m, y| format!("{d}. {m} {y}"),
    at: "um",
    subject: "Ihre Einladung zu",
    greeting: "Guten Tag Ada,",
    button: "Einladung annehmen",
    accepted: "Einladung angenommen",
    withdrawn: "Diese Einladung wurde zurückgezogen",
    expired: "Diese Einladung ist abgelaufen",
};

const FR: Speaks = Speaks {
    locale: "fr",
    months: [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
    date: |d, m, y| {
        if d == 1 {
            format!("1er {m} {y}")
        } else {
            format!("{d} {m} {y}")
        }
    },
    at: "à",
    subject: "Invitation à rejoindre",
    greeting: "Bonjour Ada,",
    button: "Accepter l’invitation",
    accepted: "Invitation acceptée",
    withdrawn: "Cette invitation a été retirée",
    expired: "Cette invitation a expiré",
};

impl Speaks {
    fn when(&self, at: &str) -> String {
        let at: DateTime<Utc> = DateTime::parse_from_rfc3339(at).unwrap().to_utc();
        format!(
            "{} {} {} UTC",
            (self.date)(at.day(), self.months[at.month0() as usize], at.year()),
            self.at,
            at.format("%H:%M")
        )
    }
}

async fn page(resp: Response, status: u16, lang: &str) -> String {
    assert_eq!(resp.status().as_u16(), status);
    assert_eq!(resp.headers()["content-language"], lang);
    let page = resp.text().await.unwrap();
    assert!(
        page.starts_with(&format!("<!doctype html><html lang=\"{lang}\">")),
        "{page}"
    );
    page
}

/// Invites `email` with a name; returns the user's id, its decoded email
/// and the expiry the API reports.
async fn invite(app: &TestApp, c: &Caller, email: &str) -> (String, Decoded, String) {
    let resp = app
        .post_user(c, &serde_json::json!({ "email": email, "name": "Ada" }))
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    let user: serde_json::Value = resp.json().await.unwrap();
    let path = app.wait_for_emails_to(email, 1).await.remove(0);
    let expires = user["invite"]["expires_at"].as_str().unwrap().to_owned();
    (
        user["id"].as_str().unwrap().to_owned(),
        Decoded::read(&path),
        expires,
    )
}

/// A tenant of `speaks`'s locale, named with HTML in it: its email and
/// every page of the invite's life are in that language, escaped.
async fn a_tenant_is_answered_in_its_language(backend: Backend, speaks: &Speaks) {
    let app = spawn_app(backend).await;
    let tenant = app.tenant_in("Acme <b>&co", speaks.locale).await;
    let c = app.caller_in(&tenant, "admin").await;

    // The email: subject, both parts, the date in the language's form.
    let (id, mail, expires) = invite(&app, &c, "ada@example.com").await;
    let when = speaks.when(&expires);
    assert_eq!(mail.subject, format!("{} Acme <b>&co", speaks.subject));
    assert!(
        mail.text.starts_with(&format!("{}\n", speaks.greeting)),
        "{}",
        mail.text
    );
    assert!(mail.text.contains(&when), "{when} in {}", mail.text);
    assert!(mail.text.contains("Acme <b>&co"), "{}", mail.text);
    assert!(
        mail.html
            .contains(&format!("<html lang=\"{}\">", speaks.locale)),
        "{}",
        mail.html
    );
    assert!(mail.html.contains(&when), "{}", mail.html);
    assert!(mail.html.contains(speaks.button), "{}", mail.html);
    assert!(mail.html.contains("Acme &lt;b&gt;&amp;co"), "{}", mail.html);
    assert!(!mail.html.contains("<b>"), "{}", mail.html);

    // The page behind the link, then the accept.
    let token = mail.token();
    let resp = app
        .get(&format!("/invite?token={token}"))
        .send()
        .await
        .unwrap();
    let shown = page(resp, 200, speaks.locale).await;
    assert!(shown.contains(speaks.button), "{shown}");
    assert!(shown.contains(&when), "{when} in {shown}");
    assert!(shown.contains("Acme &lt;b&gt;&amp;co"), "{shown}");
    assert!(!shown.contains("<b>"), "{shown}");
    let form = app.post("/invite").form(&[("token", token.as_str())]);
    let done = page(form.send().await.unwrap(), 200, speaks.locale).await;
    assert!(done.contains(speaks.accepted), "{done}");
    assert_eq!(app.user(&c, &id).await["status"], "active");

    // A withdrawn invite.
    let (bob, mail, _) = invite(&app, &c, "bob@example.com").await;
    let resp = app
        .post(&format!("/v1/users/{bob}/revoke-invite"))
        .bearer_auth(&c.key)
        .header("X-Tenant-ID", &c.tenant)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let resp = app
        .get(&format!("/invite?token={}", mail.token()))
        .send()
        .await
        .unwrap();
    let withdrawn = page(resp, 400, speaks.locale).await;
    assert!(withdrawn.contains(speaks.withdrawn), "{withdrawn}");

    // An expired one, on the page and through its form.
    let (_, mail, _) = invite(&app, &c, "cy@example.com").await;
    app.clock.advance(Duration::from_secs(7 * 86_400));
    let token = mail.token();
    let resp = app
        .get(&format!("/invite?token={token}"))
        .send()
        .await
        .unwrap();
    let expired = page(resp, 410, speaks.locale).await;
    assert!(expired.contains(speaks.expired), "{expired}");
    let form = app.post("/invite").form(&[("token", token.as_str())]);
    let expired = page(form.send().await.unwrap(), 410, speaks.locale).await;
    assert!(expired.contains(speaks.expired), "{expired}");
}

on_both_backends!(an_english_tenant_is_answered_in_english);
async fn an_english_tenant_is_answered_in_english(backend: Backend) {
    a_tenant_is_answered_in_its_language(backend, &EN).await;
}

on_both_backends!(a_german_tenant_is_answered_in_german);
async fn a_german_tenant_is_answered_in_german(backend: Backend) {
    a_tenant_is_answered_in_its_language(backend, &DE).await;
}

on_both_backends!(a_french_tenant_is_answered_in_french);
async fn a_french_tenant_is_answered_in_french(backend: Backend) {
    a_tenant_is_answered_in_its_language(backend, &FR).await;
}

on_both_backends!(a_link_that_names_no_tenant_follows_the_browsers_language);
async fn a_link_that_names_no_tenant_follows_the_browsers_language(backend: Backend) {
    let app = spawn_app(backend).await;
    for (accept_language, lang, title) in [
        (None, "en", "This invitation link does not work"),
        (
            Some("de-DE,de;q=0.9,en;q=0.8"),
            "de",
            "Dieser Einladungslink funktioniert nicht",
        ),
        (
            Some("es, fr;q=0.5"),
            "fr",
            "Ce lien d’invitation ne fonctionne pas",
        ),
        (Some("es, it"), "en", "This invitation link does not work"),
    ] {
        let mut get = app.get("/invite?token=garbage");
        let mut post = app.post("/invite").form(&[("token", "garbage")]);
        if let Some(value) = accept_language {
            get = get.header("Accept-Language", value);
            post = post.header("Accept-Language", value);
        }
        for req in [get, post] {
            let resp = req.send().await.unwrap();
            assert_eq!(resp.headers()["vary"], "Accept-Language");
            let refused = page(resp, 400, lang).await;
            assert!(refused.contains(title), "{accept_language:?}: {refused}");
        }
    }
}
