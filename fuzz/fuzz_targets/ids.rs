//! The typed ids' `FromStr` (path ids, the tenant id): never panics; only
//! the 36-character hyphenated form is accepted, in either case; the
//! display form is lower-case, equal to the input but for case, and parses
//! back to the same id. Every id type agrees.
#![no_main]

use std::str::FromStr;

use beckon_fuzz::text;
use beckon_ports::{ApiKeyId, OutboxId, TenantId, UserId};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(raw) = text(data) else { return };
    let tenant = TenantId::from_str(raw);
    assert_eq!(tenant.is_ok(), UserId::from_str(raw).is_ok());
    assert_eq!(tenant.is_ok(), ApiKeyId::from_str(raw).is_ok());
    assert_eq!(tenant.is_ok(), OutboxId::from_str(raw).is_ok());
    let Ok(id) = tenant else { return };
    let shown = id.to_string();
    assert_eq!(shown.len(), 36);
    assert!(shown.eq_ignore_ascii_case(raw), "{shown} vs {raw:?}");
    assert_eq!(shown, shown.to_ascii_lowercase());
    for (i, b) in shown.bytes().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            assert_eq!(b, b'-');
        } else {
            assert!(b.is_ascii_hexdigit());
        }
    }
    assert_eq!(TenantId::from_str(&shown), Ok(id));
    assert_eq!(UserId::from_str(raw).map(|u| u.as_uuid()), Ok(id.as_uuid()));
});
