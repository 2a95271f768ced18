//! The invoice of a delivered order: issued once, with a gap-free sequential number, its lines,
//! totals, and per seller the marketplace's commission and the seller's payout.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::ids::{OrderId, SellerId, UserId};
use super::line::OrderLine;
use super::money::Money;
use super::order::SellerPart;
use super::order::{Order, Totals};

/// What one seller earns from the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerSettlement {
    pub seller_id: SellerId,
    pub subtotal: Money,
    /// The marketplace's share of `subtotal`, as a fraction.
    pub commission_rate: Decimal,
    pub commission: Money,
    /// `subtotal - commission`.
    pub payout: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    /// `INV-00000042`: sequential, without gaps.
    pub number: String,
    pub sequence: u64,
    pub order_id: OrderId,
    /// The order's number, for orders placed since numbers were given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_number: Option<super::numbering::OrderNumber>,
    pub user_id: UserId,
    pub issued_at: DateTime<Utc>,
    pub currency: String,
    /// The order's lines, as they were charged.
    pub lines: Vec<OrderLine>,
    #[serde(flatten)]
    pub totals: Totals,
    pub sellers: Vec<SellerSettlement>,
}

impl Invoice {
    /// The invoice numbered `sequence` for a delivered order: each seller charged the rate their
    /// part was made with, or (parts made before parts carried one) the rate `rate_of` gives.
    pub fn for_order(order: &Order, sequence: u64, rate_of: impl Fn(&SellerId) -> Decimal, now: DateTime<Utc>) -> Self {
        let sellers = order
            .seller_parts
            .iter()
            .map(|part| {
                let commission_rate = part.commission_rate.unwrap_or_else(|| rate_of(&part.seller_id));
                // One rounding, half away from zero, as every computed amount.
                let (commission, payout) = SellerPart::settlement(part.subtotal, commission_rate);
                SellerSettlement {
                    seller_id: part.seller_id.clone(),
                    subtotal: part.subtotal,
                    commission_rate,
                    commission,
                    payout,
                }
            })
            .collect();
        Self {
            number: number(sequence),
            sequence,
            order_id: order.id,
            order_number: order.order_number.clone(),
            user_id: order.user_id.clone(),
            issued_at: now,
            currency: order.currency.clone(),
            lines: order.items.clone(),
            totals: order.totals,
            sellers,
        }
    }
}

/// The invoice number for a sequence number.
pub fn number(sequence: u64) -> String {
    format!("INV-{sequence:08}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_zero_padded() {
        assert_eq!(number(42), "INV-00000042");
    }
}
