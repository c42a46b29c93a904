//! `config::duration` (`BECKON_INVITE_TTL`, `BECKON_RESEND_COOLDOWN`,
//! `BECKON_DATABASE_ACQUIRE_TIMEOUT`): never panics (no overflow); an
//! accepted value is a whole number and one unit of s/m/h/d, at most ten
//! years, whole seconds, and its seconds written as `<n>s` parse to the same
//! duration; a refusal names the variable.
#![no_main]

use beckon_fuzz::config::duration;
use beckon_fuzz::text;
use libfuzzer_sys::fuzz_target;

const TEN_YEARS: u64 = 10 * 365 * 86_400;

fuzz_target!(|data: &[u8]| {
    let Some(raw) = text(data) else { return };
    match duration("BECKON_X", raw) {
        Ok(d) => {
            assert!(d.as_secs() <= TEN_YEARS);
            assert_eq!(d.subsec_nanos(), 0);
            let t = raw.trim();
            let (digits, unit) = t.split_at(t.len() - 1);
            assert!(!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()));
            assert!(["s", "m", "h", "d"].contains(&unit), "{raw:?}");
            let secs = format!("{}s", d.as_secs());
            assert_eq!(duration("BECKON_X", &secs), Ok(d));
        }
        Err(e) => assert_eq!(e.variable, "BECKON_X"),
    }
});
