//! Logs: `tracing` to stderr (stdout carries the admin commands' JSON),
//! filtered by `BECKON_LOG`, as text or one JSON object a line
//! (`BECKON_LOG_FORMAT`). Use cases never log addresses, tokens or keys.

use tracing_subscriber::EnvFilter;

use crate::config::{ConfigError, LogFormat};

/// Installs the subscriber.
pub fn init(filter: &str, format: LogFormat) -> Result<(), ConfigError> {
    let filter = EnvFilter::try_new(filter).map_err(|e| ConfigError {
        variable: "BECKON_LOG".to_owned(),
        message: format!("not a log filter: {e}"),
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second install (tests) is harmless; ignore it.
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_target(false)
            .try_init(),
        // One object a line: timestamp, level, target, the event's fields
        // (`message` among them) at the top, the innermost span's fields
        // under `span` and every enclosing span's under `spans`, so that a
        // use case's line inside a request carries its `request_id` too.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
    Ok(())
}
