//! Secrets: invite tokens and API keys. Both are random, shown once, and
//! stored only as SHA-256 hashes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

use crate::ids::ApiKeyId;

/// The SHA-256 of a secret. This is what storage keeps; the secret itself
/// never is (except an invite token inside an undelivered outbox message).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    /// Hashes a secret.
    pub fn of(secret: &[u8]) -> Self {
        Self(Sha256::digest(secret).into())
    }

    /// Wraps stored hash bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, 64 characters: the stored form.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses the stored form.
    pub fn from_hex(s: &str) -> Option<Self> {
        // Hex digits only: `u8::from_str_radix` would also take a `+` sign
        // ("+f"), letting a second spelling of a hash through.
        if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(out))
    }

    /// Compares in constant time.
    pub fn ct_eq(&self, other: &SecretHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretHash({}…)", &self.to_hex()[..8])
    }
}

/// An invite token: 32 random bytes, base64url without padding (43
/// characters). It travels in the email link and in the accept request.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InviteToken(String);

impl InviteToken {
    /// Encodes fresh random bytes (from a CSPRNG) as a token.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Takes a token a caller presented. Returns `None` when it cannot be a
    /// token at all (wrong length or alphabet), so no lookup is needed.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = raw.len() == 43
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(raw.to_owned()))
    }

    /// The token text: put it in the link, nowhere else.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The stored form.
    pub fn hash(&self) -> SecretHash {
        SecretHash::of(self.0.as_bytes())
    }
}

impl fmt::Debug for InviteToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InviteToken(<redacted>)")
    }
}

const KEY_PREFIX: &str = "bk_";

/// A freshly minted API key: the full secret is shown to the operator once;
/// only `hash` is stored.
pub struct NewApiKey {
    /// The key's id (public; used for lookup).
    pub id: ApiKeyId,
    /// `bk_<id as 32 hex>_<43 base64url characters>`.
    pub secret: String,
    /// SHA-256 of the random part.
    pub hash: SecretHash,
}

impl NewApiKey {
    /// Builds a key from an id and 32 random bytes.
    pub fn new(id: ApiKeyId, random: [u8; 32]) -> Self {
        let secret_part = URL_SAFE_NO_PAD.encode(random);
        let hash = SecretHash::of(secret_part.as_bytes());
        let secret = format!("{KEY_PREFIX}{}_{secret_part}", id.as_uuid().simple());
        Self { id, secret, hash }
    }
}

impl fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NewApiKey({}, <redacted>)", self.id)
    }
}

/// An API key as presented in `Authorization: Bearer …`, split into the id
/// to look up and the secret part to verify.
pub struct PresentedApiKey {
    id: ApiKeyId,
    secret: String,
}

impl PresentedApiKey {
    /// `None` when the text does not have the shape of a Beckon API key.
    pub fn parse(raw: &str) -> Option<Self> {
        let rest = raw.strip_prefix(KEY_PREFIX)?;
        let (id_hex, secret) = (rest.get(..32)?, rest.get(32..)?);
        let secret = secret.strip_prefix('_')?;
        if secret.len() != 43
            || !secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            || !id_hex.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return None;
        }
        let id = uuid::Uuid::try_parse(id_hex).ok()?;
        Some(Self {
            id: ApiKeyId::from_uuid(id),
            secret: secret.to_owned(),
        })
    }

    /// The id part, for lookup.
    pub fn id(&self) -> ApiKeyId {
        self.id
    }

    /// Whether the secret part hashes to `stored` (constant-time compare).
    pub fn matches(&self, stored: &SecretHash) -> bool {
        SecretHash::of(self.secret.as_bytes()).ct_eq(stored)
    }
}

impl fmt::Debug for PresentedApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PresentedApiKey({}, <redacted>)", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_url_safe_characters_and_hash_stably() {
        let t = InviteToken::from_bytes([0xfb; 32]);
        assert_eq!(t.expose().len(), 43);
        assert!(InviteToken::parse(t.expose()).is_some());
        assert_eq!(t.hash(), InviteToken::parse(t.expose()).unwrap().hash());
        assert_ne!(t.hash(), InviteToken::from_bytes([0xfa; 32]).hash());
    }

    #[test]
    fn token_parse_refuses_what_cannot_be_a_token() {
        assert!(InviteToken::parse("").is_none());
        assert!(InviteToken::parse(&"a".repeat(42)).is_none());
        assert!(InviteToken::parse(&format!("{}=", "a".repeat(42))).is_none());
    }

    #[test]
    fn hashes_round_trip_through_hex() {
        let h = SecretHash::of(b"x");
        assert_eq!(SecretHash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(SecretHash::from_hex("zz"), None);
        assert_eq!(SecretHash::from_hex(&format!("+0{}", "0".repeat(62))), None);
    }

    #[test]
    fn a_minted_key_verifies_and_a_tampered_one_does_not() {
        let id = ApiKeyId::from_uuid(uuid::Uuid::now_v7());
        let key = NewApiKey::new(id, [7; 32]);
        let presented = PresentedApiKey::parse(&key.secret).unwrap();
        assert_eq!(presented.id(), id);
        assert!(presented.matches(&key.hash));

        let mut tampered = key.secret.clone();
        tampered.pop();
        tampered.push('Q');
        let t = PresentedApiKey::parse(&tampered).unwrap();
        assert!(!t.matches(&key.hash));
    }

    #[test]
    fn malformed_keys_do_not_parse() {
        for bad in [
            "",
            "bk_",
            "Bearer x",
            "bk_zz",
            &format!("bk_{}_{}", "g".repeat(32), "a".repeat(43)),
        ] {
            assert!(PresentedApiKey::parse(bad).is_none(), "{bad:?}");
        }
    }
}
