//! Tests of message rendering: content, Message-ID, escaping, encoding.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use beckon_ports::{Email, InviteToken, Locale, TenantName, UserName};
use chrono::TimeZone;
use uuid::Uuid;

pub(crate) fn email(name: Option<&str>, tenant: &str) -> InviteEmail {
    email_in(Locale::En, name, tenant)
}

pub(crate) fn email_in(locale: Locale, name: Option<&str>, tenant: &str) -> InviteEmail {
    InviteEmail {
        locale,
        to: Email::parse("ada@example.com").unwrap(),
        to_name: name.map(|n| UserName::parse(n).unwrap()),
        tenant_name: TenantName::parse(tenant).unwrap(),
        token: InviteToken::from_bytes([0xab; 32]),
        expires_at: Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap(),
    }
}

fn id(n: u128) -> OutboxId {
    OutboxId::from_uuid(Uuid::from_u128(n))
}

fn cfg() -> MailConfig {
    MailConfig::new(
        "Beckon <no-reply@beckon.example>",
        "https://beckon.example/invite?src=mail&token={token}",
    )
    .unwrap()
}

fn formatted(m: &Message) -> String {
    String::from_utf8(m.formatted()).unwrap()
}

fn header_section(m: &Message) -> String {
    let all = formatted(m);
    all.split("\r\n\r\n").next().unwrap().to_owned()
}

#[test]
fn rendering_has_a_plain_text_and_an_html_part() {
    let m = render(id(1), &email(Some("Ada"), "Acme"), &cfg()).unwrap();
    let all = formatted(&m);
    assert!(all.contains("multipart/alternative"), "{all}");
    assert!(
        all.contains("Content-Type: text/plain; charset=utf-8"),
        "{all}"
    );
    assert!(
        all.contains("Content-Type: text/html; charset=utf-8"),
        "{all}"
    );
}

#[test]
fn the_subject_names_the_tenant() {
    let b = render_bodies(&email(None, "Acme"), &cfg());
    assert_eq!(b.subject, "You're invited to join Acme");
    let m = render(id(1), &email(None, "Acme"), &cfg()).unwrap();
    assert!(header_section(&m).contains("Subject: You're invited to join Acme"));
}

#[test]
fn the_link_contains_the_token_in_both_parts() {
    let e = email(None, "Acme");
    let token = e.token.expose().to_owned();
    let b = render_bodies(&e, &cfg());
    let link = format!("https://beckon.example/invite?src=mail&token={token}");
    assert!(b.text.contains(&link), "{}", b.text);
    let escaped = format!("href=\"https://beckon.example/invite?src=mail&amp;token={token}\"");
    assert!(b.html.contains(&escaped), "{}", b.html);
}

#[test]
fn the_expiry_is_shown_in_words_in_utc() {
    let b = render_bodies(&email(None, "Acme"), &cfg());
    assert!(
        b.text.contains("3 December 2026 at 10:00 UTC"),
        "{}",
        b.text
    );
    assert!(
        b.html.contains("3 December 2026 at 10:00 UTC"),
        "{}",
        b.html
    );
}

#[test]
fn the_greeting_uses_the_name_when_there_is_one() {
    assert!(
        render_bodies(&email(Some("Ada Lovelace"), "Acme"), &cfg())
            .text
            .starts_with("Hello Ada Lovelace,\n")
    );
    assert!(
        render_bodies(&email(None, "Acme"), &cfg())
            .text
            .starts_with("Hello,\n")
    );
}

#[test]
fn the_message_id_is_the_same_for_two_renders_of_one_id_and_differs_for_another() {
    let e = email(None, "Acme");
    let header = |m: &Message| {
        header_section(m)
            .lines()
            .find(|l| l.starts_with("Message-ID: "))
            .unwrap()
            .to_owned()
    };
    let a = header(&render(id(7), &e, &cfg()).unwrap());
    let b = header(&render(id(7), &e, &cfg()).unwrap());
    let c = header(&render(id(8), &e, &cfg()).unwrap());
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(
        a,
        format!(
            "Message-ID: <{}@beckon.example>",
            Uuid::from_u128(7).hyphenated()
        )
    );
}

#[test]
fn script_tags_and_quotes_in_names_are_escaped_in_html() {
    let e = email(
        Some("<script>alert(\"x\")</script>"),
        "Acme\" onmouseover='x' <b>",
    );
    let b = render_bodies(&e, &cfg());
    assert!(!b.html.contains("<script>"), "{}", b.html);
    assert!(!b.html.contains("<b>"), "{}", b.html);
    assert!(!b.html.contains("\" onmouseover"), "{}", b.html);
    assert!(
        b.html
            .contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"),
        "{}",
        b.html
    );
    assert!(
        b.html
            .contains("Acme&quot; onmouseover=&#x27;x&#x27; &lt;b&gt;"),
        "{}",
        b.html
    );
    // The plain-text part is not HTML: it keeps the name as typed.
    assert!(b.text.contains("Hello <script>alert(\"x\")</script>,"));
}

