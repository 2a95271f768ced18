//! What placement and the public catalogue need of the seller registry (whether each seller
//! trades, their shipping fee and name), read through a short per-instance cache: the registry changes rarely, and a placement
//! stays at one read of the catalogue and one transaction on a warm instance.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::domain::contact::Email;
use crate::domain::seller::{Seller, SellerUser};
use crate::domain::{Actor, Money, SellerId};
use crate::ports::{Clock, PoolChange, SellerStore, StoreError, UserClaim, UserDirectory, UsersWritten};

/// How long an instance trusts what it read of a seller: an admin's change of a shipping fee or
/// of `active` reaches every placement within this.
pub const SELLER_CACHE_SECONDS: i64 = 60;

/// What placement uses of one seller, and when it was read.
#[derive(Debug, Clone)]
struct Terms {
    /// The seller's own shipping fee (`None`: the configured one).
    fee: Option<Money>,
    /// `false` only for a registered seller an admin stopped; unregistered sellers trade.
    active: bool,
    /// The registered seller's name.
    name: Option<String>,
    read_at: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub struct SellerCache {
    terms: Mutex<HashMap<SellerId, Terms>>,
}

/// The sellers' terms for one placement.
#[derive(Debug, Clone, Default)]
pub struct SellerTerms {
    /// Own shipping fees, for the sellers that have one.
    pub shipping_fees: BTreeMap<SellerId, Money>,
    /// Sellers that do not trade.
    pub inactive: BTreeSet<SellerId>,
    /// The registered sellers' names.
    pub names: BTreeMap<SellerId, String>,
}

/// The registry's sellers, read through this instance's cache.
#[derive(Clone, Copy)]
pub struct SellerLookup<'a> {
    pub cache: &'a SellerCache,
    pub store: &'a dyn SellerStore,
    pub clock: &'a dyn Clock,
}

impl SellerLookup<'_> {
    /// The sellers' own shipping fees, for those that have one.
    pub async fn shipping_fees(&self, sellers: &[SellerId]) -> Result<BTreeMap<SellerId, Money>, StoreError> {
        Ok(self.terms(sellers).await?.shipping_fees)
    }

    /// Whether each seller trades, and their shipping fee.
    pub async fn terms(&self, sellers: &[SellerId]) -> Result<SellerTerms, StoreError> {
        let now = self.clock.now();
        let fresh = |read_at: DateTime<Utc>| now - read_at < Duration::seconds(SELLER_CACHE_SECONDS);
        let poisoned = || StoreError::Permanent("the seller cache is poisoned".into());
        let missing: Vec<SellerId> = {
            let terms = self.cache.terms.lock().map_err(|_| poisoned())?;
            sellers
                .iter()
                .filter(|seller| !terms.get(*seller).is_some_and(|known| fresh(known.read_at)))
                .cloned()
                .collect()
        };
        if !missing.is_empty() {
            let read = self.store.get_sellers(&missing).await?;
            let mut terms = self.cache.terms.lock().map_err(|_| poisoned())?;
            for seller in missing {
                let found = read.get(&seller);
                let known = Terms {
                    fee: found.and_then(|found| found.shipping_fee),
                    active: found.is_none_or(|found| found.active),
                    name: found.map(|found| found.name.clone()),
                    read_at: now,
                };
                terms.insert(seller, known);
            }
        }
        let terms = self.cache.terms.lock().map_err(|_| poisoned())?;
        let mut answer = SellerTerms::default();
        for seller in sellers {
            let Some(known) = terms.get(seller) else { continue };
            if let Some(fee) = known.fee {
                answer.shipping_fees.insert(seller.clone(), fee);
            }
            if !known.active {
                answer.inactive.insert(seller.clone());
            }
            if let Some(name) = &known.name {
                answer.names.insert(seller.clone(), name.clone());
            }
        }
        Ok(answer)
    }
}

/// Why a user could not be bound to a seller or let go.
#[derive(Debug, thiserror::Error)]
pub enum BindingError {
    #[error("no seller {0} is registered")]
    SellerNotFound(SellerId),
    #[error("no user signs in with {0}")]
    UserNotFound(Email),
    #[error("{0} has not proven their email (or their account is disabled or unconfirmed): they cannot act for a seller yet")]
    UserNotTrusted(Email),
    #[error("{email} acts for another seller{}: remove them there first", seller.as_ref().map(|s| format!(" ({s})")).unwrap_or_default())]
    OtherSeller { email: Email, seller: Option<SellerId> },
    #[error("{email} does not act for seller {seller}")]
    NotBound { email: Email, seller: SellerId },
    #[error("seller {0} has as many users as a seller may have")]
    Full(SellerId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Binds users to sellers and lets them go. The seller's item lists them and a claim item per
/// user (written in one transaction with the list) keeps one user to one seller; the user pool
/// says which seller a user acts for (their tokens carry it). The list and the claim are written
/// first, so what a crash leaves half done is listed, and binding again or letting go completes
/// it.
#[derive(Clone, Copy)]
pub struct SellerUsers<'a> {
    pub sellers: &'a dyn SellerStore,
    pub directory: &'a dyn UserDirectory,
    pub clock: &'a dyn Clock,
}

/// Tries of a change of a seller's users that another admin's change overtook.
const BINDING_TRIES: usize = 3;

impl SellerUsers<'_> {
    async fn seller(&self, id: &SellerId) -> Result<Seller, BindingError> {
        self.sellers
            .get_sellers(std::slice::from_ref(id))
            .await?
            .remove(id)
            .ok_or_else(|| BindingError::SellerNotFound(id.clone()))
    }

