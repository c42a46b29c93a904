//! The invite email as the file mailer writes it (CONTRACT §5).

use std::time::Duration;

use crate::helpers::{
    Backend, header, json_ok, on_both_backends, read_email, spawn_app, spawn_app_with,
    token_from_email,
};

on_both_backends!(the_invite_email_names_the_tenant_has_both_parts_the_link_and_a_message_id);
async fn the_invite_email_names_the_tenant_has_both_parts_the_link_and_a_message_id(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme Widgets").await;
    let user = app.invite(&c, "ada@example.com").await;
    let path = app.wait_for_emails_to("ada@example.com", 1).await.remove(0);
    let text = read_email(&path);

    let subject = header(&text, "Subject").expect("Subject");
    assert!(subject.contains("Acme Widgets"), "{subject}");
    let mid = header(&text, "Message-ID").expect("Message-ID");
    assert!(
        mid.starts_with('<') && mid.ends_with('>') && mid.contains('@'),
        "{mid}"
    );
    assert!(header(&text, "From").is_some_and(|f| f.contains("no-reply@localhost")));
    let ct = header(&text, "Content-Type").expect("Content-Type");
    assert!(ct.starts_with("multipart/alternative"), "{ct}");
    let lower = text.to_lowercase();
    let plain = lower
        .find("content-type: text/plain")
        .expect("a text/plain part");
    let html = lower
        .find("content-type: text/html")
        .expect("a text/html part");
    assert!(plain < html, "plain text first, HTML last (preferred)");

    let token = token_from_email(&path);
    let link = format!("http://127.0.0.1:8080/invite?token={token}");
    assert!(
        text[plain..html].contains(&link),
        "the link in the text part"
    );
    assert!(text[html..].contains(&link), "the link in the HTML part");
    // When it expires, in words.
    let expires =
        chrono::DateTime::parse_from_rfc3339(user["invite"]["expires_at"].as_str().unwrap())
            .unwrap();
    let when = expires.format("%B %Y").to_string();
    assert!(
        text[plain..html].contains(&when),
        "expiry {when} in the text part"
    );
}

on_both_backends!(the_delivered_token_works_once);
async fn the_delivered_token_works_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme").await;
    let id = app.invite_id(&c, "ada@example.com").await;
    let path = app.wait_for_emails_to("ada@example.com", 1).await.remove(0);
    let token = token_from_email(&path);
    assert_eq!(
        json_ok(app.accept(&token).await, 200).await["user_id"],
        id.as_str()
    );
    assert_eq!(app.accept(&token).await.status().as_u16(), 400);
}

on_both_backends!(every_message_is_one_file_named_by_a_uuid);
async fn every_message_is_one_file_named_by_a_uuid(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.resend_cooldown = Duration::ZERO).await;
    let c = app.admin("Acme").await;
    let a = app.invite_id(&c, "ada@example.com").await;
    app.invite_id(&c, "bob@example.com").await;
    json_ok(app.resend(&c, &a).await, 200).await;
    app.wait_for_emails(3, crate::helpers::MAIL_TIMEOUT).await;
    tokio::time::sleep(crate::helpers::SETTLE).await;

    let names: Vec<String> = std::fs::read_dir(&app.mail_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    for name in &names {
        let stem = name
            .strip_suffix(".eml")
            .unwrap_or_else(|| panic!("{name}"));
        assert!(uuid::Uuid::parse_str(stem).is_ok(), "{name}");
    }
    let ids: std::collections::HashSet<_> = app
        .emails()
        .iter()
        .map(|p| header(&read_email(p), "Message-ID").unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "a Message-ID per message");
}

on_both_backends!(names_cannot_inject_markup_into_the_html_part);
async fn names_cannot_inject_markup_into_the_html_part(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.admin("Acme <b>&co").await;
    let body =
        serde_json::json!({ "email": "ada@example.com", "name": "<script>alert(1)</script>" });
    json_ok(app.post_user(&c, &body).await, 201).await;
    let path = app.wait_for_emails_to("ada@example.com", 1).await.remove(0);
    let text = read_email(&path);
    let html = &text[text.to_lowercase().find("content-type: text/html").unwrap()..];
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    assert!(html.contains("Acme &lt;b&gt;&amp;co"), "{html}");
    let to = header(&text, "To").unwrap();
    assert!(to.contains("ada@example.com"), "{to}");
    assert!(header(&text, "Bcc").is_none() && header(&text, "Cc").is_none());
}
