//! Local stand-in for the Cognito JWT authorizer: HS256 tokens with Cognito-shaped claims.

use std::collections::HashMap;

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Documented default for local use only; set `ORDERS_JWT_SECRET` to change it.
pub const DEFAULT_SECRET: &str = "orders-local-dev-secret";
pub const ISSUER: &str = "orders-local";

pub fn secret_from_env() -> String {
    std::env::var("ORDERS_JWT_SECRET")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_SECRET.to_owned())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub exp: i64,
    pub iat: i64,
    pub token_use: String,
    #[serde(rename = "cognito:groups", default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Cognito's custom attribute naming the seller a `seller` group member acts for.
    #[serde(rename = "custom:seller_id", default, skip_serializing_if = "Option::is_none")]
    pub seller_id: Option<String>,
    /// The address and name an ID token carries (orders keep them for notifications), and
    /// whether the user proved they read that address: only then is it mailed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Claims {
    /// The claims as API Gateway hands them to a function: every value a string, arrays
    /// flattened to `[a b]`.
    pub fn as_gateway_claims(&self) -> HashMap<String, String> {
        let mut claims = HashMap::from([
            ("sub".to_owned(), self.sub.clone()),
            ("iss".to_owned(), self.iss.clone()),
            ("exp".to_owned(), self.exp.to_string()),
            ("iat".to_owned(), self.iat.to_string()),
            ("token_use".to_owned(), self.token_use.clone()),
        ]);
        if !self.groups.is_empty() {
            claims.insert("cognito:groups".to_owned(), format!("[{}]", self.groups.join(" ")));
        }
        if let Some(seller) = &self.seller_id {
            claims.insert("custom:seller_id".to_owned(), seller.clone());
        }
        for (name, value) in [("email", &self.email), ("name", &self.name)] {
            if let Some(value) = value {
                claims.insert(name.to_owned(), value.clone());
            }
        }
        if self.email.is_some() {
            claims.insert("email_verified".to_owned(), self.email_verified.to_string());
        }
        claims
    }
}

/// A token for `user` in `groups` (`admin`, `payments`, ...), valid for `ttl_seconds`.
pub fn mint(secret: &str, user: &str, groups: &[&str], ttl_seconds: i64) -> Result<String, jsonwebtoken::errors::Error> {
    mint_seller(secret, user, groups, None, ttl_seconds)
}

/// As `mint`, with the `custom:seller_id` claim of a seller.
pub fn mint_seller(
    secret: &str,
    user: &str,
    groups: &[&str],
    seller_id: Option<&str>,
    ttl_seconds: i64,
) -> Result<String, jsonwebtoken::errors::Error> {
    // Shaped as Cognito ID tokens, which carry the contact claims (access tokens do not).
    mint_as(secret, user, groups, seller_id, ttl_seconds, "id")
}

/// The address a local user signs in with and is mailed at: `<user>@example.com` (moto's SES
/// takes any address).
pub fn local_email(user: &str) -> String {
    format!("{user}@example.com")
}

/// As `mint_seller`, as an ID token (`id`) or an access token (`access`).
pub fn mint_as(
    secret: &str,
    user: &str,
    groups: &[&str],
    seller_id: Option<&str>,
    ttl_seconds: i64,
    token_use: &str,
) -> Result<String, jsonwebtoken::errors::Error> {
    let now = chrono::Utc::now().timestamp();
    let id_token = token_use == "id";
    let claims = Claims {
        sub: user.to_owned(),
        iss: ISSUER.to_owned(),
        exp: now + ttl_seconds,
        iat: now,
        token_use: token_use.to_owned(),
        groups: groups.iter().map(|group| (*group).to_owned()).collect(),
        seller_id: seller_id.map(str::to_owned),
        email: id_token.then(|| local_email(user)),
        email_verified: id_token,
        name: id_token.then(|| user.to_owned()),
    };
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
}

/// Checks signature, issuer and expiry, as the JWT authorizer does.
pub fn verify(secret: &str, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "sub", "iss"]);
    decode::<Claims>(token, &DecodingKey::from_secret(secret.as_bytes()), &validation).map(|data| data.claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_token_verifies_and_carries_the_admin_group() {
        let token = mint("s", "alice", &["admin"], 60).unwrap();
        let claims = verify("s", &token).unwrap();
        assert_eq!(claims.sub, "alice");
        assert_eq!(
            claims.as_gateway_claims().get("cognito:groups").map(String::as_str),
            Some("[admin]")
        );
        assert_eq!(claims.token_use, "id");
        assert_eq!(claims.as_gateway_claims().get("email_verified").map(String::as_str), Some("true"));
    }

    #[test]
    fn wrong_secret_and_expired_tokens_are_refused() {
        assert!(verify("other", &mint("s", "alice", &[], 60).unwrap()).is_err());
        assert!(verify("s", &mint("s", "alice", &[], -5).unwrap()).is_err());
        assert!(verify("s", "not.a.token").is_err());
    }
}
