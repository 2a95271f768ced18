//! The invoice of a delivered order: issued once, with a gap-free sequential number, its lines,
//! totals, and per seller the marketplace's commission and the seller's payout.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::ids::{OrderId, SellerId, UserId};
use super::line::OrderLine;
use super::money::Money;
use super::order::{Order, Totals};
use super::order::{PartItem, PartStatus, SellerPart};
use super::quantity::Quantity;

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
    /// A part whose delivery failed was given back and refunded: its lines, their tax and its
    /// seller's commission are netted out (the shipping charged stays, as it was not refunded).
    pub fn for_order(order: &Order, sequence: u64, rate_of: impl Fn(&SellerId) -> Decimal, now: DateTime<Utc>) -> Self {
        let failed: Vec<PartItem> = order
            .seller_parts
            .iter()
            .filter(|part| part.status == PartStatus::DeliveryFailed)
            .flat_map(|part| part.items.iter().cloned())
            .collect();
        let failed_units = |line: &OrderLine| -> u32 {
            failed
                .iter()
                .filter(|unit| unit.item_id == line.item_id)
                .map(|unit| unit.quantity.get())
                .sum()
        };
        let lines: Vec<OrderLine> = order
            .items
            .iter()
            .filter_map(|line| {
                let kept = Quantity::new(line.quantity.get().saturating_sub(failed_units(line))).ok()?;
                Some(OrderLine {
                    quantity: kept,
                    subtotal: line.unit_price.checked_mul(kept.get()).unwrap_or(line.subtotal),
                    ..line.clone()
                })
            })
            .collect();
        let mut totals = order.totals;
        if !failed.is_empty() {
            let goods = Money::checked_sum(order.items.iter().map(|line| line.subtotal))
                .unwrap_or(order.totals.subtotal)
                .saturating_sub(Money::checked_sum(lines.iter().map(|line| line.subtotal)).unwrap_or(order.totals.subtotal));
            let given_back = order.value_of(&failed);
            totals.subtotal = totals.subtotal.saturating_sub(goods);
            totals.tax = totals.tax.saturating_sub(given_back.saturating_sub(goods));
            totals.total = totals.total.saturating_sub(given_back);
        }
        let sellers = order
            .seller_parts
            .iter()
            .filter(|part| part.status != PartStatus::DeliveryFailed)
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
            lines,
            totals,
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

    #[test]
    fn a_part_whose_delivery_failed_is_netted_out_of_the_lines_totals_and_commissions() {
        use crate::domain::order::{price_lines, Payment, PricingPolicy};
        use crate::domain::{Actor, PaymentReference, PlaceOrder, Product};
        let now = Utc::now();
        let mug = Product::example("mug", "10.00");
        let mut plate = Product::example("plate", "4.00");
        plate.seller_id = SellerId::parse("plates").unwrap();
        let request = PlaceOrder::from_json(&serde_json::json!({"items": [
            {"product_id": "mug", "quantity": 2}, {"product_id": "plate", "quantity": 3}
        ]}))
        .unwrap();
        let catalogue = [mug, plate].into_iter().map(|p| (p.product_id.clone(), p)).collect();
        let (lines, _) = price_lines(&request, &catalogue).unwrap();
        let pricing = PricingPolicy {
            currency: "USD".into(),
            tax_rate: "0.10".parse().unwrap(),
            shipping_fee: Money::ZERO,
        };
        let user = UserId::parse("alice").unwrap();
        let actor = Actor::customer(&user);
        let mut order = Order::new(OrderId::new(), user, lines, &pricing, &actor, now).unwrap();
        order.reserve(&actor, now, now, None).unwrap();
        let payment = Payment {
            reference: PaymentReference::parse("p").unwrap(),
            amount: order.totals.total,
            received_at: now,
        };
        order.pay(payment, &actor, now).unwrap();
        order.start_fulfilment(&actor, None, |_| "0.10".parse().unwrap(), now).unwrap();
        let whole = Invoice::for_order(&order, 1, |_| Decimal::ZERO, now);
        assert_eq!((whole.totals.total.to_string(), whole.sellers.len()), ("35.20".into(), 2));

        let plates = SellerId::parse("plates").unwrap();
        for part in order.seller_parts.iter_mut().filter(|part| part.seller_id == plates) {
            part.status = PartStatus::DeliveryFailed;
        }
        let netted = Invoice::for_order(&order, 1, |_| Decimal::ZERO, now);
        assert_eq!(netted.lines.len(), 1);
        assert_eq!(
            (netted.lines[0].quantity.get(), netted.lines[0].subtotal.to_string()),
            (2, "20.00".into())
        );
        assert_eq!(
            (
                netted.totals.subtotal.to_string(),
                netted.totals.tax.to_string(),
                netted.totals.total.to_string()
            ),
            ("20.00".into(), "2.00".into(), "22.00".into())
        );
        assert!(
            netted.sellers.iter().all(|seller| seller.seller_id != plates),
            "no commission on what came back"
        );
        assert_eq!(netted.sellers[0].commission.to_string(), "2.00");
    }
}
