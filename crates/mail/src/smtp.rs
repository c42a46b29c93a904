//! The SMTP transport: lettre's SMTP client on connections Beckon opens and
//! pools itself, and the mapping of lettre's errors onto transient and
//! permanent delivery failures.
//!
//! Why not lettre's own pooled transport: it opens its TCP connections
//! without `TCP_NODELAY`, so the end of each message (the short `.` line
//! after the data) waits for the server's delayed ACK — about 40 ms per
//! message per connection, which capped delivery at a few hundred messages
//! a second whatever the server could take. Here the socket is opened with
//! `TCP_NODELAY` and handed to `AsyncSmtpConnection::connect_with_transport`;
//! STARTTLS, authentication and the SMTP dialogue stay lettre's.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use beckon_ports::{InviteEmail, MailError};
use lettre::Message;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use tokio::net::TcpStream;

use crate::config::MailConfigError;
use crate::transport::{SmtpSecurity, SmtpTarget};

/// Reply codes that are permanent for the session but say nothing about
/// the message: authentication failures (RFC 4954). Retrying helps once the
/// operator fixes the credentials, so they must not drop the invite.
const CONFIGURATION_CODES: [&str; 4] = ["530", "534", "535", "538"];
/// The most idle connections kept open to the SMTP server: as many as the
/// delivery worker sends at once (`DeliveryPolicy::concurrency`), so that
/// no send waits to connect.
const SMTP_CONNECTIONS: usize = 32;
/// An idle connection older than this is closed rather than reused:
/// servers drop idle sessions (RFC 5321 suggests 5 minutes).
const MAX_IDLE: Duration = Duration::from_secs(60);
/// The longest reason kept from a server reply.
const MAX_REASON: usize = 300;

/// Sends through one SMTP server.
pub(crate) struct SmtpSink {
    host: String,
    port: u16,
    security: SmtpSecurity,
    tls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    timeout: Duration,
    hello: ClientId,
    /// Connections that finished a send cleanly, newest last.
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
}

/// Why a connection could not be opened.
enum ConnectError {
    /// The TCP connection: refused, unreachable, timed out.
    Tcp(std::io::Error),
    /// The SMTP greeting, STARTTLS or authentication.
    Smtp(lettre::transport::smtp::Error),
}

impl From<lettre::transport::smtp::Error> for ConnectError {
    fn from(e: lettre::transport::smtp::Error) -> Self {
        Self::Smtp(e)
    }
}

