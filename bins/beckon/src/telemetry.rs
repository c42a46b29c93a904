//! Logs: `tracing` to stderr (stdout carries the admin commands' JSON),
//! filtered by `BECKON_LOG`. Use cases never log addresses, tokens or keys.

use tracing_subscriber::EnvFilter;

use crate::config::ConfigError;

/// Installs the subscriber.
pub fn init(filter: &str) -> Result<(), ConfigError> {
    let filter = EnvFilter::try_new(filter).map_err(|e| ConfigError {
        variable: "BECKON_LOG".to_owned(),
        message: format!("not a log filter: {e}"),
    })?;
    // A second install (tests) is harmless; ignore it.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
    Ok(())
}
