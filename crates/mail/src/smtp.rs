//! The SMTP transport on lettre's pooled async client, and the mapping of
//! lettre's errors onto transient and permanent delivery failures.

use std::sync::OnceLock;

use beckon_ports::{InviteEmail, MailError};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::{AsyncSmtpTransportBuilder, PoolConfig};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::MailConfigError;
use crate::transport::{SmtpSecurity, SmtpTarget};

/// Reply codes that are permanent for the session but say nothing about
/// the message: authentication failures (RFC 4954). Retrying helps once the
/// operator fixes the credentials, so they must not drop the invite.
const CONFIGURATION_CODES: [&str; 4] = ["530", "534", "535", "538"];
/// The most connections kept open to the SMTP server: as many as the
/// delivery worker sends at once (`DeliveryPolicy::concurrency`), so that
/// no send waits for a connection. lettre's default is 10.
const SMTP_CONNECTIONS: u32 = 32;
/// The longest reason kept from a server reply.
const MAX_REASON: usize = 300;

/// Sends through one SMTP server.
pub(crate) struct SmtpSink {
    builder: AsyncSmtpTransportBuilder,
    // lettre's pool spawns its cleanup task on `build`, which needs a
    // running Tokio runtime. Building on first send lets the mailer be
    // constructed anywhere (before the runtime, in sync config code) and
    // still never connects before there is something to send.
    transport: OnceLock<AsyncSmtpTransport<Tokio1Executor>>,
}

impl SmtpSink {
    /// Prepares the client. Does no I/O.
    pub(crate) fn new(target: &SmtpTarget) -> Result<Self, MailConfigError> {
        let tls_params = || {
            TlsParameters::new(target.host.clone()).map_err(|_| {
                MailConfigError::new(
                    "BECKON_MAILER",
                    "the host cannot be used as a TLS server name",
                )
            })
        };
        let tls = match target.security {
            SmtpSecurity::None => Tls::None,
            SmtpSecurity::Opportunistic => Tls::Opportunistic(tls_params()?),
            SmtpSecurity::StartTls => Tls::Required(tls_params()?),
            SmtpSecurity::Implicit => Tls::Wrapper(tls_params()?),
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(target.host.clone())
                .port(target.port)
                .tls(tls)
                .timeout(Some(target.timeout))
                .pool_config(PoolConfig::new().max_size(SMTP_CONNECTIONS));
        if let Some((user, pass)) = &target.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
        }
        Ok(Self {
            builder,
            transport: OnceLock::new(),
        })
    }

    /// Whether the server answers: a connection from the pool (a new one if
    /// none is idle) and a `NOOP`.
    pub(crate) async fn probe(&self) -> Result<(), MailError> {
        let transport = self.transport.get_or_init(|| self.builder.clone().build());
        match transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(MailError::Unreachable(
                "SMTP: the server did not answer NOOP".to_owned(),
            )),
            // No message is involved, so there is nothing to redact beyond
            // what lettre says about the connection.
            Err(e) => Err(MailError::Unreachable(format!("SMTP: {e}"))),
        }
    }

    /// Sends one message; `email` is only used to keep its address and token
    /// out of the error text.
    pub(crate) async fn send(
        &self,
        message: Message,
        email: &InviteEmail,
    ) -> Result<(), MailError> {
        let transport = self.transport.get_or_init(|| self.builder.clone().build());
        match transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) => Err(classify(&e, email)),
        }
    }
}

/// Permanent only for a 5xx reply about this message; `Unreachable` when
/// no reply came at all (refused or reset connection, timeout, TLS);
/// transient for the rest (4xx, authentication).
pub(crate) fn classify(err: &lettre::transport::smtp::Error, email: &InviteEmail) -> MailError {
    let reason = redact(&format!("SMTP: {err}"), email);
    // lettre names no "connection" kind publicly: an error that is neither
    // a server reply, nor a reply lettre could not parse, nor its own bug
    // is the network's (connect, I/O, timeout, TLS, pool shut down).
    if err.status().is_none() && !err.is_response() && !err.is_client() {
        return MailError::Unreachable(reason);
    }
    let configuration = err
        .status()
        .is_some_and(|c| CONFIGURATION_CODES.contains(&c.to_string().as_str()));
    if err.is_permanent() && !configuration {
        MailError::Permanent(reason)
    } else {
        MailError::Transient(reason)
    }
}

/// Removes what must not reach logs or the outbox row: servers often echo
/// the recipient (`550 <ada@example.com>: no such user`), so every word
/// holding an `@` goes, and so does the token should anything echo it.
pub(crate) fn redact(text: &str, email: &InviteEmail) -> String {
    let token = email.token.expose();
    let text = if token.is_empty() {
        text.to_owned()
    } else {
        text.replace(token, "[token]")
    };
    let is_boundary = |c: char| c.is_whitespace() || "<>()[]{}\"',;".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.contains('@') {
            out.push_str("[address]");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if is_boundary(c) {
            flush(&mut word, &mut out);
            // Controls would split the log line or the stored reason.
            out.push(if c.is_control() { ' ' } else { c });
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    if out.chars().count() > MAX_REASON {
        out = out.chars().take(MAX_REASON).collect::<String>() + "…";
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::render::tests::email;

    #[test]
    fn redaction_removes_addresses_in_any_case_and_the_token() {
        let e = email(None, "Acme");
        let text = format!(
            "permanent error (550): 5.1.1 <ADA@Example.com>: unknown; also ada@example.com, token {}\r\nnext",
            e.token.expose()
        );
        let r = redact(&text, &e);
        assert_eq!(
            r,
            "permanent error (550): 5.1.1 <[address]>: unknown; also [address], token [token]  next"
        );
    }

    #[test]
    fn long_server_replies_are_cut_short() {
        let r = redact(&"x ".repeat(1000), &email(None, "Acme"));
        assert_eq!(r.chars().count(), MAX_REASON + 1);
    }
}
