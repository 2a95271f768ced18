//! The identity provider's user pool, where an admin makes a user a seller's (Cognito in AWS,
//! moto's Cognito locally). The pool, not the person, says which seller a user acts for: the
//! `seller` group and the `custom:seller_id` attribute end up in their tokens.

use crate::domain::contact::Email;
use crate::domain::SellerId;

use super::StoreError;

/// A user of the pool, as an admin binds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolUser {
    /// The pool's id of the user (`Username`; their `sub` in a pool that signs in by email):
    /// it never changes, their email may.
    pub user_id: String,
    /// Their email as the pool holds it.
    pub email: Option<Email>,
    /// Whether they may act for a seller: enabled, their email verified, and their account
    /// either confirmed or created by an admin (not a self sign-up never confirmed).
    pub trusted: bool,
    /// The seller the pool says they act for, if any.
    pub seller_id: Option<SellerId>,
}

/// What became of a change of a user's seller in the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolChange {
    Done,
    /// The pool has no such user any more.
    UserGone,
}

#[async_trait::async_trait]
pub trait UserDirectory: Send + Sync {
    /// The user who signs in with this email, or whose pool id this is; none if the pool has no
    /// such user.
    async fn find_user(&self, email_or_id: &str) -> Result<Option<PoolUser>, StoreError>;

    /// Makes the user act for the seller: their `custom:seller_id`, then the `seller` group
    /// (in that order, so that a member of the group always names a seller). Doing it again
    /// changes nothing.
    async fn make_seller(&self, user_id: &str, seller: &SellerId) -> Result<PoolChange, StoreError>;

    /// Ends the user's acting for a seller: out of the `seller` group, their `custom:seller_id`
    /// removed, and every session they have signed out (their refresh tokens revoked), so no
    /// new token names the seller again. Doing it again changes nothing.
    async fn end_seller(&self, user_id: &str) -> Result<PoolChange, StoreError>;
}
