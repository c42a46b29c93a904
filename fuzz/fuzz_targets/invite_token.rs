//! `InviteToken::parse` (the accept request's token): never panics; an
//! accepted token is exactly the input, 43 base64url characters, re-parses
//! to the same value and hashes as the SHA-256 of its text.
#![no_main]

use beckon_fuzz::text;
use beckon_ports::{InviteToken, SecretHash};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(raw) = text(data) else { return };
    let Some(token) = InviteToken::parse(raw) else {
        // Refused: then it does not have the shape of a token.
        assert!(
            raw.len() != 43
                || !raw
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        return;
    };
    assert_eq!(token.expose(), raw);
    assert_eq!(raw.len(), 43);
    let again = InviteToken::parse(token.expose()).expect("round trip");
    assert!(again == token);
    assert_eq!(token.hash(), SecretHash::of(raw.as_bytes()));
    assert_eq!(format!("{token:?}"), "InviteToken(<redacted>)");
});
