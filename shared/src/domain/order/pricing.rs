//! Pricing an order: each line's price snapshotted from the catalogue, and the totals (tax
//! rounded once, a shipping fee per seller part) held under the bound every amount is held to.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::ids::{ItemId, SellerId, Sku};
use crate::domain::line::{LineProblem, LineProblemCode, OrderLine};
use crate::domain::money::Money;
use crate::domain::product::Product;
use crate::domain::request::PlaceOrder;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Totals {
    pub subtotal: Money,
    pub shipping_fee: Money,
    pub tax: Money,
    pub discount: Money,
    pub total: Money,
}

/// The shop's pricing rules, from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricingPolicy {
    pub currency: String,
    /// Tax as a fraction of the subtotal (0.08 for 8 %), rounded once on the total tax.
    pub tax_rate: Decimal,
    /// Shipping per seller part of an order, for sellers without a fee of their own.
    pub shipping_fee: Money,
}

/// An amount of the order would pass the bound every amount is held to (`Money::MAX`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the order's {what} would be more than {max}", max = Money::MAX)]
pub struct AmountTooLarge {
    /// Which amount: `line subtotal of <product>`, `subtotal` or `total`.
    pub what: String,
}

impl PricingPolicy {
    /// The totals of these lines, each seller's part adding its shipping fee (`fees`, or the
    /// configured one for a seller without its own).
    pub fn totals(&self, lines: &[OrderLine], fees: &BTreeMap<SellerId, Money>) -> Result<Totals, AmountTooLarge> {
        let subtotals: Vec<(&SellerId, Money)> = lines.iter().map(|line| (&line.seller_id, line.subtotal)).collect();
        self.checked_totals(&subtotals, fees)
    }

    /// The totals of lines with these sellers and subtotals (a cart's, before it is an order:
    /// the bound is checked when it becomes one, so here an amount past it shows as the bound).
    pub fn totals_of(&self, subtotals: &[(&SellerId, Money)], fees: &BTreeMap<SellerId, Money>) -> Totals {
        self.checked_totals(subtotals, fees).unwrap_or(Totals {
            subtotal: Money::MAX,
            shipping_fee: Money::ZERO,
            tax: Money::ZERO,
            discount: Money::ZERO,
            total: Money::MAX,
        })
    }

    /// What one seller's part adds to shipping.
    pub fn shipping_fee_of(&self, seller: &SellerId, fees: &BTreeMap<SellerId, Money>) -> Money {
        fees.get(seller).copied().unwrap_or(self.shipping_fee)
    }

    fn checked_totals(&self, subtotals: &[(&SellerId, Money)], fees: &BTreeMap<SellerId, Money>) -> Result<Totals, AmountTooLarge> {
        let too_large = |what: &str| AmountTooLarge { what: what.to_owned() };
        let subtotal = Money::checked_sum(subtotals.iter().map(|(_, amount)| *amount)).map_err(|_| too_large("subtotal"))?;
        let sellers: BTreeSet<&SellerId> = subtotals.iter().map(|(seller, _)| *seller).collect();
        let shipping_fee = Money::checked_sum(sellers.into_iter().map(|seller| self.shipping_fee_of(seller, fees)))
            .map_err(|_| too_large("shipping fee"))?;
        let tax = Money::round_from(subtotal.amount() * self.tax_rate);
        let discount = Money::ZERO;
        let total = Money::checked_sum([subtotal, shipping_fee, tax])
            .map_err(|_| too_large("total"))?
            .saturating_sub(discount);
        Ok(Totals {
            subtotal,
            shipping_fee,
            tax,
            discount,
            total,
        })
    }
}

/// Snapshots each line's price from the catalogue; lines whose product does not exist come
/// back as problems instead (the order is then INVALID).
pub fn price_lines(request: &PlaceOrder, catalogue: &HashMap<Sku, Product>) -> Result<(Vec<OrderLine>, Vec<LineProblem>), AmountTooLarge> {
    let mut lines = Vec::with_capacity(request.lines().len());
    let mut unknown = Vec::new();
    for (index, wanted) in request.lines().iter().enumerate() {
        match catalogue.get(&wanted.product_id) {
            Some(product) => lines.push(OrderLine {
                item_id: line_item_id(index),
                product_id: wanted.product_id.clone(),
                name: product.name.clone(),
                seller_id: product.seller_id.clone(),
                quantity: wanted.quantity,
                unit_price: product.price,
                subtotal: product.price.checked_mul(wanted.quantity.get()).map_err(|_| AmountTooLarge {
                    what: format!("line subtotal of {}", wanted.product_id),
                })?,
                price_version: product.price_version,
                stock_takes: Vec::new(),
            }),
            None => unknown.push(LineProblem {
                product_id: wanted.product_id.clone(),
                code: LineProblemCode::UnknownProduct,
                requested: wanted.quantity,
                available: None,
            }),
        }
    }
    Ok((lines, unknown))
}

fn line_item_id(index: usize) -> ItemId {
    // Only digits and a prefix: always a valid id.
    ItemId::parse(&format!("item-{}", index + 1)).unwrap_or_else(|_| unreachable!("item ids are well formed"))
}
