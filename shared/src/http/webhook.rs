//! Stripe's signed webhook, checked as Stripe documents it: `Stripe-Signature:
//! t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` keyed with the endpoint's signing
//! secret (`whsec_...`, used as it is). While a secret is rolled Stripe signs with both, as
//! several `v1` entries, any of which may match; other schemes (`v0`) are not ours to check. The
//! timestamp bounds replays of a captured request to five minutes.

use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "stripe-signature";
/// How far the signature's time may be from ours, either way.
pub const TOLERANCE_SECONDS: i64 = 300;

type HmacSha256 = hmac::Hmac<Sha256>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header is not t=<unix seconds>,v1=<hex digest>")]
    Malformed,
    #[error("the signature's timestamp is more than {TOLERANCE_SECONDS} s away from now")]
    Stale,
    #[error("the signature does not match the body")]
    Mismatch,
}

/// The key webhooks are signed with, ready to sign. Its `Debug` never shows it.
#[derive(Clone)]
pub struct WebhookSecret(HmacSha256);

impl WebhookSecret {
    /// Shortest secret accepted: a guessable key would make the signature worthless.
    pub const MIN_CHARS: usize = 16;

    pub fn parse(text: &str) -> Option<Self> {
        if text.chars().count() < Self::MIN_CHARS {
            return None;
        }
        <HmacSha256 as KeyInit>::new_from_slice(text.as_bytes()).ok().map(Self)
    }

    fn mac(&self, timestamp: i64, body: &[u8]) -> HmacSha256 {
        let mut mac = self.0.clone();
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The header value Stripe sends for `body` at `timestamp` (tests sign with it).
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        let digest = self.mac(timestamp, body).finalize().into_bytes();
        format!("t={timestamp},v1={}", hex::encode(digest))
    }

    /// Checks the header against the raw body, in constant time per candidate digest.
    pub fn verify(&self, header: Option<&str>, body: &[u8], now: DateTime<Utc>) -> Result<(), SignatureError> {
        let header = header.ok_or(SignatureError::Missing)?;
        let mut timestamp = None;
        let mut digests = Vec::new();
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", value)) => timestamp = Some(value.parse::<i64>().map_err(|_| SignatureError::Malformed)?),
                Some(("v1", value)) => digests.push(hex::decode(value).map_err(|_| SignatureError::Malformed)?),
                Some(_) => {}
                None => return Err(SignatureError::Malformed),
            }
        }
        let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
        if digests.is_empty() {
            return Err(SignatureError::Malformed);
        }
        // Checked: a timestamp at i64's extremes is stale, not an overflow.
        let skew = now.timestamp().checked_sub(timestamp).and_then(i64::checked_abs);
        if skew.is_none_or(|skew| skew > TOLERANCE_SECONDS) {
            return Err(SignatureError::Stale);
        }
        let matches = digests.iter().any(|digest| self.mac(timestamp, body).verify_slice(digest).is_ok());
        if matches {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> WebhookSecret {
        WebhookSecret::parse("a-long-enough-test-secret").unwrap()
    }

    #[test]
    fn a_signature_made_with_the_secret_verifies_and_any_change_breaks_it() {
        let now = Utc::now();
        let body = br#"{"type":"payment.succeeded"}"#;
        let header = secret().sign(now.timestamp(), body);
        assert_eq!(secret().verify(Some(&header), body, now), Ok(()));
        assert_eq!(
            secret().verify(Some(&header), br#"{"type":"payment.failed"}"#, now),
            Err(SignatureError::Mismatch)
        );
        let other = WebhookSecret::parse("another-secret-of-length").unwrap();
        assert_eq!(other.verify(Some(&header), body, now), Err(SignatureError::Mismatch));
    }

    #[test]
    fn old_or_future_timestamps_and_malformed_headers_are_refused() {
        let now = Utc::now();
        let body = b"{}";
        let old = secret().sign(now.timestamp() - TOLERANCE_SECONDS - 1, body);
        assert_eq!(secret().verify(Some(&old), body, now), Err(SignatureError::Stale));
        let future = secret().sign(now.timestamp() + TOLERANCE_SECONDS + 1, body);
        assert_eq!(secret().verify(Some(&future), body, now), Err(SignatureError::Stale));
        for extreme in [i64::MIN, i64::MAX, i64::MIN + 1] {
            let header = format!("t={extreme},v1={}", "ab".repeat(32));
            assert_eq!(secret().verify(Some(&header), body, now), Err(SignatureError::Stale));
        }
        for header in ["", "t=1", "v1=00", "t=x,v1=00", "t=1,v1=zz", "garbage"] {
            assert_eq!(secret().verify(Some(header), body, now), Err(SignatureError::Malformed), "{header}");
        }
        assert_eq!(secret().verify(None, body, now), Err(SignatureError::Missing));
    }

    #[test]
    fn during_a_rotation_either_digest_may_match() {
        let now = Utc::now();
        let body = b"{}";
        let signed = secret().sign(now.timestamp(), body);
        let digest = signed.split("v1=").nth(1).unwrap();
        let header = format!("t={},v1={},v1={digest}", now.timestamp(), "ab".repeat(32));
        assert_eq!(secret().verify(Some(&header), body, now), Ok(()));
    }

    #[test]
    fn short_secrets_are_refused_and_never_printed() {
        assert!(WebhookSecret::parse("short").is_none());
        assert_eq!(format!("{:?}", secret()), "WebhookSecret(..)");
    }
}
