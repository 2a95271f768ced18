//! Restocking before shipping: units an admin's refund puts back in stock leave the seller's
//! part to ship, with their share of its payout and commission, so nothing ships that is also
//! back on the shelf.

use chrono::{DateTime, Utc};

use super::fulfilment::{PartItem, PartStatus, SellerPart};
use super::refund::RefundRefusal;
use super::Order;
use crate::domain::actor::Actor;
use crate::domain::ids::ItemId;
use crate::domain::quantity::Quantity;

impl Order {
    /// Units of a line taken out of what its seller ships, by restocks before shipping.
    pub fn units_unshipped(&self, item: &ItemId) -> u32 {
        self.refunds.iter().map(|refund| Self::units_in(&refund.unshipped, item)).sum()
    }

    /// Restocked units must not ship too: each must still wait to ship (no part yet, or its
    /// seller's part not yet shipped), and its seller's part gives it up, with its share of the
    /// payout and commission (a part left empty goes). Refused before anything changes.
    pub(super) fn take_out_of_parts(&mut self, units: &[PartItem], actor: &Actor, now: DateTime<Utc>) -> Result<(), RefundRefusal> {
        let mut after = self.clone();
        for unit in units {
            let line = after
                .items
                .iter()
                .find(|line| line.item_id == unit.item_id)
                .ok_or_else(|| RefundRefusal::UnknownItem(unit.item_id.clone()))?;
            let (seller, price) = (line.seller_id.clone(), line.unit_price);
            let Some(part) = after.seller_parts.iter_mut().find(|part| part.seller_id == seller) else {
                continue;
            };
            let held = part.items.iter_mut().find(|held| held.item_id == unit.item_id);
            let (PartStatus::Pending, Some(held)) = (part.status, held) else {
                return Err(RefundRefusal::AlreadyShipped {
                    item_id: unit.item_id.clone(),
                });
            };
            let left = held.quantity.get().saturating_sub(unit.quantity.get());
            match Quantity::new(left) {
                Ok(left) => held.quantity = left,
                Err(_) => part.items.retain(|held| held.item_id != unit.item_id),
            }
            let value = price.checked_mul(unit.quantity.get()).unwrap_or(part.subtotal);
            part.subtotal = part.subtotal.saturating_sub(value);
            if let Some(rate) = part.commission_rate {
                let (commission, payout) = SellerPart::settlement(part.subtotal, rate);
                part.commission = Some(commission);
                part.payout = Some(payout);
            }
        }
        after.seller_parts.retain(|part| !part.items.is_empty());
        let to_ship: u32 = after
            .items
            .iter()
            .map(|line| {
                let gone = after.units_unshipped(&line.item_id) + Self::units_in(units, &line.item_id);
                line.quantity.get().saturating_sub(gone)
            })
            .sum();
        if to_ship == 0 {
            return Err(RefundRefusal::NothingLeftToShip);
        }
        // A part that went may leave the others all shipped (or delivered).
        if !after.seller_parts.is_empty() {
            let aggregate = after.aggregate_status();
            if aggregate != after.status {
                after
                    .transition(aggregate, actor, Some("restocked before shipping".to_owned()), now)
                    .map_err(|_| RefundRefusal::NothingLeftToShip)?;
            }
        }
        *self = after;
        Ok(())
    }
}
