//! What every message needs regardless of transport: the sender and the
//! accept-link template, validated once at start.

use lettre::message::Mailbox;

/// The default sender (`BECKON_MAIL_FROM`).
pub const DEFAULT_FROM: &str = "Beckon <no-reply@localhost>";
/// The default accept-link template (`BECKON_ACCEPT_URL`).
pub const DEFAULT_ACCEPT_URL: &str = "http://127.0.0.1:8080/invite?token={token}";
/// The placeholder the accept-link template must contain.
pub const TOKEN_PLACEHOLDER: &str = "{token}";

/// A configuration value was refused. `Display` reads
/// `BECKON_…: what is wrong` and never repeats a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct MailConfigError {
    variable: &'static str,
    message: String,
}

impl MailConfigError {
    pub(crate) fn new(variable: &'static str, message: impl Into<String>) -> Self {
        Self {
            variable,
            message: message.into(),
        }
    }

    /// The environment variable at fault (`BECKON_MAILER`, …).
    pub fn variable(&self) -> &'static str {
        self.variable
    }

    /// What is wrong, without the variable name.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The sender and the accept-link template. Only [`MailConfig::new`] (or
/// `default`) makes one, so a `MailConfig` that exists is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailConfig {
    from: Mailbox,
    accept_url: String,
}

impl MailConfig {
    /// Validates `from` (a mailbox such as `Beckon <no-reply@example.com>`)
    /// and `accept_url` (an `http://` or `https://` URL containing `{token}`).
    pub fn new(from: &str, accept_url: &str) -> Result<Self, MailConfigError> {
        let from: Mailbox = from
            .trim()
            .parse()
            .map_err(|_| MailConfigError::new("BECKON_MAIL_FROM", "not a mailbox"))?;
        Ok(Self {
            from,
            accept_url: validate_accept_url(accept_url.trim())?,
        })
    }

    /// The sender.
    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    /// The accept-link template, `{token}` not yet substituted.
    pub fn accept_url(&self) -> &str {
        &self.accept_url
    }

    /// The accept link for one token. The token is percent-encoded beyond
    /// the URL-safe alphabet: it always is URL-safe when minted, but an
    /// outbox row is deserialized without that check, and the link must
    /// never carry something that changes its meaning.
    pub fn accept_link(&self, token: &str) -> String {
        self.accept_url
            .replace(TOKEN_PLACEHOLDER, &percent_encode_component(token))
    }
}

impl Default for MailConfig {
    fn default() -> Self {
        // Built by hand rather than through `new` so that no `expect` is
        // needed; a unit test checks that `new` accepts the same values.
        let address = lettre::Address::new_dangerous("no-reply", "localhost");
        Self {
            from: Mailbox::new(Some("Beckon".to_owned()), address),
            accept_url: DEFAULT_ACCEPT_URL.to_owned(),
        }
    }
}

fn validate_accept_url(url: &str) -> Result<String, MailConfigError> {
    let err = |m: &str| MailConfigError::new("BECKON_ACCEPT_URL", m);
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| err("must start with http:// or https://"))?;
    if rest.is_empty() || rest.starts_with(['/', '?', '#']) {
        return Err(err("must name a host after the scheme"));
    }
    if !url.contains(TOKEN_PLACEHOLDER) {
        return Err(err("must contain {token}"));
    }
    // Whitespace and controls would end the link early in the plain-text
    // part and cannot appear in a valid URL anyway.
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(err("must not contain spaces or control characters"));
    }
    Ok(url.to_owned())
}

/// Percent-encodes everything outside RFC 3986's unreserved characters.
fn percent_encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn the_default_is_what_new_makes_of_the_documented_defaults() {
        let parsed = MailConfig::new(DEFAULT_FROM, DEFAULT_ACCEPT_URL).unwrap();
        assert_eq!(parsed, MailConfig::default());
        assert_eq!(parsed.from().email.domain(), "localhost");
    }

    #[test]
    fn a_from_that_is_not_a_mailbox_is_refused_with_the_variable_name() {
        for bad in ["", "Beckon", "Beckon <>", "no-reply@", "<a@b.c"] {
            let e = MailConfig::new(bad, DEFAULT_ACCEPT_URL).unwrap_err();
            assert_eq!(e.to_string(), "BECKON_MAIL_FROM: not a mailbox", "{bad:?}");
        }
        assert!(MailConfig::new("no-reply@example.com", DEFAULT_ACCEPT_URL).is_ok());
    }

    #[test]
    fn an_accept_url_without_token_or_http_scheme_is_refused() {
        for (bad, why) in [
            ("http://x/invite", "must contain {token}"),
            ("ftp://x/{token}", "must start with http:// or https://"),
            (
                "/invite?token={token}",
                "must start with http:// or https://",
            ),
            ("https:///{token}", "must name a host after the scheme"),
            (
                "https://x/{token} y",
                "must not contain spaces or control characters",
            ),
        ] {
            let e = MailConfig::new(DEFAULT_FROM, bad).unwrap_err();
            assert_eq!(e.variable(), "BECKON_ACCEPT_URL");
            assert_eq!(e.message(), why, "{bad:?}");
        }
    }

    #[test]
    fn the_accept_link_substitutes_the_token_and_encodes_anything_unsafe() {
        let cfg =
            MailConfig::new(DEFAULT_FROM, "https://x.test/i?t={token}&again={token}").unwrap();
        assert_eq!(
            cfg.accept_link("ab-_9"),
            "https://x.test/i?t=ab-_9&again=ab-_9"
        );
        assert_eq!(
            cfg.accept_link("a&b\"<"),
            "https://x.test/i?t=a%26b%22%3C&again=a%26b%22%3C"
        );
    }
}
