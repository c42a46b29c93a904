//! What a server's debug log must not hold, for the suites that run it at
//! `debug`: an address (every test address is `@example.com`), the API
//! key's secret, an accept link. Included by those test binaries.

#![allow(dead_code)] // each test binary uses a part of it

/// The secret part of an API key `bk_<32 hex id>_<secret>` (base64url, so
/// it may hold `_` itself).
pub fn key_secret(key: &str) -> &str {
    let secret = key
        .strip_prefix("bk_")
        .and_then(|rest| rest.get(33..))
        .unwrap_or_default();
    assert_eq!(secret.len(), 43, "the key's secret part");
    secret
}

/// What `log` holds of those, as failures ("the debug log holds …").
pub fn in_log(log: &str, key: &str) -> Vec<String> {
    [
        ("an address", "@example.com"),
        ("the API key's secret", key_secret(key)),
        ("an accept link", "token="),
    ]
    .into_iter()
    .filter(|(_, needle)| log.contains(needle))
    .map(|(what, _)| format!("the debug log holds {what}"))
    .collect()
}

/// Panics unless `log` is at debug and holds none of those.
pub fn assert_none_in(log: &str, key: &str) {
    assert!(log.contains("DEBUG"), "the log is at debug");
    let found = in_log(log, key);
    assert!(found.is_empty(), "{}", found.join("; "));
}
