//! What placement and the public catalogue need of the seller registry (whether each seller
//! trades, their shipping fee and name), read through a short per-instance cache: the registry changes rarely, and a placement
//! stays at one read of the catalogue and one transaction on a warm instance.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::domain::{Money, SellerId};
use crate::ports::{Clock, SellerStore, StoreError};

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
    UserNotFound(crate::domain::contact::Email),
    #[error("{email} acts for seller {seller} already: let them go there first")]
    OtherSeller {
        email: crate::domain::contact::Email,
        seller: SellerId,
    },
    #[error("{email} does not act for seller {seller}")]
    NotBound {
        email: crate::domain::contact::Email,
        seller: SellerId,
    },
    #[error("seller {0} has as many users as a seller may have")]
    Full(SellerId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Binds users to sellers and lets them go: the user pool says which seller a user acts for
/// (their tokens carry it), the seller's item lists them for the admins. The pool is written
/// first, so a crash between the two leaves what the admin's retry completes.
#[derive(Clone, Copy)]
pub struct SellerUsers<'a> {
    pub sellers: &'a dyn SellerStore,
    pub directory: &'a dyn crate::ports::UserDirectory,
    pub clock: &'a dyn Clock,
}

/// Tries of a change of a seller's users that another admin's change overtook.
const BINDING_TRIES: usize = 3;

impl SellerUsers<'_> {
    async fn seller(&self, id: &SellerId) -> Result<crate::domain::seller::Seller, BindingError> {
        self.sellers
            .get_sellers(std::slice::from_ref(id))
            .await?
            .remove(id)
            .ok_or_else(|| BindingError::SellerNotFound(id.clone()))
    }

    /// Makes the user with this email act for the seller; binding them again changes nothing.
    pub async fn bind(
        &self,
        seller_id: &SellerId,
        email: &crate::domain::contact::Email,
        actor: &crate::domain::Actor,
    ) -> Result<crate::domain::seller::Seller, BindingError> {
        for _ in 0..BINDING_TRIES {
            let seller = self.seller(seller_id).await?;
            let user = self
                .directory
                .find_user(email)
                .await?
                .ok_or_else(|| BindingError::UserNotFound(email.clone()))?;
            match user.seller_id {
                Some(other) if &other != seller_id => {
                    return Err(BindingError::OtherSeller {
                        email: email.clone(),
                        seller: other,
                    })
                }
                _ => {}
            }
            if seller.user(email).is_none() && seller.users.len() >= crate::domain::seller::Seller::MAX_USERS {
                return Err(BindingError::Full(seller_id.clone()));
            }
            self.directory.make_seller(email, seller_id).await?;
            if seller.user(email).is_some() {
                return Ok(seller);
            }
            let now = self.clock.now();
            let mut users = seller.users.clone();
            users.push(crate::domain::seller::SellerUser {
                email: email.clone(),
                bound_at: now,
                bound_by: actor.as_str().to_owned(),
            });
            if let Some(updated) = self.sellers.set_seller_users(&seller, &users, actor, now).await? {
                tracing::info!(seller = %seller_id, actor = actor.as_str(), "a user is bound to the seller");
                return Ok(updated);
            }
        }
        Err(StoreError::Contended("the seller kept changing while its users were".into()).into())
    }

    /// Lets the user go: out of the seller's group in the pool, their sessions ended, and off
    /// the seller's list. A user the pool no longer has, or has bound elsewhere, only leaves the
    /// list.
    pub async fn let_go(
        &self,
        seller_id: &SellerId,
        email: &crate::domain::contact::Email,
        actor: &crate::domain::Actor,
    ) -> Result<crate::domain::seller::Seller, BindingError> {
        for _ in 0..BINDING_TRIES {
            let seller = self.seller(seller_id).await?;
            if seller.user(email).is_none() {
                return Err(BindingError::NotBound {
                    email: email.clone(),
                    seller: seller_id.clone(),
                });
            }
            let in_pool = self.directory.find_user(email).await?;
            if in_pool.is_some_and(|user| user.seller_id.as_ref() == Some(seller_id)) {
                self.directory.end_seller(email).await?;
            }
            let users: Vec<_> = seller.users.iter().filter(|user| &user.email != email).cloned().collect();
            if let Some(updated) = self.sellers.set_seller_users(&seller, &users, actor, self.clock.now()).await? {
                tracing::info!(seller = %seller_id, actor = actor.as_str(), "a user is let go of the seller");
                return Ok(updated);
            }
        }
        Err(StoreError::Contended("the seller kept changing while its users were".into()).into())
    }
}
