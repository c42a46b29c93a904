//! Validated value types. Constructing one is the only way to get one, so a
//! value that exists is a value that is valid.

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a value was refused. The message is safe to show to the caller: it
/// never repeats the value itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub &'static str);

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// An email address, as the caller wrote it (trimmed). Equality of addresses
/// is case-insensitive: compare [`Email::normalized`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Parses a plain `local@domain` address: ASCII only, no spaces, no
    /// quoting or comments, a domain of dot-separated labels with at least
    /// one dot. Stricter than RFC 5322 on purpose: the address goes into a
    /// mail header, so anything exotic is refused rather than escaped.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(ValueError("email is required"));
        }
        if s.len() > 254 {
            return Err(ValueError("email is longer than 254 characters"));
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err(ValueError("email must contain '@'"));
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b));
        if !local_ok {
            return Err(ValueError("email has an invalid local part"));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !domain_ok {
            return Err(ValueError("email has an invalid domain"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The address as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address in lower case: the form uniqueness is decided on.
    pub fn normalized(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Debug for Email {
    // Addresses are personal data: keep them out of logs and panics.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email(<redacted>)")
    }
}

impl TryFrom<String> for Email {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> Self {
        e.0
    }
}

macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            #[doc = concat!("Trims and checks: 1 to ", stringify!($max), " characters, no control characters.")]
            pub fn parse(raw: &str) -> Result<Self, ValueError> {
                let s = raw.trim();
                if s.is_empty() {
                    return Err(ValueError(concat!($what, " must not be empty")));
                }
                if s.chars().count() > $max {
                    return Err(ValueError(concat!($what, " is longer than ", stringify!($max), " characters")));
                }
                if has_control(s) {
                    return Err(ValueError(concat!($what, " must not contain control characters")));
                }
                Ok(Self(s.to_owned()))
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValueError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> Self {
                v.0
            }
        }
    };
}

text_value!(
    /// A person's display name (optional on a user).
    UserName, "name", 200
);
text_value!(
    /// A tenant's display name: it appears in email subjects and pages.
    TenantName, "tenant name", 200
);

/// The language a tenant's emails and `/invite` pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Locale {
    /// English (the default).
    #[default]
    En,
    /// German.
    De,
    /// French.
    Fr,
}

impl Locale {
    /// Every locale, in the order the documentation lists them.
    pub const ALL: [Self; 3] = [Self::En, Self::De, Self::Fr];

    /// `en`, `de` or `fr`: the CLI, storage and `lang` attribute spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::De => "de",
            Self::Fr => "fr",
        }
    }

    /// An instant as people of this language write it, always in UTC:
    /// `3 December 2026 at 10:00 UTC`, `3. Dezember 2026 um 10:00 UTC`,
    /// `3 décembre 2026 à 10:00 UTC` (and `1er décembre` on the first).
    /// The month names are this table's own, not the system's locale data.
    pub fn date_time(self, at: DateTime<Utc>) -> String {
        let month = MONTHS[self as usize][at.month0() as usize];
        let (day, year, time) = (at.day(), at.year(), at.format("%H:%M"));
        match self {
            Self::En => format!("{day} {month} {year} at {time} UTC"),
            Self::De => format!("{day}. {month} {year} um {time} UTC"),
            Self::Fr if day == 1 => format!("1er {month} {year} à {time} UTC"),
            Self::Fr => format!("{day} {month} {year} à {time} UTC"),
        }
    }

    /// Parses the CLI and storage spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "en" => Some(Self::En),
            "de" => Some(Self::De),
            "fr" => Some(Self::Fr),
            _ => None,
        }
    }
}

/// Month names by locale (in `Locale`'s order), January first.
const MONTHS: [[&str; 12]; 3] = [
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ],
    [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
];

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name given to an API key. What a role may do is for the policies
/// to say; here it is only checked to be a plain identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Role(String);

