//! Who to write to: a customer's name and address from their verified token, a seller's from
//! the seller registry.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An email address, checked for shape (the identity provider verified that it is theirs).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be an email address (name@domain, at most {max} characters)", max = Email::MAX_CHARS)]
pub struct BadEmail;

impl Email {
    pub const MAX_CHARS: usize = 254;

    pub fn parse(text: &str) -> Result<Self, BadEmail> {
        let text = text.trim();
        let (local, domain) = text.rsplit_once('@').ok_or(BadEmail)?;
        let well_formed = text.len() <= Self::MAX_CHARS
            && !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !text
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'))
            && !local.contains('@');
        if well_formed {
            Ok(Self(text.to_owned()))
        } else {
            Err(BadEmail)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Email {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A customer as their verified token names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub name: Option<String>,
    pub email: Option<Email>,
}

impl Contact {
    /// The longest name kept; longer ones are cut.
    pub const MAX_NAME_CHARS: usize = 200;

    /// From the token's `name` and `email` claims; what does not parse is left out.
    pub fn from_claims(name: Option<&str>, email: Option<&str>) -> Self {
        let name = name
            .map(|name| {
                name.trim()
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(Self::MAX_NAME_CHARS)
                    .collect::<String>()
            })
            .filter(|name| !name.is_empty());
        Self {
            name,
            email: email.and_then(|email| Email::parse(email).ok()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_for_shape() {
        assert_eq!(Email::parse(" alice@example.com ").unwrap().as_str(), "alice@example.com");
        for bad in [
            "alice",
            "@example.com",
            "alice@localhost",
            "a b@example.com",
            "a@b.",
            "<a@b.c>",
            "a@b@c.d",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn claims_that_do_not_parse_are_left_out() {
        let contact = Contact::from_claims(Some("  Alice\u{7} Smith "), Some("not-an-address"));
        assert_eq!(contact.name.as_deref(), Some("Alice Smith"));
        assert_eq!(contact.email, None);
    }
}
