//! `PresentedApiKey::parse` (the `Authorization: Bearer` value): never
//! panics; an accepted key is `bk_` + 32 hex digits + `_` + 43 base64url
//! characters (79 bytes); its id is those 32 hex digits; it matches exactly
//! the hash of its secret part; and rebuilt the way `NewApiKey` writes keys
//! it parses to the same id. Debug shows the id only.
#![no_main]

use beckon_fuzz::text;
use beckon_ports::{PresentedApiKey, SecretHash};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(raw) = text(data) else { return };
    let Some(key) = PresentedApiKey::parse(raw) else {
        return;
    };
    assert_eq!(raw.len(), 79);
    assert!(raw.is_ascii());
    assert!(raw.starts_with("bk_"));
    let (id_hex, secret) = (&raw[3..35], &raw[36..]);
    assert_eq!(&raw[35..36], "_");
    let id = key.id();
    let simple = id.as_uuid().simple().to_string();
    assert!(simple.eq_ignore_ascii_case(id_hex), "{simple} vs {id_hex}");
    assert!(key.matches(&SecretHash::of(secret.as_bytes())));
    assert!(!key.matches(&SecretHash::of(raw.as_bytes())));
    let rebuilt = format!("bk_{simple}_{secret}");
    let again = PresentedApiKey::parse(&rebuilt).expect("canonical form parses");
    assert_eq!(again.id(), id);
    assert!(again.matches(&SecretHash::of(secret.as_bytes())));
    assert!(!format!("{key:?}").contains(secret));
});
