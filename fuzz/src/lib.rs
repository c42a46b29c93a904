//! Shared by the fuzz targets: the `beckon` binary's configuration module,
//! compiled from its own source file so that the fuzz build depends on
//! `toml` and `thiserror` only, not on the whole server (actix, diesel, …).
//! The targets therefore exercise exactly the code the server runs.

/// `bins/beckon/src/config.rs`, as is.
#[allow(dead_code)]
#[path = "../../bins/beckon/src/config.rs"]
pub mod config;

/// The fuzz input as text; `None` when it is not UTF-8 (every parser here
/// takes a `&str`, which is what the HTTP layer and the environment give).
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}
