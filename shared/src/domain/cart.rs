//! A customer's cart: lines of products, each remembering the price it was added at, so that
//! checkout charges that price or says that it changed.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::catalogue::Availability;
use super::ids::{SellerId, Sku, UserId};
use super::money::Money;
use super::order::{PricingPolicy, Totals};
use super::product::Product;
use super::quantity::Quantity;
use super::request::{WantedLine, MAX_LINES};

/// A cart idle this long is forgotten (DynamoDB TTL).
pub const CART_IDLE_DAYS: i64 = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub product_id: Sku,
    pub quantity: Quantity,
    /// The price when the line was first added: checkout charges it, or says it changed.
    pub unit_price: Money,
    pub added_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    pub user_id: UserId,
    pub lines: Vec<CartLine>,
    pub updated_at: DateTime<Utc>,
    /// 0 for a cart not stored yet; bumped by every write, which is conditioned on it.
    #[serde(default)]
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CartRefusal {
    #[error("no product {0}")]
    UnknownProduct(Sku),
    #[error("only {available} of {product_id} are available")]
    NotEnoughStock { product_id: Sku, available: i64 },
    #[error("a cart holds at most {MAX_LINES} lines")]
    TooManyLines,
    #[error("a line holds at most {max} units", max = Quantity::MAX)]
    TooMuch,
}

/// A price that changed between adding a line and checking it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PriceChange {
    pub product_id: Sku,
    pub old_price: Money,
    pub new_price: Money,
}

impl Cart {
    pub fn empty(user_id: UserId, now: DateTime<Utc>) -> Self {
        Self {
            user_id,
            lines: Vec::new(),
            updated_at: now,
            version: 0,
        }
    }

    /// Adds units of a product (to its line, if it has one). Only what is available now may be
    /// asked for; nothing is held until checkout.
    pub fn add(&mut self, product: Option<&Product>, sku: &Sku, quantity: Quantity, now: DateTime<Utc>) -> Result<(), CartRefusal> {
        let product = product.ok_or_else(|| CartRefusal::UnknownProduct(sku.clone()))?;
        let existing = self
            .lines
            .iter()
            .find(|line| &line.product_id == sku)
            .map_or(0, |line| line.quantity.get());
        let wanted = Quantity::new(existing.saturating_add(quantity.get())).map_err(|_| CartRefusal::TooMuch)?;
        if existing == 0 && self.lines.len() >= MAX_LINES {
            return Err(CartRefusal::TooManyLines);
        }
        self.set(product, wanted, now)
    }

    /// Sets a line's quantity; `None` (zero) removes it.
    pub fn set_quantity(
        &mut self,
        product: Option<&Product>,
        sku: &Sku,
        quantity: Option<Quantity>,
        now: DateTime<Utc>,
    ) -> Result<(), CartRefusal> {
        let Some(quantity) = quantity else {
            self.remove(sku, now);
            return Ok(());
        };
        let product = product.ok_or_else(|| CartRefusal::UnknownProduct(sku.clone()))?;
        if !self.lines.iter().any(|line| &line.product_id == sku) && self.lines.len() >= MAX_LINES {
            return Err(CartRefusal::TooManyLines);
        }
        self.set(product, quantity, now)
    }

    fn set(&mut self, product: &Product, quantity: Quantity, now: DateTime<Utc>) -> Result<(), CartRefusal> {
        if i64::from(quantity.get()) > product.available {
            return Err(CartRefusal::NotEnoughStock {
                product_id: product.product_id.clone(),
                available: product.available.max(0),
            });
        }
        match self.lines.iter_mut().find(|line| line.product_id == product.product_id) {
            Some(line) => line.quantity = quantity,
            None => self.lines.push(CartLine {
                product_id: product.product_id.clone(),
                quantity,
                unit_price: product.price,
                added_at: now,
            }),
        }
        self.updated_at = now;
        Ok(())
    }

    /// Removes a product's line; removing one the cart does not hold changes nothing.
    pub fn remove(&mut self, sku: &Sku, now: DateTime<Utc>) {
        let before = self.lines.len();
        self.lines.retain(|line| &line.product_id != sku);
        if self.lines.len() != before {
            self.updated_at = now;
        }
    }