    /// Writes the seller's users as `change` makes them from `seller` as read, read again
    /// while another admin's change overtakes it; `claimed` says why when another seller holds
    /// the user.
    async fn write_users(
        &self,
        mut seller: Seller,
        claim: UserClaim<'_>,
        actor: &Actor,
        claimed: impl Fn() -> BindingError,
        change: impl Fn(&Seller) -> Result<Vec<SellerUser>, BindingError>,
    ) -> Result<Seller, BindingError> {
        for _ in 0..BINDING_TRIES {
            let users = change(&seller)?;
            match self
                .sellers
                .set_seller_users(&seller, users, claim, actor, self.clock.now())
                .await?
            {
                UsersWritten::Written(seller) => return Ok(seller),
                UsersWritten::SellerChanged => seller = self.seller(&seller.seller_id).await?,
                UsersWritten::ClaimedByAnother => return Err(claimed()),
            }
        }
        Err(StoreError::Contended("the seller kept changing while its users were".into()).into())
    }

    /// Makes the user with this email act for the seller; binding them again changes nothing
    /// but completes what an interrupted binding left.
    pub async fn bind(&self, seller_id: &SellerId, email: &Email, actor: &Actor) -> Result<Seller, BindingError> {
        // An unknown seller is refused before the pool is asked anything.
        let seller = self.seller(seller_id).await?;
        let user = self
            .directory
            .find_user(email.as_str())
            .await?
            .ok_or_else(|| BindingError::UserNotFound(email.clone()))?;
        if !user.trusted {
            return Err(BindingError::UserNotTrusted(email.clone()));
        }
        let other_seller = || BindingError::OtherSeller {
            email: email.clone(),
            seller: user.seller_id.clone().filter(|other| other != seller_id),
        };
        if user.seller_id.as_ref().is_some_and(|other| other != seller_id) {
            return Err(other_seller());
        }
        let listed_email = user.email.clone().unwrap_or_else(|| email.clone());
        let now = self.clock.now();
        let seller = self
            .write_users(seller, UserClaim::Take(&user.user_id), actor, other_seller, |seller| {
                let mut users = seller.users.clone();
                let full = users.len() >= Seller::MAX_USERS;
                match users.iter_mut().find(|listed| listed.user_id == user.user_id) {
                    // Listed already: their email as the pool has it now.
                    Some(listed) => listed.email = listed_email.clone(),
                    None if full => return Err(BindingError::Full(seller_id.clone())),
                    None => users.push(SellerUser {
                        user_id: user.user_id.clone(),
                        email: listed_email.clone(),
                        bound_at: now,
                        bound_by: actor.as_str().to_owned(),
                    }),
                }
                Ok(users)
            })
            .await?;
        if self.directory.make_seller(&user.user_id, seller_id).await? == PoolChange::UserGone {
            return Err(BindingError::UserNotFound(email.clone()));
        }
        tracing::info!(seller = %seller_id, actor = actor.as_str(), "a user acts for the seller");
        Ok(seller)
    }

    /// Lets the user go: out of the seller's group in the pool, their sessions ended, and off
    /// the seller's list. Found by the pool's id when listed (their email may have changed
    /// since), else by the email; the pool is asked whatever the list says, so a binding the
    /// list lost can still be ended.
    pub async fn let_go(&self, seller_id: &SellerId, email: &Email, actor: &Actor) -> Result<Seller, BindingError> {
        let seller = self.seller(seller_id).await?;
        let listed = seller.user_by_email(email).cloned();
        let in_pool = self
            .directory
            .find_user(listed.as_ref().map_or(email.as_str(), |user| user.user_id.as_str()))
            .await?;
        let bound_here = in_pool.as_ref().is_some_and(|user| user.seller_id.as_ref() == Some(seller_id));
        let not_elsewhere = in_pool
            .as_ref()
            .filter(|user| user.seller_id.as_ref().is_none_or(|other| other == seller_id));
        if listed.is_none() && !bound_here {
            return Err(BindingError::NotBound {
                email: email.clone(),
                seller: seller_id.clone(),
            });
        }
        // Repeatable: an interrupted let-go that removed the attribute still signs them out.
        if let Some(user) = not_elsewhere {
            self.directory.end_seller(&user.user_id).await?;
        }
        let Some(listed) = listed else {
            tracing::warn!(seller = %seller_id, "a user the seller did not list acted for it; ended in the pool");
            return Ok(seller);
        };
        let elsewhere = || BindingError::OtherSeller {
            email: email.clone(),
            seller: None,
        };
        let seller = self
            .write_users(seller, UserClaim::Release(&listed.user_id), actor, elsewhere, |seller| {
                Ok(seller.users.iter().filter(|user| user.user_id != listed.user_id).cloned().collect())
            })
            .await?;
        tracing::info!(seller = %seller_id, actor = actor.as_str(), "a user no longer acts for the seller");
        Ok(seller)
    }
}
