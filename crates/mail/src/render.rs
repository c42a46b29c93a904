//! Renders one invite into a MIME message: subject, plain-text and HTML
//! parts, and a Message-ID derived from the outbox id alone.

use beckon_ports::{InviteEmail, Locale, OutboxId};
use chrono::{DateTime, Utc};
use lettre::Message;
use lettre::message::header::ContentTransferEncoding;
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};

use crate::config::MailConfig;
use crate::words::words;

/// A message could not be built from the stored email. Retrying cannot
/// help (the same data renders the same way), so senders report it as
/// permanent. The text never repeats an address or the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot render the invite email: {0}")]
pub struct RenderError(&'static str);

/// The human-readable content of one invite, before MIME assembly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedBodies {
    /// The `Subject`, control characters removed.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part: every interpolated value is escaped.
    pub html: String,
}

/// The Message-ID of an outbox message: `<{outbox-uuid}@{sender domain}>`.
/// Nothing else goes in, so every retry of one message carries the same
/// one and receivers can drop duplicates.
pub fn message_id(id: OutboxId, cfg: &MailConfig) -> String {
    format!(
        "<{}@{}>",
        id.as_uuid().hyphenated(),
        cfg.from().email.domain()
    )
}

/// When the invite expires, for people, in `locale`:
/// `3 December 2026 at 10:00 UTC`, `3. Dezember 2026 um 10:00 UTC`, …
pub fn format_expiry(at: DateTime<Utc>, locale: Locale) -> String {
    locale.date_time(at)
}

/// Subject, plain text and HTML for one invite, in its locale.
pub fn render_bodies(email: &InviteEmail, cfg: &MailConfig) -> RenderedBodies {
    let w = words(email.locale);
    let tenant = one_line(email.tenant_name.as_str());
    let name = email.to_name.as_ref().map(|n| one_line(n.as_str()));
    let link = cfg.accept_link(email.token.expose());
    let expiry = format_expiry(email.expires_at, email.locale);
    let subject = (w.subject)(&tenant);

    let greeting = (w.greeting)(name.as_deref());
    let (invited, open_link, until, ignore) = (
        (w.invited)(&tenant),
        w.open_link,
        (w.until)(&expiry, &tenant),
        w.ignore,
    );
    let text = format!(
        "{greeting}\n\
         \n\
         {invited}\n\
         \n\
         {open_link}\n\
         \n\
         {link}\n\
         \n\
         {until}\n\
         \n\
         {ignore}\n"
    );

    // Every interpolated value is escaped before it goes into a sentence;
    // the sentences themselves are ours.
    let (h_tenant, h_link, h_expiry) = (
        escape_html(&tenant),
        escape_html(&link),
        escape_html(&expiry),
    );
    let h_greeting = (w.greeting)(name.as_deref().map(escape_html).as_deref());
    let h_invited = (w.invited)(&format!("<strong>{h_tenant}</strong>"));
    let h_until = (w.until)(&h_expiry, &h_tenant);
    let h_subject = escape_html(&subject);
    let (lang, button, copy_link) = (email.locale.as_str(), w.button, w.copy_link);
    let html = format!(
        "<!DOCTYPE html>\n\
         <html lang=\"{lang}\">\n\
         <head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{h_subject}</title></head>\n\
         <body style=\"font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; line-height: 1.5; color: #1f2328;\">\n\
         <p>{h_greeting}</p>\n\
         <p>{h_invited}</p>\n\
         <p><a href=\"{h_link}\" style=\"display: inline-block; padding: 10px 18px; background: #1f6feb; color: #ffffff; \
         text-decoration: none; border-radius: 6px;\">{button}</a></p>\n\
         <p>{copy_link}<br>\n\
         <a href=\"{h_link}\">{h_link}</a></p>\n\
         <p>{h_until}</p>\n\
         <p style=\"color: #59636e; font-size: 0.9em;\">{ignore}</p>\n\
         </body>\n\
         </html>\n"
    );
    RenderedBodies {
        subject,
        text,
        html,
    }
}

/// The complete message for one send. Headers go through lettre's typed
/// headers, which fold and RFC 2047-encode what is not plain ASCII.
pub fn render(id: OutboxId, email: &InviteEmail, cfg: &MailConfig) -> Result<Message, RenderError> {
    let address = email
        .to
        .as_str()
        .parse()
        .map_err(|_| RenderError("the recipient address is not accepted"))?;
    let to = Mailbox::new(
        email.to_name.as_ref().map(|n| one_line(n.as_str())),
        address,
    );
    let bodies = render_bodies(email, cfg);
    Message::builder()
        .from(cfg.from().clone())
        .to(to)
        .subject(bodies.subject)
        .message_id(Some(message_id(id, cfg)))
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::plain(body(bodies.text)))
                .singlepart(SinglePart::html(body(bodies.html))),
        )
        .map_err(|_| RenderError("the message could not be assembled"))
}

/// RFC 5321/5322 line limit: 998 characters before the CRLF.
const MAX_LINE: usize = 998;

/// Encodes a part. lettre switches to quoted-printable for any line over
/// 76 characters, which the accept link always is; quoted-printable would
/// split the link with soft breaks and turn `=` into `=3D`, so nobody could
/// copy it from an `.eml` file. Plain ASCII within the RFC 5322 line limit
/// is valid as `7bit`, so it is sent as it is; anything else (a non-ASCII
/// name) still gets lettre's choice.
fn body(text: String) -> Body {
    let fits_7bit = text.is_ascii()
        && !text.contains(['\0', '\r'])
        && text.split('\n').all(|line| line.len() <= MAX_LINE);
    if fits_7bit {
        Body::dangerous_pre_encoded(
            text.replace('\n', "\r\n").into_bytes(),
            ContentTransferEncoding::SevenBit,
        )
    } else {
        Body::new(text)
    }
}

/// Escapes text for HTML element content and quoted attribute values
/// (`& < > " '`).
pub fn escape_html(s: &str) -> String {
    html_escape::encode_quoted_attribute(s).into_owned()
}

/// Replaces control characters (CR, LF, tab, …) with spaces. The ports
/// already refuse them in names; this keeps a header or a text line from
/// being split even if a stored row bypassed that check.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
#[path = "render_tests.rs"]
pub(crate) mod tests;