    /// What checkout asks for.
    pub fn wanted(&self) -> Vec<WantedLine> {
        self.lines
            .iter()
            .map(|line| WantedLine {
                product_id: line.product_id.clone(),
                quantity: line.quantity,
            })
            .collect()
    }

    /// The prices the lines were added at: what checkout charges.
    pub fn locked_prices(&self) -> BTreeMap<Sku, Money> {
        self.lines.iter().map(|line| (line.product_id.clone(), line.unit_price)).collect()
    }

    /// Takes out what an order bought: lines checked out as they were; a line changed since
    /// keeps what was added after.
    pub fn without(&mut self, bought: &[WantedLine], now: DateTime<Utc>) {
        self.lines.retain_mut(|line| {
            let Some(taken) = bought.iter().find(|wanted| wanted.product_id == line.product_id) else {
                return true;
            };
            match Quantity::new(line.quantity.get().saturating_sub(taken.quantity.get())) {
                Ok(left) => {
                    line.quantity = left;
                    true
                }
                Err(_) => false,
            }
        });
        self.updated_at = now;
    }
}

/// The cart as the customer sees it: today's prices and stock beside what they chose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CartView {
    pub items: Vec<CartItemView>,
    #[serde(flatten)]
    pub totals: Totals,
    /// What each seller's part adds to shipping.
    pub shipping_fees: BTreeMap<SellerId, Money>,
    pub currency: String,
    pub updated_at: Option<DateTime<Utc>>,
    pub version: u64,
    /// What checkout charges when the customer accepts today's prices: present only when a
    /// line's price changed since it was added.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totals_at_current_prices: Option<Totals>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CartItemView {
    pub product_id: Sku,
    pub name: Option<String>,
    pub seller_id: Option<SellerId>,
    pub quantity: Quantity,
    /// What checkout charges: the price when the line was added.
    pub unit_price: Money,
    /// Today's catalogue price, when the product still exists.
    pub current_price: Option<Money>,
    pub line_total: Money,
    pub available: i64,
    /// `PRICE_CHANGED`, `ONLY_<n>_LEFT`, `OUT_OF_STOCK` or `UNAVAILABLE` (no longer sold).
    pub warnings: Vec<String>,
}