#[test]
fn non_ascii_names_are_encoded_in_headers() {
    let m = render(id(1), &email(Some("Zoë Ångström"), "Café Ünïon"), &cfg()).unwrap();
    let headers = header_section(&m);
    assert!(headers.is_ascii(), "{headers}");
    assert!(
        headers.to_ascii_lowercase().contains("=?utf-8?"),
        "{headers}"
    );
    assert!(headers.contains("<ada@example.com>"), "{headers}");
}

#[test]
fn a_name_that_looks_like_a_header_or_another_mailbox_adds_no_recipient() {
    let e = email(Some("Eve\" <eve@evil.test>, Bcc: x@evil.test"), "Acme");
    let m = render(id(1), &e, &cfg()).unwrap();
    let to: Vec<String> = m.envelope().to().iter().map(ToString::to_string).collect();
    assert_eq!(to, ["ada@example.com"]);
    let headers = header_section(&m);
    assert!(!headers.lines().any(|l| l.starts_with("Bcc:")), "{headers}");
    let to_header: String = headers
        .split("\r\n")
        .skip_while(|l| !l.starts_with("To:"))
        .take_while(|l| l.starts_with("To:") || l.starts_with(' '))
        .collect();
    // The only angle-bracketed address outside the encoded name is ours.
    assert!(to_header.ends_with("<ada@example.com>"), "{to_header}");
    assert!(!to_header.contains("<eve@evil.test>"), "{to_header}");
}

#[test]
fn control_characters_in_stored_values_cannot_split_a_header() {
    // The ports refuse these; a row that bypassed them still renders safely.
    assert_eq!(one_line("Acme\r\nBcc: x@y.z"), "Acme  Bcc: x@y.z");
}

#[test]
fn an_ascii_message_keeps_the_link_whole_so_it_can_be_copied_from_the_file() {
    let e = email(Some("Ada"), "Acme");
    let all = formatted(&render(id(1), &e, &cfg()).unwrap());
    assert!(!all.contains("quoted-printable"), "{all}");
    assert_eq!(
        all.matches("Content-Transfer-Encoding: 7bit").count(),
        2,
        "{all}"
    );
    let link = format!(
        "https://beckon.example/invite?src=mail&token={}\r\n",
        e.token.expose()
    );
    assert!(all.contains(&link), "{all}");
    assert!(all.lines().all(|l| l.len() <= 998));
}

#[test]
fn a_non_ascii_body_falls_back_to_a_transfer_encoding() {
    let all = formatted(&render(id(1), &email(Some("Zoë"), "Acme"), &cfg()).unwrap());
    assert!(all.is_ascii(), "{all}");
    assert!(!all.contains("Content-Transfer-Encoding: 7bit"), "{all}");
}

