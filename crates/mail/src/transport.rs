//! Parses `BECKON_MAILER` into a [`Transport`]: `file://DIR`,
//! `smtp://[user:pass@]host[:port][?tls=…]` or `smtps://[user:pass@]host[:port]`.
//!
//! Parsed by hand rather than with the `url` crate: the grammar is small,
//! `file://./mail` is not a URL `url` would keep relative, and every error
//! message must name the variable without repeating a password.

use std::fmt;
use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::MailConfigError;

const VAR: &str = "BECKON_MAILER";
/// How long one SMTP connect or command may take before it counts as failed.
pub const DEFAULT_SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Where messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// One `<outbox-id>.eml` file per message in this folder.
    File(PathBuf),
    /// An SMTP server.
    Smtp(SmtpTarget),
}

/// How an SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Never encrypt (`smtp://…?tls=none`): only for local test servers.
    None,
    /// Upgrade with STARTTLS when the server offers it, else stay plain
    /// (`smtp://` without credentials, or `?tls=opportunistic`).
    Opportunistic,
    /// STARTTLS or fail (`smtp://` with credentials, or `?tls=required`).
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Implicit,
}

/// An SMTP server to send through.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpTarget {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) security: SmtpSecurity,
    pub(crate) credentials: Option<(String, String)>,
    pub(crate) timeout: Duration,
}

impl SmtpTarget {
    /// The host name or IP address (IPv6 without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How the connection is protected.
    pub fn security(&self) -> SmtpSecurity {
        self.security
    }

    /// The user name, if the URL carried credentials.
    pub fn user(&self) -> Option<&str> {
        self.credentials.as_ref().map(|(u, _)| u.as_str())
    }

    /// The connect and per-command timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Replaces the connect and per-command timeout (tests use a short one).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl fmt::Debug for SmtpTarget {
    // The user name and the password stay out of logs and panics: both
    // are the login. Only whether there are credentials shows, as `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured so that a new field cannot be forgotten here.
        let Self {
            host,
            port,
            security,
            credentials,
            timeout,
        } = self;
        f.debug_struct("SmtpTarget")
            .field("host", host)
            .field("port", port)
            .field("security", security)
            .field("credentials", &credentials.as_ref().map(|_| "***"))
            .field("timeout", timeout)
            .finish()
    }
}

impl Transport {
    /// Parses a `BECKON_MAILER` value. Does no I/O.
    pub fn parse(url: &str) -> Result<Self, MailConfigError> {
        let err = |m: &str| MailConfigError::new(VAR, m);
        let url = url.trim();
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| err("expected file://DIR, smtp://host[:port] or smtps://host[:port]"))?;
        match scheme.to_ascii_lowercase().as_str() {
            "file" => {
                if rest.is_empty() {
                    return Err(err("file:// needs a folder, e.g. file://./mail"));
                }
                Ok(Self::File(PathBuf::from(rest)))
            }
            "smtp" => parse_smtp(rest, false).map(Self::Smtp),
            "smtps" => parse_smtp(rest, true).map(Self::Smtp),
            _ => Err(err("unsupported scheme; use file://, smtp:// or smtps://")),
        }
    }
}

