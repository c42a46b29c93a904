//! Reading a delivered message as its reader sees it: the subject with its
//! encoded words decoded, and each part with its transfer encoding undone.
//! A message that is not plain ASCII (a German or French one) is sent
//! quoted-printable or base64, so its text cannot be searched as it lies.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::mail::read_email;

/// A delivered message, decoded.
#[derive(Debug)]
pub struct Decoded {
    /// The `Subject`, decoded.
    pub subject: String,
    /// The text/plain part, decoded.
    pub text: String,
    /// The text/html part, decoded.
    pub html: String,
}

impl Decoded {
    /// Reads and decodes the message at `path`.
    pub fn read(path: &Path) -> Self {
        let raw = read_email(path);
        let (head, _) = raw.split_once("\r\n\r\n").expect("a header section");
        let subject = decode_words(&unfolded(head, "Subject").expect("a Subject"));
        let boundary = raw
            .split("boundary=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a multipart boundary");
        let (mut text, mut html) = (None, None);
        for part in raw.split(&format!("--{boundary}")).skip(1) {
            let Some((headers, body)) = part.split_once("\r\n\r\n") else {
                continue;
            };
            let headers = headers.to_ascii_lowercase();
            let decoded = if headers.contains("content-transfer-encoding: quoted-printable") {
                quoted_printable(body)
            } else if headers.contains("content-transfer-encoding: base64") {
                let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
                String::from_utf8(STANDARD.decode(b64).expect("base64")).expect("UTF-8")
            } else {
                body.to_owned()
            };
            if headers.contains("content-type: text/plain") {
                text = Some(decoded.replace("\r\n", "\n"));
            } else if headers.contains("content-type: text/html") {
                html = Some(decoded.replace("\r\n", "\n"));
            }
        }
        Self {
            subject,
            text: text.expect("a text/plain part"),
            html: html.expect("a text/html part"),
        }
    }

    /// The token of the accept link in the text part.
    pub fn token(&self) -> String {
        let at = self.text.find("token=").expect("an accept link") + "token=".len();
        self.text[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }
}

/// A header's value with its continuation lines joined.
fn unfolded(head: &str, name: &str) -> Option<String> {
    let mut lines = head.split("\r\n").skip_while(|l| {
        l.split_once(':')
            .is_none_or(|(k, _)| !k.eq_ignore_ascii_case(name))
    });
    let first = lines.next()?.split_once(':')?.1.trim().to_owned();
    let rest: Vec<&str> = lines
        .take_while(|l| l.starts_with(' ') || l.starts_with('\t'))
        .map(str::trim)
        .collect();
    Some(
        std::iter::once(first.as_str())
            .chain(rest)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`); the
/// space between two encoded words is not part of the text.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut last_encoded = false;
    for (i, word) in value.split(' ').enumerate() {
        let encoded = word.starts_with("=?") && word.ends_with("?=");
        if i > 0 && !(encoded && last_encoded) {
            out.push(' ');
        }
        if encoded {
            let inner = &word[2..word.len() - 2];
            let mut fields = inner.splitn(3, '?');
            let (_charset, kind, data) = (
                fields.next().unwrap(),
                fields.next().unwrap(),
                fields.next().unwrap(),
            );
            let bytes = if kind.eq_ignore_ascii_case("b") {
                STANDARD.decode(data).expect("base64 word")
            } else {
                quoted_printable(&data.replace('_', " ")).into_bytes()
            };
            out.push_str(&String::from_utf8(bytes).expect("UTF-8 word"));
        } else {
            out.push_str(word);
        }
        last_encoded = encoded;
    }
    out
}

/// Undoes quoted-printable: soft line breaks and `=XX` bytes.
fn quoted_printable(body: &str) -> String {
    let joined = body.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ASCII");
            out.push(u8::from_str_radix(hex, 16).expect("=XX"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("UTF-8 text")
}
