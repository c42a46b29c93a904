//! Typed identifiers. All are UUIDs: parsed in either letter case, always
//! written in lower-case hyphenated form.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// The text given is not a hyphenated UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a UUID")]
pub struct IdParseError;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID.
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;

            /// Accepts only the 36-character hyphenated form, in either case.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                if s.len() != 36 {
                    return Err(IdParseError);
                }
                Uuid::try_parse(s).map(Self).map_err(|_| IdParseError)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

uuid_id!(
    /// A tenant: the unit of isolation. Every record belongs to exactly one.
    TenantId
);
uuid_id!(
    /// A user (an invitee) of one tenant.
    UserId
);
uuid_id!(
    /// An API key: the credential a caller presents.
    ApiKeyId
);
uuid_id!(
    /// One queued email in the outbox; it also seeds the email's Message-ID.
    OutboxId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_in_either_case_and_print_in_lower_case() {
        let id: UserId = "2489E9AD-2EE2-8E00-8EC9-32D5F69181C0".parse().unwrap();
        assert_eq!(id.to_string(), "2489e9ad-2ee2-8e00-8ec9-32d5f69181c0");
    }

    #[test]
    fn ids_reject_other_uuid_spellings_and_garbage() {
        for bad in [
            "",
            "not-a-uuid",
            "2489e9ad2ee28e008ec932d5f69181c0",
            "{2489e9ad-2ee2-8e00-8ec9-32d5f69181c0}",
            "2489e9ad-2ee2-8e00-8ec9-32d5f69181cz",
        ] {
            assert!(bad.parse::<TenantId>().is_err(), "{bad:?} parsed");
        }
    }
}
