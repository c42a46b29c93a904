//! Beckon's `Mailer` on lettre: renders invite emails and delivers them to
//! a folder of `.eml` files or through an SMTP server.
//!
//! The binary builds a [`MailConfig`] from `BECKON_MAIL_FROM` and
//! `BECKON_ACCEPT_URL`, then calls [`mailer_from_url`] with `BECKON_MAILER`.
#![forbid(unsafe_code)]

mod config;
mod file;
mod render;
mod smtp;
mod transport;
mod words;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use beckon_ports::{InviteEmail, MailError, Mailer, OutboxId};

pub use config::{DEFAULT_ACCEPT_URL, DEFAULT_FROM, MailConfig, MailConfigError};
pub use render::{
    RenderError, RenderedBodies, escape_html, format_expiry, message_id, render, render_bodies,
};
pub use transport::{DEFAULT_SMTP_TIMEOUT, SmtpSecurity, SmtpTarget, Transport};

use file::FileSink;
use smtp::SmtpSink;

/// Parses `url` (`BECKON_MAILER`) and builds the mailer. Creates the folder
/// of a `file://` transport; never connects to an SMTP server (that happens
/// on the first send). Safe to call outside a Tokio runtime.
pub fn mailer_from_url(url: &str, cfg: MailConfig) -> Result<Arc<dyn Mailer>, MailConfigError> {
    Ok(Arc::new(LettreMailer::new(Transport::parse(url)?, cfg)?))
}

/// The [`Mailer`] implementation.
pub struct LettreMailer {
    cfg: MailConfig,
    sink: Sink,
    /// The bound on one whole send (see [`Mailer::max_send_time`]).
    max_send: Duration,
}

/// How many connect or command timeouts one SMTP send may use up in all:
/// a healthy send is a connection (often pooled), a handful of commands and
/// the data, each bounded on its own by the transport's timeout; a server
/// that drags every step out is cut off here instead.
const SMTP_SEND_TIMEOUTS: u32 = 3;
/// The bound on writing one message file.
const FILE_SEND_TIME: Duration = Duration::from_secs(10);

enum Sink {
    File(FileSink),
    Smtp(SmtpSink),
}

impl LettreMailer {
    /// Builds a mailer for a parsed transport. See [`mailer_from_url`].
    pub fn new(transport: Transport, cfg: MailConfig) -> Result<Self, MailConfigError> {
        let (sink, max_send) = match transport {
            Transport::File(dir) => (Sink::File(FileSink::new(dir)?), FILE_SEND_TIME),
            Transport::Smtp(target) => (
                Sink::Smtp(SmtpSink::new(&target)?),
                target.timeout().saturating_mul(SMTP_SEND_TIMEOUTS),
            ),
        };
        Ok(Self {
            cfg,
            sink,
            max_send,
        })
    }

    /// Where the file transport writes message `id`; `None` for SMTP.
    pub fn file_path(&self, id: OutboxId) -> Option<PathBuf> {
        match &self.sink {
            Sink::File(f) => Some(f.path_of(id)),
            Sink::Smtp(_) => None,
        }
    }
}

impl std::fmt::Debug for LettreMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.sink {
            Sink::File(_) => "file",
            Sink::Smtp(_) => "smtp",
        };
        f.debug_struct("LettreMailer")
            .field("transport", &kind)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Mailer for LettreMailer {
    #[tracing::instrument(name = "mail.send", skip_all, fields(outbox_id = %id))]
    async fn send(&self, id: OutboxId, email: &InviteEmail) -> Result<(), MailError> {
        // Bad stored data renders the same way every time: no retry helps.
        let message =
            render(id, email, &self.cfg).map_err(|e| MailError::Permanent(e.to_string()))?;
        let send = async {
            match &self.sink {
                Sink::File(f) => f.write(id, message.formatted()).await,
                Sink::Smtp(s) => s.send(message, email).await,
            }
        };
        // Dropping the send on expiry closes its connection before the
        // server's final reply, so the server must not deliver it (a
        // duplicate is still possible if it does: at least once).
        let result = match tokio::time::timeout(self.max_send, send).await {
            Ok(result) => result,
            Err(_) => Err(MailError::Unreachable(format!(
                "sending took longer than {:?}",
                self.max_send
            ))),
        };
        match &result {
            Ok(()) => tracing::debug!("message handed over"),
            // The reason is already free of addresses and the token.
            Err(e) => tracing::debug!(error = %e, "message not delivered"),
        }
        result
    }

    async fn probe(&self) -> Result<(), MailError> {
        let probe = async {
            match &self.sink {
                // A folder that cannot be written fails the send as
                // `Transient`, never as `Unreachable`: nothing to probe.
                Sink::File(_) => Ok(()),
                Sink::Smtp(s) => s.probe().await,
            }
        };
        match tokio::time::timeout(self.max_send, probe).await {
            Ok(result) => result,
            Err(_) => Err(MailError::Unreachable(format!(
                "the probe took longer than {:?}",
                self.max_send
            ))),
        }
    }

    fn max_send_time(&self) -> Duration {
        self.max_send
    }
}