/// What each locale must say: the subject, the greeting with and without
/// a name, sentences of the text, the button, the date.
struct Expected {
    locale: Locale,
    subject: &'static str,
    greeting: &'static str,
    greeting_no_name: &'static str,
    sentences: [&'static str; 3],
    button: &'static str,
    date: &'static str,
}

const EXPECTED: [Expected; 3] = [
    Expected {
        locale: Locale::En,
        subject: "You're invited to join Acme",
        greeting: "Hello Ada,",
        greeting_no_name: "Hello,",
        sentences: [
            "You have been invited to join Acme.",
            "To accept the invitation, open this link:",
            "If you were not expecting this invitation, you can ignore this email.",
        ],
        button: ">Accept invitation</a>",
        date: "The link works until 3 December 2026 at 10:00 UTC.",
    },
    Expected {
        locale: Locale::De,
        subject: "Ihre Einladung zu Acme",
        greeting: "Guten Tag Ada,",
        greeting_no_name: "Guten Tag,",
        sentences: [
            "Sie wurden eingeladen, Acme beizutreten.",
            "Um die Einladung anzunehmen, öffnen Sie bitte diesen Link:",
            "Falls Sie diese Einladung nicht erwartet haben, können Sie diese E-Mail ignorieren.",
        ],
        button: ">Einladung annehmen</a>",
        date: "Der Link ist bis zum 3. Dezember 2026 um 10:00 UTC gültig.",
    },
    Expected {
        locale: Locale::Fr,
        subject: "Invitation à rejoindre Acme",
        greeting: "Bonjour Ada,",
        greeting_no_name: "Bonjour,",
        sentences: [
            "Vous avez reçu une invitation à rejoindre Acme.",
            "Pour accepter l’invitation, ouvrez ce lien\u{a0}:",
            "Si vous n’attendiez pas cette invitation, vous pouvez ignorer cet e-mail.",
        ],
        button: ">Accepter l’invitation</a>",
        date: "Le lien est valable jusqu’au 3 décembre 2026 à 10:00 UTC.",
    },
];

#[test]
fn each_locale_writes_subject_text_and_html_in_its_language() {
    for x in EXPECTED {
        let b = render_bodies(&email_in(x.locale, Some("Ada"), "Acme"), &cfg());
        assert_eq!(b.subject, x.subject);
        assert!(
            b.text.starts_with(&format!("{}\n", x.greeting)),
            "{}",
            b.text
        );
        assert!(
            b.html.contains(&format!("<html lang=\"{}\">", x.locale)),
            "{}",
            b.html
        );
        assert!(
            b.html
                .contains(&format!("<title>{}</title>", escape_html(x.subject))),
            "{}",
            b.html
        );
        assert!(
            b.html.contains(&format!("<p>{}</p>", x.greeting)),
            "{}",
            b.html
        );
        for s in x.sentences.iter().chain([&x.date]) {
            assert!(b.text.contains(s), "{:?}: {s:?} in {}", x.locale, b.text);
        }
        // The HTML part carries the same sentences (bar the one leading to
        // the link, which is the button there), the tenant in bold.
        assert!(b.html.contains(x.sentences[2]), "{}", b.html);
        assert!(b.html.contains(x.date), "{}", b.html);
        assert!(b.html.contains(x.button), "{}", b.html);
        assert!(b.html.contains("<strong>Acme</strong>"), "{}", b.html);
        let nameless = render_bodies(&email_in(x.locale, None, "Acme"), &cfg());
        assert!(
            nameless
                .text
                .starts_with(&format!("{}\n", x.greeting_no_name))
        );
    }
}

#[test]
fn the_german_and_french_texts_are_not_the_english_one() {
    let en = render_bodies(&email_in(Locale::En, Some("Ada"), "Acme"), &cfg());
    for locale in [Locale::De, Locale::Fr] {
        let b = render_bodies(&email_in(locale, Some("Ada"), "Acme"), &cfg());
        for english in ["invited", "Hello", "link works", "ignore this email"] {
            assert!(
                !b.text.contains(english),
                "{locale}: {english:?} in {}",
                b.text
            );
        }
        assert!(!b.html.contains("Accept invitation"), "{}", b.html);
        assert_ne!(b.subject, en.subject);
    }
}

#[test]
fn hostile_names_are_escaped_in_every_locale() {
    for locale in Locale::ALL {
        let e = email_in(
            locale,
            Some("<script>alert(\"x\")</script>"),
            "Acme\" onmouseover='x' <b>",
        );
        let b = render_bodies(&e, &cfg());
        assert!(!b.html.contains("<script>"), "{locale}: {}", b.html);
        assert!(!b.html.contains("<b>"), "{locale}: {}", b.html);
        assert!(!b.html.contains("\" onmouseover"), "{locale}: {}", b.html);
        assert!(
            b.html
                .contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"),
            "{locale}: {}",
            b.html
        );
        assert!(
            b.html
                .contains("<strong>Acme&quot; onmouseover=&#x27;x&#x27; &lt;b&gt;</strong>"),
            "{locale}: {}",
            b.html
        );
        // The subject is a header, not HTML: lettre encodes it; the title
        // that repeats it in the HTML part is escaped.
        assert!(
            b.subject.contains("Acme\" onmouseover='x' <b>"),
            "{}",
            b.subject
        );
        assert!(!b.html.contains("<title>Acme\""), "{}", b.html);
    }
}

#[test]
fn a_german_or_french_message_is_transfer_encoded_and_keeps_its_headers_ascii() {
    for locale in [Locale::De, Locale::Fr] {
        let m = render(id(1), &email_in(locale, Some("Ada"), "Acme"), &cfg()).unwrap();
        let all = formatted(&m);
        assert!(all.is_ascii(), "{all}");
        assert!(!all.contains("Content-Transfer-Encoding: 7bit"), "{all}");
    }
    let fr = render(id(1), &email_in(Locale::Fr, None, "Acme"), &cfg()).unwrap();
    let subject = header_section(&fr)
        .lines()
        .find(|l| l.starts_with("Subject: "))
        .unwrap()
        .to_ascii_lowercase();
    assert!(subject.contains("=?utf-8?"), "{subject}");
}