impl SmtpSink {
    /// Prepares the client. Does no I/O.
    pub(crate) fn new(target: &SmtpTarget) -> Result<Self, MailConfigError> {
        let tls = match target.security {
            SmtpSecurity::None => None,
            SmtpSecurity::Opportunistic | SmtpSecurity::StartTls | SmtpSecurity::Implicit => {
                Some(TlsParameters::new(target.host.clone()).map_err(|_| {
                    MailConfigError::new(
                        "BECKON_MAILER",
                        "the host cannot be used as a TLS server name",
                    )
                })?)
            }
        };
        Ok(Self {
            host: target.host.clone(),
            port: target.port,
            security: target.security,
            tls,
            credentials: target
                .credentials
                .as_ref()
                .map(|(user, pass)| Credentials::new(user.clone(), pass.clone())),
            timeout: target.timeout,
            hello: ClientId::default(),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Whether the server answers: an idle connection (a new one if none)
    /// and a `NOOP`.
    pub(crate) async fn probe(&self) -> Result<(), MailError> {
        let mut conn = match self.take_idle() {
            Some(conn) => conn,
            None => self.connect().await.map_err(|e| match e {
                ConnectError::Tcp(e) => MailError::Unreachable(format!("SMTP: {e}")),
                // No message is involved, so there is nothing to redact
                // beyond what lettre says about the connection.
                ConnectError::Smtp(e) => MailError::Unreachable(format!("SMTP: {e}")),
            })?,
        };
        if conn.test_connected().await {
            self.put_back(conn);
            Ok(())
        } else {
            Err(MailError::Unreachable(
                "SMTP: the server did not answer NOOP".to_owned(),
            ))
        }
    }

    /// Sends one message; `email` is only used to keep its address and token
    /// out of the error text. An idle connection that turns out to be gone
    /// (the server closed it meanwhile) is replaced by a new one once.
    pub(crate) async fn send(
        &self,
        message: Message,
        email: &InviteEmail,
    ) -> Result<(), MailError> {
        let envelope = message.envelope().clone();
        let bytes = message.formatted();
        if let Some(mut conn) = self.take_idle() {
            match conn.send(&envelope, &bytes).await {
                Ok(_) => {
                    self.put_back(conn);
                    return Ok(());
                }
                // No reply at all (a closed or reset connection, or the
                // end of one cut short): the server may have dropped this
                // idle session, so a new one decides.
                Err(e) if e.status().is_none() && !e.is_client() => {}
                Err(e) => return Err(classify(&e, email)),
            }
        }
        let mut conn = self.connect().await.map_err(|e| match e {
            ConnectError::Tcp(e) => MailError::Unreachable(redact(&format!("SMTP: {e}"), email)),
            ConnectError::Smtp(e) => classify(&e, email),
        })?;
        match conn.send(&envelope, &bytes).await {
            Ok(_) => {
                self.put_back(conn);
                Ok(())
            }
            Err(e) => Err(classify(&e, email)),
        }
    }

    /// A new session: TCP with `TCP_NODELAY`, EHLO, STARTTLS when the
    /// security asks for it (or offers it, for opportunistic), then
    /// authentication when there are credentials. Implicit TLS is
    /// lettre's own connect (it wraps the socket before the greeting).
    async fn connect(&self) -> Result<AsyncSmtpConnection, ConnectError> {
        let mut conn = if self.security == SmtpSecurity::Implicit {
            AsyncSmtpConnection::connect_tokio1(
                (self.host.as_str(), self.port),
                Some(self.timeout),
                &self.hello,
                self.tls.clone(),
                None,
            )
            .await?
        } else {
            let tcp = tokio::time::timeout(
                self.timeout,
                TcpStream::connect((self.host.as_str(), self.port)),
            )
            .await
            .map_err(|_| {
                ConnectError::Tcp(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connection timed out",
                ))
            })?
            .map_err(ConnectError::Tcp)?;
            tcp.set_nodelay(true).map_err(ConnectError::Tcp)?;
            let mut conn =
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello).await?;
            if let Some(tls) = &self.tls {
                let wanted = self.security == SmtpSecurity::StartTls || conn.can_starttls();
                if wanted {
                    conn.starttls(tls.clone(), &self.hello).await?;
                }
            }
            conn
        };
        if let Some(credentials) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials).await?;
        }
        Ok(conn)
    }

    /// The newest idle connection young enough to reuse; older ones close.
    fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some((conn, since)) = idle.pop() {
            if since.elapsed() < MAX_IDLE && !conn.has_broken() {
                return Some(conn);
            }
        }
        None
    }

    fn put_back(&self, conn: AsyncSmtpConnection) {
        if conn.has_broken() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < SMTP_CONNECTIONS {
            idle.push((conn, Instant::now()));
        }
    }
}

/// An error of the connection rather than a reply of the server.
fn is_network(err: &lettre::transport::smtp::Error) -> bool {
    err.status().is_none() && !err.is_response() && !err.is_client()
}

/// Permanent only for a 5xx reply about this message; `Unreachable` when
/// no reply came at all (refused or reset connection, timeout, TLS);
/// transient for the rest (4xx, authentication).
pub(crate) fn classify(err: &lettre::transport::smtp::Error, email: &InviteEmail) -> MailError {
    let reason = redact(&format!("SMTP: {err}"), email);
    // lettre names no "connection" kind publicly: an error that is neither
    // a server reply, nor a reply lettre could not parse, nor its own bug
    // is the network's (connect, I/O, timeout, TLS, pool shut down).
    if is_network(err) {
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
