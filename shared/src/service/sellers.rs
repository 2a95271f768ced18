//! What placement needs of the seller registry (each seller's shipping fee), read through a
//! short per-instance cache: the registry changes rarely, and a placement stays at one read of
//! the catalogue and one transaction on a warm instance.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::app::App;
use crate::domain::{Money, SellerId};
use crate::ports::StoreError;

/// How long an instance trusts what it read of a seller: an admin's change of a shipping fee
/// reaches every placement within this.
pub const SELLER_CACHE_SECONDS: i64 = 60;

/// A seller's own shipping fee (`None`: the configured one), and when it was read.
type ReadFee = (Option<Money>, DateTime<Utc>);

#[derive(Debug, Default)]
pub struct SellerCache {
    fees: Mutex<HashMap<SellerId, ReadFee>>,
}

impl SellerCache {
    /// The sellers' own shipping fees, for those that have one.
    pub async fn shipping_fees(&self, app: &App, sellers: &[SellerId]) -> Result<BTreeMap<SellerId, Money>, StoreError> {
        let now = app.clock.now();
        let fresh = |read_at: DateTime<Utc>| now - read_at < Duration::seconds(SELLER_CACHE_SECONDS);
        let missing: Vec<SellerId> = {
            let fees = self
                .fees
                .lock()
                .map_err(|_| StoreError::Permanent("the seller cache is poisoned".into()))?;
            sellers
                .iter()
                .filter(|seller| !fees.get(*seller).is_some_and(|(_, read_at)| fresh(*read_at)))
                .cloned()
                .collect()
        };
        if !missing.is_empty() {
            let read = app.catalogue.get_sellers(&missing).await?;
            let mut fees = self
                .fees
                .lock()
                .map_err(|_| StoreError::Permanent("the seller cache is poisoned".into()))?;
            for seller in missing {
                let fee = read.get(&seller).and_then(|found| found.shipping_fee);
                fees.insert(seller, (fee, now));
            }
        }
        let fees = self
            .fees
            .lock()
            .map_err(|_| StoreError::Permanent("the seller cache is poisoned".into()))?;
        Ok(sellers
            .iter()
            .filter_map(|seller| Some((seller.clone(), fees.get(seller)?.0?)))
            .collect())
    }
}
