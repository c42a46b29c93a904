//! The small header and query values: `Role`, `IdempotencyKey`,
//! `RequestId`, `UserStatus` and the stored `SecretHash` hex. None panics;
//! each accepted value is exactly the input, within its length bounds and
//! alphabet, and re-parses from its text to the same value.
#![no_main]

use beckon_fuzz::text;
use beckon_ports::{IdempotencyKey, RequestId, Role, SecretHash, UserStatus};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(raw) = text(data) else { return };

    if let Ok(role) = Role::parse(raw) {
        assert_eq!(role.as_str(), raw);
        assert!((1..=64).contains(&raw.len()));
        assert!(
            raw.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        );
        assert_eq!(Role::parse(&role.to_string()), Ok(role));
    }

    if let Ok(key) = IdempotencyKey::parse(raw) {
        assert_eq!(key.as_str(), raw);
        assert!((1..=255).contains(&raw.len()));
        assert!(raw.bytes().all(|b| (0x20..=0x7e).contains(&b)));
        assert_eq!(IdempotencyKey::parse(key.as_str()), Ok(key));
    }

    if let Ok(id) = RequestId::parse(raw) {
        assert_eq!(id.as_str(), raw);
        // CONTRACT §7: 1–200 printable ASCII characters.
        assert!((1..=200).contains(&raw.len()));
        assert!(raw.bytes().all(|b| (0x20..=0x7e).contains(&b)));
        assert_eq!(RequestId::parse(&id.to_string()), Ok(id));
    }

    if let Some(status) = UserStatus::parse(raw) {
        assert_eq!(status.as_str(), raw);
        assert_eq!(UserStatus::parse(status.as_str()), Some(status));
    }

    if let Some(hash) = SecretHash::from_hex(raw) {
        let hex = hash.to_hex();
        assert!(hex.eq_ignore_ascii_case(raw), "{hex} vs {raw:?}");
        assert_eq!(SecretHash::from_hex(&hex), Some(hash));
        let _ = format!("{hash:?}");
    }
});