impl CartView {
    /// `shipping_fees`: the sellers' own fees, where they have one.
    pub fn of(cart: &Cart, products: &HashMap<Sku, Product>, pricing: &PricingPolicy, shipping_fees: &BTreeMap<SellerId, Money>) -> Self {
        let mut items = Vec::with_capacity(cart.lines.len());
        for line in &cart.lines {
            let product = products.get(&line.product_id);
            let available = product.map_or(0, |product| product.available.max(0));
            let mut warnings = Vec::new();
            match product {
                None => warnings.push("UNAVAILABLE".to_owned()),
                Some(product) => {
                    if product.price != line.unit_price {
                        warnings.push("PRICE_CHANGED".to_owned());
                    }
                    if available == 0 {
                        warnings.push("OUT_OF_STOCK".to_owned());
                    } else if available < i64::from(line.quantity.get()) || available <= Availability::LOW_STOCK_AT {
                        warnings.push(format!("ONLY_{available}_LEFT"));
                    }
                }
            }
            items.push(CartItemView {
                product_id: line.product_id.clone(),
                name: product.map(|product| product.name.clone()),
                seller_id: product.map(|product| product.seller_id.clone()),
                quantity: line.quantity,
                unit_price: line.unit_price,
                current_price: product.map(|product| product.price),
                // Within the bound: a line of at most Quantity::MAX units of a bounded price.
                line_total: line.unit_price.checked_mul(line.quantity.get()).unwrap_or(Money::MAX),
                available,
                warnings,
            });
        }
        // A line of a product no longer sold ships with nobody: it is not priced.
        let subtotals: Vec<(&SellerId, Money)> = items
            .iter()
            .filter_map(|item| Some((item.seller_id.as_ref()?, item.line_total)))
            .collect();
        let repriced = items
            .iter()
            .any(|item| item.current_price.is_some_and(|price| price != item.unit_price));
        let subtotals_now: Vec<(&SellerId, Money)> = items
            .iter()
            .filter_map(|item| {
                let price = item.current_price.unwrap_or(item.unit_price);
                Some((
                    item.seller_id.as_ref()?,
                    price.checked_mul(item.quantity.get()).unwrap_or(Money::MAX),
                ))
            })
            .collect();
        Self {
            totals_at_current_prices: repriced.then(|| pricing.totals_of(&subtotals_now, shipping_fees)),
            totals: pricing.totals_of(&subtotals, shipping_fees),
            shipping_fees: subtotals
                .iter()
                .map(|(seller, _)| ((*seller).clone(), pricing.shipping_fee_of(seller, shipping_fees)))
                .collect(),
            items,
            currency: pricing.currency.clone(),
            updated_at: (cart.version > 0).then_some(cart.updated_at),
            version: cart.version,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(sku: &str, price: &str, available: i64) -> Product {
        Product {
            on_hand: available,
            available,
            ..Product::example(sku, price)
        }
    }

    fn qty(n: u32) -> Quantity {
        Quantity::new(n).unwrap()
    }

    #[test]
    fn adding_adds_up_and_only_what_is_available_now() {
        let mut cart = Cart::empty(UserId::parse("u").unwrap(), Utc::now());
        let mug = product("mug", "5.00", 3);
        let sku = mug.product_id.clone();
        cart.add(Some(&mug), &sku, qty(2), Utc::now()).unwrap();
        assert_eq!(
            cart.add(Some(&mug), &sku, qty(2), Utc::now()),
            Err(CartRefusal::NotEnoughStock {
                product_id: sku.clone(),
                available: 3
            })
        );
        cart.add(Some(&mug), &sku, qty(1), Utc::now()).unwrap();
        assert_eq!(cart.lines[0].quantity, qty(3));
        let ghost = Sku::parse("ghost").unwrap();
        assert_eq!(cart.add(None, &ghost, qty(1), Utc::now()), Err(CartRefusal::UnknownProduct(ghost)));
    }

    #[test]
    fn a_line_keeps_the_price_it_was_added_at_and_the_view_says_when_it_changed() {
        let mut cart = Cart::empty(UserId::parse("u").unwrap(), Utc::now());
        let mug = product("mug", "5.00", 10);
        cart.add(Some(&mug), &mug.product_id, qty(2), Utc::now()).unwrap();
        let dearer = product("mug", "6.00", 4);
        cart.add(Some(&dearer), &dearer.product_id, qty(1), Utc::now()).unwrap();
        assert_eq!(cart.lines[0].unit_price, Money::parse("5.00").unwrap());
        let pricing = PricingPolicy {
            currency: "USD".into(),
            tax_rate: Default::default(),
            shipping_fee: Money::ZERO,
        };
        let view = CartView::of(
            &cart,
            &HashMap::from([(dearer.product_id.clone(), dearer)]),
            &pricing,
            &BTreeMap::new(),
        );
        assert_eq!(view.items[0].warnings, ["PRICE_CHANGED", "ONLY_4_LEFT"]);
        assert_eq!(view.totals.total, Money::parse("15.00").unwrap());
        let accepted = view.totals_at_current_prices.expect("the total at today's price, since it changed");
        assert_eq!(accepted.total, Money::parse("18.00").unwrap());
    }

    #[test]
    fn checking_out_takes_out_what_was_bought_and_keeps_what_was_added_since() {
        let mut cart = Cart::empty(UserId::parse("u").unwrap(), Utc::now());
        let (mug, plate) = (product("mug", "5.00", 10), product("plate", "2.00", 10));
        cart.add(Some(&mug), &mug.product_id, qty(2), Utc::now()).unwrap();
        let bought = cart.wanted();
        cart.add(Some(&mug), &mug.product_id, qty(1), Utc::now()).unwrap();
        cart.add(Some(&plate), &plate.product_id, qty(1), Utc::now()).unwrap();
        cart.without(&bought, Utc::now());
        let left: Vec<(&str, u32)> = cart.lines.iter().map(|l| (l.product_id.as_str(), l.quantity.get())).collect();
        assert_eq!(left, [("mug", 1), ("plate", 1)]);
    }
}
