//! The identity provider's user pool, where an admin makes a user a seller's (Cognito in AWS,
//! moto's Cognito locally). The pool, not the person, says which seller a user acts for: the
//! `seller` group and the `custom:seller_id` attribute end up in their tokens.

use crate::domain::contact::Email;
use crate::domain::SellerId;

use super::StoreError;

/// A user of the pool, as an admin binds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolUser {
    pub email: Email,
    /// The seller the pool says they act for, if any.
    pub seller_id: Option<SellerId>,
}

#[async_trait::async_trait]
pub trait UserDirectory: Send + Sync {
    /// The user who signs in with this email; none if the pool has no such user.
    async fn find_user(&self, email: &Email) -> Result<Option<PoolUser>, StoreError>;

    /// Makes the user act for the seller: their `custom:seller_id`, then the `seller` group
    /// (in that order, so that a member of the group always names a seller). Doing it again
    /// changes nothing.
    async fn make_seller(&self, email: &Email, seller: &SellerId) -> Result<(), StoreError>;

    /// Ends the user's acting for a seller: out of the `seller` group, their `custom:seller_id`
    /// removed, and every session they have signed out (their refresh tokens revoked), so no
    /// new token names the seller again.
    async fn end_seller(&self, email: &Email) -> Result<(), StoreError>;
}
