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
