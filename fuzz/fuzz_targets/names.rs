//! `UserName::parse` and `TenantName::parse`: never panic; an accepted name
//! is the trimmed input, 1 to 200 characters, without control characters
//! (so no CR/LF into a mail subject), and re-parses from its display form to
//! the same value.
#![no_main]

use beckon_fuzz::text;
use beckon_ports::{TenantName, UserName};
use libfuzzer_sys::fuzz_target;

macro_rules! check {
    ($ty:ty, $raw:expr) => {{
        let raw: &str = $raw;
        if let Ok(v) = <$ty>::parse(raw) {
            let s = v.as_str();
            assert_eq!(s, raw.trim());
            assert!((1..=200).contains(&s.chars().count()));
            assert!(!s.chars().any(char::is_control));
            assert_eq!(s, s.trim());
            let shown = v.to_string();
            assert_eq!(shown, s);
            assert!(<$ty>::parse(&shown) == Ok(v.clone()));
            assert_eq!(format!("{v:?}"), concat!(stringify!($ty), "(<redacted>)"));
        } else {
            // Refused: then it is blank, too long, or holds a control character.
            let t = raw.trim();
            assert!(t.is_empty() || t.chars().count() > 200 || t.chars().any(char::is_control));
        }
    }};
}

fuzz_target!(|data: &[u8]| {
    let Some(raw) = text(data) else { return };
    check!(UserName, raw);
    check!(TenantName, raw);
});