fn parse_smtp(rest: &str, implicit_tls: bool) -> Result<SmtpTarget, MailConfigError> {
    let err = |m: &str| MailConfigError::new(VAR, m);
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    if before_query.contains('#') || query.is_some_and(|q| q.contains('#')) {
        return Err(err("a fragment (#…) is not allowed"));
    }
    // Only an empty path or a lone "/" is meaningful for SMTP.
    let authority = before_query.strip_suffix('/').unwrap_or(before_query);
    if authority.contains('/') {
        return Err(err("an SMTP URL takes no path"));
    }
    // The last '@' separates user info: a password may contain an unencoded '@'.
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let credentials = userinfo.map(parse_userinfo).transpose()?;
    let (host, port) = split_host_port(hostport)?;

    let security = match (implicit_tls, parse_tls_query(query)?) {
        (true, None) => SmtpSecurity::Implicit,
        (true, Some(_)) => return Err(err("smtps:// always uses TLS; drop ?tls=")),
        (false, Some(s)) => s,
        // A password must never cross the network in clear text: with
        // credentials, insist on STARTTLS unless the operator says otherwise.
        (false, None) if credentials.is_some() => SmtpSecurity::StartTls,
        (false, None) => SmtpSecurity::Opportunistic,
    };
    // As lettre's own `from_url`: submission (587) when STARTTLS is
    // required, since that is where authenticated clients submit mail;
    // the relay port (25) otherwise; submissions (465) for implicit TLS.
    let default_port = match security {
        SmtpSecurity::Implicit => 465,
        SmtpSecurity::StartTls => 587,
        SmtpSecurity::None | SmtpSecurity::Opportunistic => 25,
    };
    Ok(SmtpTarget {
        host,
        port: port.unwrap_or(default_port),
        security,
        credentials,
        timeout: DEFAULT_SMTP_TIMEOUT,
    })
}

fn parse_tls_query(query: Option<&str>) -> Result<Option<SmtpSecurity>, MailConfigError> {
    let err = |m: &str| MailConfigError::new(VAR, m);
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    let mut found = None;
    for pair in query.split('&') {
        let security = match pair {
            "tls=none" => SmtpSecurity::None,
            "tls=opportunistic" => SmtpSecurity::Opportunistic,
            "tls=required" => SmtpSecurity::StartTls,
            _ => {
                return Err(err(
                    "the only query parameter is tls=none, tls=opportunistic or tls=required",
                ));
            }
        };
        if found.replace(security).is_some() {
            return Err(err("tls= is given more than once"));
        }
    }
    Ok(found)
}

fn parse_userinfo(userinfo: &str) -> Result<(String, String), MailConfigError> {
    let err = |m: &str| MailConfigError::new(VAR, m);
    let (user, pass) = userinfo
        .split_once(':')
        .ok_or_else(|| err("credentials must be written user:password@host"))?;
    let user = percent_decode(user)
        .ok_or_else(|| err("the user name is not validly percent-encoded UTF-8"))?;
    let pass = percent_decode(pass)
        .ok_or_else(|| err("the password is not validly percent-encoded UTF-8"))?;
    if user.is_empty() {
        return Err(err("the user name is empty"));
    }
    Ok((user, pass))
}

fn split_host_port(hostport: &str) -> Result<(String, Option<u16>), MailConfigError> {
    let err = |m: &str| MailConfigError::new(VAR, m);
    let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
        let (ip, after) = bracketed
            .split_once(']')
            .ok_or_else(|| err("an IPv6 address must be closed with ']'"))?;
        if ip.parse::<Ipv6Addr>().is_err() {
            return Err(err("not a valid IPv6 address"));
        }
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| err("unexpected text after the IPv6 address"))?,
            ),
        };
        (ip.to_owned(), port)
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (hostport.to_owned(), None),
        }
    };
    if host.is_empty() {
        return Err(err("the host is missing"));
    }
    let host_ok = host.contains(':') // an already checked IPv6 literal
        || host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
    if !host_ok {
        return Err(err(
            "the host may contain only letters, digits, '-', '.' and '_'",
        ));
    }
    let port = port
        .map(|p| {
            p.parse::<u16>()
                .ok()
                .filter(|&n| n != 0 && p.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| err("the port must be a number from 1 to 65535"))
        })
        .transpose()?;
    Ok((host.to_ascii_lowercase(), port))
}

