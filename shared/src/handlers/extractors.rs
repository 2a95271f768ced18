//! Who is calling, from the authorizer's claims in the request context: any signed-in caller,
//! an admin, or a seller acting on their own part.

use lambda_http::Request;

use crate::auth::Identity;
use crate::http::ApiError;

/// The authenticated caller, or 401.
pub(crate) fn caller(request: &Request) -> Result<Identity, ApiError> {
    let identity = Identity::from_request(request).ok_or(ApiError::Unauthenticated)?;
    tracing::Span::current().record("user_id", tracing::field::display(&identity.user));
    Ok(identity)
}

/// The authenticated caller if an admin, or 401/403.
pub(crate) fn admin(request: &Request) -> Result<Identity, ApiError> {
    let identity = caller(request)?;
    if identity.is_admin {
        Ok(identity)
    } else {
        Err(ApiError::Forbidden)
    }
}

/// The seller the path names (`sellerId`), if the caller is that seller (group `seller`, claim
/// `custom:seller_id`) or an admin; 403 otherwise.
pub(crate) fn seller_or_admin(request: &Request) -> Result<crate::domain::SellerId, ApiError> {
    let identity = caller(request)?;
    let seller_id = crate::http::path_param(request, "sellerId", crate::domain::SellerId::parse)?;
    if identity.is_admin || identity.seller_id.as_ref() == Some(&seller_id) {
        Ok(seller_id)
    } else {
        Err(ApiError::Forbidden)
    }
}
