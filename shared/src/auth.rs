//! Who is calling: only from the authorizer's claims in the request context, never from a
//! header the client controls.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::domain::{Actor, UserId};

pub const ADMIN_GROUP: &str = "admin";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: UserId,
    pub is_admin: bool,
}

impl Identity {
    /// The verified caller, if API Gateway's JWT authorizer (or the local runner) vouched for one.
    pub fn from_request(request: &Request) -> Option<Self> {
        let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
            return None;
        };
        let claims = &context.authorizer.as_ref()?.jwt.as_ref()?.claims;
        let user = UserId::parse(claims.get("sub")?).ok()?;
        let is_admin = claims
            .get("cognito:groups")
            .is_some_and(|groups| parse_groups(groups).any(|group| group == ADMIN_GROUP));
        Some(Self { user, is_admin })
    }

    pub fn actor(&self) -> Actor {
        if self.is_admin {
            Actor::admin(&self.user)
        } else {
            Actor::customer(&self.user)
        }
    }

    /// Whose orders the caller may act on.
    pub fn access(&self) -> crate::service::actions::Access<'_> {
        if self.is_admin {
            crate::service::actions::Access::Anyone
        } else {
            crate::service::actions::Access::Owner(&self.user)
        }
    }

    /// Whether the caller may see or act on what belongs to `owner`.
    pub fn may_access(&self, owner: &UserId) -> bool {
        self.is_admin || &self.user == owner
    }
}

/// HTTP APIs flatten a JWT array claim into text: `[admin customers]`; a JSON array is accepted too.
fn parse_groups(text: &str) -> impl Iterator<Item = &str> {
    text.trim_matches(|c| c == '[' || c == ']')
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(|group| group.trim_matches('"'))
        .filter(|group| !group.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_parse_from_every_shape_api_gateway_sends() {
        assert_eq!(parse_groups("[admin customers]").collect::<Vec<_>>(), vec!["admin", "customers"]);
        assert_eq!(parse_groups("[\"admin\",\"x\"]").collect::<Vec<_>>(), vec!["admin", "x"]);
        assert_eq!(parse_groups("admin").collect::<Vec<_>>(), vec!["admin"]);
        assert_eq!(parse_groups("[]").count(), 0);
        assert!(!parse_groups("[administrators]").any(|g| g == ADMIN_GROUP));
    }
}
