//! `Email::parse`: never panics; an accepted address is the trimmed input,
//! plain ASCII of at most 254 bytes with exactly one `@` and a local part of
//! at most 64, holds nothing that could break a mail header, and parses
//! again (as itself, padded, and lower-cased) to the same value.
#![no_main]

use beckon_fuzz::text;
use beckon_ports::Email;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(raw) = text(data) else { return };
    let Ok(email) = Email::parse(raw) else { return };
    let s = email.as_str();
    assert_eq!(s, raw.trim());
    assert!((1..=254).contains(&s.len()));
    assert!(s.is_ascii());
    assert!(
        !s.bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    );
    assert!(!s.contains(['<', '>', '"', '(', ')', ',', ';', ':', '\\', '[', ']']));
    assert_eq!(s.matches('@').count(), 1);
    let (local, domain) = s.split_once('@').expect("one @");
    assert!((1..=64).contains(&local.len()));
    assert!(domain.contains('.'));

    // Round trip: the value re-parses to itself, also when padded again.
    assert!(Email::parse(s) == Ok(email.clone()));
    assert!(Email::parse(&format!(" \t{s}\n")) == Ok(email.clone()));
    // The normalized form is an address too, and normalizing is idempotent.
    let norm = email.normalized();
    let again = Email::parse(&norm).expect("normalized form parses");
    assert_eq!(again.normalized(), norm);
    assert!(norm.eq_ignore_ascii_case(s));
    // Debug never shows the address.
    assert_eq!(format!("{email:?}"), "Email(<redacted>)");
});
