//! Who is calling: only from the authorizer's claims in the request context, never from a
//! header the client controls.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::domain::contact::Contact;
use crate::domain::order::Access;
use crate::domain::{Actor, SellerId, UserId};

pub const ADMIN_GROUP: &str = "admin";
/// The payments service (or a provider integration) that confirms and fails payments.
pub const PAYMENTS_GROUP: &str = "payments";
/// Sellers, each with their `custom:seller_id` claim: they ship their own parts of orders.
pub const SELLER_GROUP: &str = "seller";
pub const SELLER_ID_CLAIM: &str = "custom:seller_id";

/// The hosted sign-in the pages use: Cognito's hosted UI (the local runner's stand-in locally),
/// the app client they sign in as, and the pages' URL it sends people back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInSettings {
    /// `https://<prefix>.auth.<region>.amazoncognito.com`, without a trailing slash.
    pub base_url: String,
    pub client_id: String,
    /// One of the app client's callback and sign-out URLs, ending in a slash.
    pub pages_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: UserId,
    pub is_admin: bool,
    /// A member of the `payments` group: may confirm payments and report failed ones.
    pub is_payments_service: bool,
    /// A member of the `seller` group, as the seller its `custom:seller_id` claim names.
    pub seller_id: Option<SellerId>,
    /// The name and address the identity provider verified (`name`, `email` claims).
    pub contact: Contact,
}

impl Identity {
    /// The verified caller, if API Gateway's JWT authorizer (or the local runner) vouched for one.
    pub fn from_request(request: &Request) -> Option<Self> {
        let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
            return None;
        };
        let claims = &context.authorizer.as_ref()?.jwt.as_ref()?.claims;
        let user = UserId::parse(claims.get("sub")?).ok()?;
        let groups: Vec<String> = claims.get("cognito:groups").map(|text| parse_groups(text)).unwrap_or_default();
        let member = |name: &str| groups.iter().any(|group| group == name);
        let seller_id = member(SELLER_GROUP)
            .then(|| claims.get(SELLER_ID_CLAIM).and_then(|id| SellerId::parse(id).ok()))
            .flatten();
        let claim = |name: &str| claims.get(name).map(String::as_str);
        Some(Self {
            contact: Contact::from_claims(claim("name"), verified_email(claim("email"), claim("email_verified"))),
            is_admin: member(ADMIN_GROUP),
            is_payments_service: member(PAYMENTS_GROUP),
            seller_id,
            user,
        })
    }

    pub fn actor(&self) -> Actor {
        match (&self.seller_id, self.is_admin) {
            (_, true) => Actor::admin(&self.user),
            (Some(seller), false) => Actor::seller(seller),
            (None, false) => Actor::customer(&self.user),
        }
    }

    /// Whose orders the caller may act on.
    pub fn access(&self) -> Access<'_> {
        if self.is_admin {
            Access::Anyone
        } else {
            Access::Owner(&self.user)
        }
    }

    /// Whether the caller may see or act on what belongs to `owner`.
    pub fn may_access(&self, owner: &UserId) -> bool {
        self.is_admin || &self.user == owner
    }
}

/// The groups of a `cognito:groups` claim, exactly. HTTP APIs flatten a JWT array claim into
/// `[admin customers]` (Cognito group names never hold white space, but may hold commas and
/// brackets); a JSON array is read as JSON; anything else is one group name.
fn parse_groups(text: &str) -> Vec<String> {
    if let Ok(groups) = serde_json::from_str::<Vec<String>>(text) {
        return groups;
    }
    match text.strip_prefix('[').and_then(|inner| inner.strip_suffix(']')) {
        Some(inner) => inner.split_whitespace().map(str::to_owned).collect(),
        None => vec![text.to_owned()],
    }
}

/// The caller's address only when the identity provider verified it: a user may change their
/// `email` attribute, and mail must never go where its owner did not prove to read it. API
/// Gateway hands every claim over as a string.
fn verified_email<'a>(email: Option<&'a str>, email_verified: Option<&str>) -> Option<&'a str> {
    email.filter(|_| email_verified == Some("true"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_verified_address_is_trusted_for_mail() {
        assert_eq!(verified_email(Some("a@example.com"), Some("true")), Some("a@example.com"));
        for unverified in [Some("false"), None, Some("TRUE "), Some("1")] {
            assert_eq!(verified_email(Some("a@example.com"), unverified), None, "{unverified:?}");
        }
        assert_eq!(verified_email(None, Some("true")), None);
    }

    #[test]
    fn groups_parse_from_every_shape_api_gateway_sends() {
        assert_eq!(parse_groups("[admin customers]"), vec!["admin", "customers"]);
        assert_eq!(parse_groups("[\"admin\",\"x\"]"), vec!["admin", "x"]);
        assert_eq!(parse_groups("admin"), vec!["admin"]);
        assert!(parse_groups("[]").is_empty());
        assert!(!parse_groups("[administrators]").iter().any(|g| g == ADMIN_GROUP));
    }

    #[test]
    fn membership_is_exact_so_a_group_named_with_a_comma_grants_nothing_else() {
        for claim in ["[sales,admin]", "sales,admin", "[\"sales,admin\"]", "[admin,]", "[[admin]]"] {
            assert!(
                !parse_groups(claim).iter().any(|g| g == ADMIN_GROUP),
                "{claim} must not grant admin"
            );
        }
        assert_eq!(parse_groups("[sales,admin payments]"), vec!["sales,admin", "payments"]);
    }
}