/// Decodes `%XX` sequences; `None` for a broken sequence or invalid UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn smtp(url: &str) -> SmtpTarget {
        match Transport::parse(url).unwrap() {
            Transport::Smtp(t) => t,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn file_urls_keep_relative_and_absolute_folders() {
        assert_eq!(
            Transport::parse("file://./mail").unwrap(),
            Transport::File("./mail".into())
        );
        assert_eq!(
            Transport::parse("file:///var/mail").unwrap(),
            Transport::File("/var/mail".into())
        );
        assert!(Transport::parse("file://").is_err());
    }

    #[test]
    fn smtp_without_credentials_upgrades_opportunistically_on_port_25() {
        let t = smtp("smtp://mail.example.com");
        assert_eq!(
            (t.host(), t.port(), t.security()),
            ("mail.example.com", 25, SmtpSecurity::Opportunistic)
        );
        assert_eq!(t.user(), None);
        assert_eq!(t.timeout(), DEFAULT_SMTP_TIMEOUT);
        assert_eq!(smtp("smtp://localhost:1025/").port(), 1025);
    }

    #[test]
    fn smtp_with_credentials_requires_starttls_and_percent_decodes_them() {
        let t = smtp("smtp://ada%40example.com:p%40ss%3Aw%C3%B6rd@Mail.Example.com:587");
        assert_eq!(t.security(), SmtpSecurity::StartTls);
        assert_eq!(t.host(), "mail.example.com");
        assert_eq!(t.port(), 587);
        assert_eq!(
            t.credentials,
            Some(("ada@example.com".to_owned(), "p@ss:wörd".to_owned()))
        );
        assert!(!format!("{t:?}").contains("p@ss"));
        assert_eq!(smtp("smtp://u:p@mail.example.com").port(), 587);
        assert_eq!(smtp("smtp://mail.example.com?tls=required").port(), 587);
    }

    #[test]
    fn the_tls_query_parameter_overrides_the_smtp_default() {
        assert_eq!(smtp("smtp://u:p@h?tls=none").security(), SmtpSecurity::None);
        assert_eq!(
            smtp("smtp://h?tls=required").security(),
            SmtpSecurity::StartTls
        );
        assert_eq!(
            smtp("smtp://h/?tls=opportunistic").security(),
            SmtpSecurity::Opportunistic
        );
    }

    #[test]
    fn smtps_uses_implicit_tls_on_port_465() {
        let t = smtp("smtps://user:secret@smtp.example.com");
        assert_eq!((t.port(), t.security()), (465, SmtpSecurity::Implicit));
        assert_eq!(t.user(), Some("user"));
        assert_eq!(smtp("smtps://[::1]:2465").host(), "::1");
        assert_eq!(smtp("smtps://[::1]:2465").port(), 2465);
    }

    #[test]
    fn bad_mailer_urls_are_refused_naming_the_variable_and_never_the_password() {
        for bad in [
            "",
            "mail",
            "ftp://host",
            "http://host",
            "smtp://",
            "smtp://:25",
            "smtp://user:hunter2@",
            "smtp://host:0",
            "smtp://host:65536",
            "smtp://host:port",
            "smtp://host:+25",
            "smtp://host/path",
            "smtp://host?tls=maybe",
            "smtp://host?tls=none&tls=required",
            "smtps://host?tls=none",
            "smtp://hunter2@host",
            "smtp://:hunter2@host",
            "smtp://u:hunter2%zz@host",
            "smtp://u:hunter2%ff@host",
            "smtp://ho st",
            "smtp://[::1",
            "smtp://[nope]:25",
            "smtp://host#x",
        ] {
            let e = Transport::parse(bad).expect_err(bad);
            let text = e.to_string();
            assert!(text.starts_with("BECKON_MAILER: "), "{bad:?}: {text}");
            assert!(!text.contains("hunter2"), "{bad:?}: {text}");
        }
    }

    #[test]
    fn debug_masks_the_smtp_user_name_and_password() {
        let t = smtp("smtp://mailer%40example.com:hunter2@smtp.example.com:2587?tls=required");
        let whole = Transport::Smtp(t.clone());
        for text in [format!("{t:?}"), format!("{t:#?}"), format!("{whole:?}")] {
            for secret in ["hunter2", "mailer", "mailer@example.com"] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
            for shown in ["smtp.example.com", "2587", "StartTls"] {
                assert!(text.contains(shown), "{shown} not in {text}");
            }
        }
        assert!(format!("{t:?}").contains("credentials: Some(\"***\")"));
        // Without credentials there is nothing to mask.
        let plain = smtp("smtp://smtp.example.com");
        assert!(format!("{plain:?}").contains("credentials: None"));
    }
}