impl Role {
    /// 1 to 64 characters of `A-Z a-z 0-9 _ -`.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        if raw.is_empty() || raw.len() > 64 {
            return Err(ValueError("role must be 1 to 64 characters"));
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(ValueError(
                "role may contain only letters, digits, '_' and '-'",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The role name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Role {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Role> for String {
    fn from(r: Role) -> Self {
        r.0
    }
}

/// The `Idempotency-Key` a client sends: 1 to 255 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Checks length and alphabet (0x20..=0x7E).
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        if raw.is_empty() || raw.len() > 255 {
            return Err(ValueError("Idempotency-Key must be 1 to 255 characters"));
        }
        if !raw.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err(ValueError("Idempotency-Key must be printable ASCII"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Identifies one HTTP request across logs, the audit trail and the response
/// (`X-Request-ID`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RequestId(String);

impl RequestId {
    /// The longest id kept (CONTRACT §7).
    pub const MAX_LEN: usize = 200;

    /// A client-supplied id is kept when it is 1 to 200 printable ASCII
    /// characters (0x20 to 0x7E, space included); anything else is refused
    /// (the caller then mints one). Nothing that could break a log line or
    /// a header gets through.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(ValueError("request id must be 1 to 200 characters"));
        }
        if !raw.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err(ValueError(
                "request id may contain only printable ASCII characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// A fresh id from a UUID.
    pub fn from_uuid(id: uuid::Uuid) -> Self {
        Self(id.hyphenated().to_string())
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_parse_their_own_spelling_and_nothing_else() {
        for l in Locale::ALL {
            assert_eq!(Locale::parse(l.as_str()), Some(l));
            assert_eq!(l.to_string(), l.as_str());
        }
        for bad in ["", "EN", "de-DE", "es", " fr"] {
            assert_eq!(Locale::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Locale::default(), Locale::En);
    }

    #[test]
    fn each_locale_writes_dates_in_its_own_form() {
        use chrono::TimeZone;
        let at = Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap();
        assert_eq!(Locale::En.date_time(at), "3 December 2026 at 10:00 UTC");
        assert_eq!(Locale::De.date_time(at), "3. Dezember 2026 um 10:00 UTC");
        assert_eq!(Locale::Fr.date_time(at), "3 décembre 2026 à 10:00 UTC");
        let first = Utc.with_ymd_and_hms(2027, 3, 1, 9, 5, 0).unwrap();
        assert_eq!(Locale::En.date_time(first), "1 March 2027 at 09:05 UTC");
        assert_eq!(Locale::De.date_time(first), "1. März 2027 um 09:05 UTC");
        assert_eq!(Locale::Fr.date_time(first), "1er mars 2027 à 09:05 UTC");
        let august = Utc.with_ymd_and_hms(2027, 8, 15, 23, 59, 0).unwrap();
        assert_eq!(Locale::Fr.date_time(august), "15 août 2027 à 23:59 UTC");
    }

    #[test]
    fn plain_addresses_parse_and_normalize_to_lower_case() {
        let e = Email::parse("  Ada.Lovelace+x@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "Ada.Lovelace+x@Example.COM");
        assert_eq!(e.normalized(), "ada.lovelace+x@example.com");
    }

    #[test]
    fn addresses_that_could_inject_headers_or_are_malformed_are_refused() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@localhost",
            "ada@exa mple.com",
            "ada@example.com\r\nBcc: x@y.z",
            "a\nb@example.com",
            "<ada@example.com>",
            "\"ada\"@example.com",
            "ada@-example.com",
            "ada..x@example.com",
            "ädä@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} parsed");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn names_refuse_control_characters_and_empty_text() {
        assert!(UserName::parse("Ada\r\nBcc: x").is_err());
        assert!(UserName::parse("   ").is_err());
        assert!(UserName::parse(&"x".repeat(201)).is_err());
        assert_eq!(
            UserName::parse(" Ada Lovelace ").unwrap().as_str(),
            "Ada Lovelace"
        );
        assert_eq!(TenantName::parse("Acme <b>").unwrap().as_str(), "Acme <b>");
    }

    #[test]
    fn idempotency_keys_are_printable_ascii_up_to_255() {
        assert!(IdempotencyKey::parse("abc 123-_~").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("tab\there").is_err());
        assert!(IdempotencyKey::parse("é").is_err());
    }

    #[test]
    fn request_ids_are_printable_ascii_up_to_200() {
        for good in ["a", "req-1", "abc 123 ~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}"] {
            assert_eq!(RequestId::parse(good).unwrap().as_str(), good);
        }
        let longest = "r".repeat(200);
        assert_eq!(RequestId::parse(&longest).unwrap().as_str(), longest);
        for bad in [
            String::new(),
            "r".repeat(201),
            "tab\there".to_owned(),
            "line\nbreak".to_owned(),
            "del\u{7f}".to_owned(),
            "caf\u{e9}".to_owned(),
            "\u{1F600}".to_owned(),
        ] {
            assert!(RequestId::parse(&bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn roles_are_plain_identifiers() {
        assert!(Role::parse("admin").is_ok());
        assert!(Role::parse("support-tier_2").is_ok());
        assert!(Role::parse("").is_err());
        assert!(Role::parse("ad min").is_err());
    }

    #[test]
    fn email_debug_output_does_not_leak_the_address() {
        let e = Email::parse("ada@example.com").unwrap();
        assert!(!format!("{e:?}").contains("ada"));
    }
}
