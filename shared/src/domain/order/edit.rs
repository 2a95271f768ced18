//! Editing an order that awaits payment: lines added, changed or removed, the totals priced
//! again, and the stock it holds moved by the difference, in the same write.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::pricing::{AmountTooLarge, PricingPolicy};
use super::Order;
use crate::domain::actor::Actor;
use crate::domain::ids::{ItemId, Sku};
use crate::domain::line::OrderLine;
use crate::domain::money::Money;
use crate::domain::product::Product;
use crate::domain::quantity::Quantity;
use crate::domain::request::MAX_LINES;
use crate::domain::status::OrderStatus;
use crate::domain::stock::{self, ShardTake};

/// One edit of an unpaid order's lines.
#[derive(Debug, Clone)]
pub enum LineEdit {
    /// Units of a product: added to its line, or a new line at today's price; `shipping_fee`
    /// is what the product's seller's part adds to shipping if the order has no part of theirs.
    Add {
        product: Box<Product>,
        quantity: Quantity,
        shipping_fee: Money,
    },
    SetQuantity {
        item_id: ItemId,
        quantity: Quantity,
    },
    Remove {
        item_id: ItemId,
    },
}

/// Most edits one order takes: each is a timeline entry of the order's own item, which must
/// stay far below DynamoDB's 400 KB whatever a client sends.
pub const MAX_EDITS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditRefusal {
    #[error("an order takes at most {MAX_EDITS} edits; cancel it and place a new one")]
    LimitReached,
    #[error("an order in {0} cannot be edited; only one awaiting payment can")]
    NotEditable(OrderStatus),
    /// The provider was asked for this order's total; it stays as asked.
    #[error("payment {0} was started for this order's total; it can no longer be edited")]
    PaymentStarted(crate::domain::ids::PaymentReference),
    #[error("the order has no line {0}")]
    NoSuchLine(ItemId),
    #[error("the order's last line cannot be removed; cancel the order instead")]
    LastLine,
    #[error("an order holds at most {MAX_LINES} lines")]
    TooManyLines,
    #[error("a line holds at most {max} units", max = Quantity::MAX)]
    TooMuch,
    /// More units of a line whose product's price moved since it was priced.
    #[error("the price of {product_id} changed from {old_price} to {new_price}")]
    PriceChanged {
        product_id: Sku,
        old_price: Money,
        new_price: Money,
    },
    #[error(transparent)]
    TooLarge(#[from] AmountTooLarge),
}

/// How one product's held units move with an edit: more held (checked against what is
/// available, at the price version charged), or some given back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockDelta {
    pub product_id: Sku,
    /// Positive: hold more; negative: give back.
    pub delta: i64,
    /// The price version the line is charged at (conditions a hold).
    pub price_version: u64,
    /// The shards the units move in (empty: the product's own item).
    pub takes: Vec<ShardTake>,
}

impl Order {
    /// Applies an edit while the order awaits payment: the totals are priced again and the
    /// timeline says what changed. Answers how the held stock moves.
    pub fn edit_lines(
        &mut self,
        edit: LineEdit,
        pricing: &PricingPolicy,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Vec<StockDelta>, EditRefusal> {
        if self.status != OrderStatus::PendingPayment {
            return Err(EditRefusal::NotEditable(self.status));
        }
        if let Some(intent) = &self.payment_intent {
            return Err(EditRefusal::PaymentStarted(intent.payment_id.clone()));
        }
        if self.edits_made() >= MAX_EDITS {
            return Err(EditRefusal::LimitReached);
        }
        let before: BTreeMap<Sku, u32> = held(&self.items);
        let taken_before: BTreeMap<Sku, Vec<ShardTake>> = self.items.iter().map(|line| (line.product_id.clone(), line.takes())).collect();
        let note = match edit {
            LineEdit::Add {
                product,
                quantity,
                shipping_fee,
            } => {
                self.shipping_fees.entry(product.seller_id.clone()).or_insert(shipping_fee);
                let lines = self.items.len();
                match self.items.iter_mut().find(|line| line.product_id == product.product_id) {
                    Some(line) => {
                        if line.unit_price != product.price {
                            return Err(EditRefusal::PriceChanged {
                                product_id: product.product_id.clone(),
                                old_price: line.unit_price,
                                new_price: product.price,
                            });
                        }
                        // The same price under a newer version: hold at the version read now.
                        line.price_version = product.price_version;
                        let more = Quantity::new(line.quantity.get().saturating_add(quantity.get())).map_err(|_| EditRefusal::TooMuch)?;
                        set_quantity(line, more)?;
                        format!("EDITED: {} +{quantity}", line.item_id)
                    }
                    None if lines >= MAX_LINES => return Err(EditRefusal::TooManyLines),
                    None => {
                        let item_id = self.next_item_id();
                        let subtotal = product.price.checked_mul(quantity.get()).map_err(|_| AmountTooLarge {
                            what: format!("line subtotal of {}", product.product_id),
                        })?;
                        self.items.push(OrderLine {
                            item_id: item_id.clone(),
                            product_id: product.product_id.clone(),
                            name: product.name.clone(),
                            seller_id: product.seller_id.clone(),
                            quantity,
                            unit_price: product.price,
                            subtotal,
                            price_version: product.price_version,
                            stock_takes: Vec::new(),
                        });
                        format!("EDITED: {item_id} added, {quantity} x {}", product.product_id)
                    }
                }
            }
            LineEdit::SetQuantity { item_id, quantity } => {
                let line = self
                    .items
                    .iter_mut()
                    .find(|line| line.item_id == item_id)
                    .ok_or_else(|| EditRefusal::NoSuchLine(item_id.clone()))?;
                let from = line.quantity;
                set_quantity(line, quantity)?;
                format!("EDITED: {item_id} {from} -> {quantity}")
            }
            LineEdit::Remove { item_id } => {
                if !self.items.iter().any(|line| line.item_id == item_id) {
                    return Err(EditRefusal::NoSuchLine(item_id));
                }
                if self.items.len() == 1 {
                    return Err(EditRefusal::LastLine);
                }
                self.items.retain(|line| line.item_id != item_id);
                format!("EDITED: {item_id} removed")
            }
        };
        // A seller with no line left has no part to ship.
        let sellers: std::collections::BTreeSet<_> = self.items.iter().map(|line| line.seller_id.clone()).collect();
        self.shipping_fees.retain(|seller, _| sellers.contains(seller));
        self.totals = pricing.totals(&self.items, &self.shipping_fees)?;
        self.note(actor, note, now);
        let after = held(&self.items);
        let deltas: Vec<StockDelta> = before
            .keys()
            .chain(after.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter_map(|sku| {
                let delta = i64::from(after.get(sku).copied().unwrap_or(0)) - i64::from(before.get(sku).copied().unwrap_or(0));
                let price_version = self
                    .items
                    .iter()
                    .find(|line| &line.product_id == sku)
                    .map_or(0, |line| line.price_version);
                let taken = taken_before.get(sku).map(Vec::as_slice).unwrap_or_default();
                let units = u32::try_from(delta.unsigned_abs()).ok()?;
                // More is held from the product's own item (always an active shard); less is
                // given back to the shards it came from, the last taken first.
                let (kept, takes) = if delta > 0 {
                    let more = ShardTake {
                        shard: 0,
                        quantity: Quantity::new(units).ok()?,
                    };
                    (stock::merge_takes(taken.iter().copied().chain([more])), vec![more])
                } else {
                    stock::give_back(taken, units)
                };
                if let Some(line) = self.items.iter_mut().find(|line| &line.product_id == sku) {
                    line.stock_takes = stock::recorded_takes(kept);
                }
                (delta != 0).then(|| StockDelta {
                    product_id: sku.clone(),
                    delta,
                    price_version,
                    takes: stock::recorded_takes(takes),
                })
            })
            .collect();
        Ok(deltas)
    }

    /// Whether `edit` would leave the order as it is (a quantity set to what it already is):
    /// such an edit writes nothing and adds nothing to the timeline.
    pub fn changes_nothing(&self, edit: &LineEdit) -> bool {
        match edit {
            LineEdit::SetQuantity { item_id, quantity } => {
                self.items.iter().any(|line| &line.item_id == item_id && line.quantity == *quantity)
            }
            LineEdit::Add { .. } | LineEdit::Remove { .. } => false,
        }
    }

    /// The edits made to the order so far, as its timeline records them.
    pub fn edits_made(&self) -> usize {
        self.status_history
            .iter()
            .filter(|change| change.note.as_deref().is_some_and(|note| note.starts_with("EDITED: ")))
            .count()
    }

    /// A line id no line of the order has had: ids stay stable across edits, and a removed
    /// line's id (its removal is in the timeline) is not given to another.
    fn next_item_id(&self) -> ItemId {
        let number = |text: &str| -> Option<usize> {
            let digits: String = text.strip_prefix("item-")?.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        };
        let in_lines = self.items.iter().filter_map(|line| number(line.item_id.as_str()));
        let in_timeline = self
            .status_history
            .iter()
            .filter_map(|change| change.note.as_deref()?.strip_prefix("EDITED: "))
            .filter_map(number);
        let highest = in_lines.chain(in_timeline).max().unwrap_or(0);
        ItemId::parse(&format!("item-{}", highest + 1)).unwrap_or_else(|_| unreachable!("item ids are well formed"))
    }
}

fn set_quantity(line: &mut OrderLine, quantity: Quantity) -> Result<(), EditRefusal> {
    line.subtotal = line.unit_price.checked_mul(quantity.get()).map_err(|_| AmountTooLarge {
        what: format!("line subtotal of {}", line.product_id),
    })?;
    line.quantity = quantity;
    Ok(())
}

fn held(lines: &[OrderLine]) -> BTreeMap<Sku, u32> {
    let mut units = BTreeMap::new();
    for line in lines {
        *units.entry(line.product_id.clone()).or_default() += line.quantity.get();
    }
    units
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::domain::order::price_lines;
    use crate::domain::{OrderId, PlaceOrder, UserId};

    fn product(sku: &str, price: &str, price_version: u64) -> Product {
        Product {
            price_version,
            ..Product::example(sku, price)
        }
    }

    fn pricing() -> PricingPolicy {
        PricingPolicy {
            currency: "USD".into(),
            tax_rate: Default::default(),
            shipping_fee: Money::ZERO,
        }
    }

    fn awaiting_payment() -> Order {
        let request = PlaceOrder::from_json(&serde_json::json!({"items": [{"product_id": "mug", "quantity": 2}]})).unwrap();
        let catalogue: HashMap<Sku, Product> = [product("mug", "5.00", 1)].into_iter().map(|p| (p.product_id.clone(), p)).collect();
        let (lines, _) = price_lines(&request, &catalogue).unwrap();
        let user = UserId::parse("u").unwrap();
        let mut order = Order::new(OrderId::new(), user.clone(), lines, &pricing(), &Actor::customer(&user), Utc::now()).unwrap();
        order.reserve(&Actor::system("t"), Utc::now(), Utc::now(), None).unwrap();
        order
    }

    fn qty(n: u32) -> Quantity {
        Quantity::new(n).unwrap()
    }

    #[test]
    fn edits_move_the_held_stock_by_the_difference_and_price_the_order_again() {
        let mut order = awaiting_payment();
        let actor = Actor::system("t");
        let add = LineEdit::Add {
            product: Box::new(product("plate", "2.00", 3)),
            quantity: qty(3),
            shipping_fee: Money::ZERO,
        };
        let deltas = order.edit_lines(add, &pricing(), &actor, Utc::now()).unwrap();
        assert_eq!(
            deltas,
            [StockDelta {
                product_id: Sku::parse("plate").unwrap(),
                delta: 3,
                price_version: 3,
                takes: Vec::new()
            }]
        );
        assert_eq!(order.totals.total, Money::parse("16.00").unwrap());
        let fewer = LineEdit::SetQuantity {
            item_id: ItemId::parse("item-1").unwrap(),
            quantity: qty(1),
        };
        let deltas = order.edit_lines(fewer, &pricing(), &actor, Utc::now()).unwrap();
        assert_eq!(deltas[0].delta, -1);
        assert_eq!(order.totals.total, Money::parse("11.00").unwrap());
        order
            .edit_lines(
                LineEdit::Remove {
                    item_id: ItemId::parse("item-2").unwrap(),
                },
                &pricing(),
                &actor,
                Utc::now(),
            )
            .unwrap();
        let last = order.edit_lines(
            LineEdit::Remove {
                item_id: ItemId::parse("item-1").unwrap(),
            },
            &pricing(),
            &actor,
            Utc::now(),
        );
        assert_eq!(last, Err(EditRefusal::LastLine));
        let again = LineEdit::Add {
            product: Box::new(product("bowl", "1.00", 1)),
            quantity: qty(1),
            shipping_fee: Money::ZERO,
        };
        order.edit_lines(again, &pricing(), &actor, Utc::now()).unwrap();
        assert_ne!(order.items[1].item_id.as_str(), "item-2", "a removed line's id is not used again");
        assert_eq!(order.status, OrderStatus::PendingPayment);
    }

    #[test]
    fn setting_a_quantity_to_what_it_is_changes_nothing_and_an_order_takes_a_bounded_number_of_edits() {
        let mut order = awaiting_payment();
        let actor = Actor::system("t");
        let set = |quantity| LineEdit::SetQuantity {
            item_id: ItemId::parse("item-1").unwrap(),
            quantity: qty(quantity),
        };
        let current = order.items[0].quantity.get();
        assert!(order.changes_nothing(&set(current)));
        assert!(!order.changes_nothing(&set(current + 1)));
        for n in 0..MAX_EDITS {
            let quantity = current + 1 + u32::try_from(n % 2).unwrap();
            order.edit_lines(set(quantity), &pricing(), &actor, Utc::now()).unwrap();
        }
        assert_eq!(order.edits_made(), MAX_EDITS);
        let entries = order.status_history.len();
        assert_eq!(
            order.edit_lines(set(current), &pricing(), &actor, Utc::now()),
            Err(EditRefusal::LimitReached)
        );
        assert_eq!(order.status_history.len(), entries, "a refused edit adds nothing");
    }

    #[test]
    fn a_sharded_line_holds_more_from_shard_zero_and_gives_back_to_the_shards_it_took_from_last_first() {
        let mut order = awaiting_payment();
        let actor = Actor::system("t");
        order.items[0].stock_takes = vec![ShardTake {
            shard: 3,
            quantity: qty(2),
        }];
        let set = |quantity| LineEdit::SetQuantity {
            item_id: ItemId::parse("item-1").unwrap(),
            quantity: qty(quantity),
        };
        let more = order.edit_lines(set(3), &pricing(), &actor, Utc::now()).unwrap();
        assert_eq!((more[0].delta, more[0].takes.as_slice()), (1, &[][..]), "one more from shard 0");
        assert_eq!(
            order.items[0].stock_takes,
            [
                ShardTake {
                    shard: 3,
                    quantity: qty(2)
                },
                ShardTake {
                    shard: 0,
                    quantity: qty(1)
                }
            ]
        );
        let fewer = order.edit_lines(set(1), &pricing(), &actor, Utc::now()).unwrap();
        assert_eq!(fewer[0].delta, -2);
        assert_eq!(
            fewer[0].takes,
            [
                ShardTake {
                    shard: 0,
                    quantity: qty(1)
                },
                ShardTake {
                    shard: 3,
                    quantity: qty(1)
                }
            ]
        );
        assert_eq!(
            order.items[0].stock_takes,
            [ShardTake {
                shard: 3,
                quantity: qty(1)
            }]
        );
    }

    #[test]
    fn more_units_of_a_line_whose_price_moved_are_refused_and_paid_orders_are_not_edited() {
        let mut order = awaiting_payment();
        let actor = Actor::system("t");
        let dearer = LineEdit::Add {
            product: Box::new(product("mug", "6.00", 2)),
            quantity: qty(1),
            shipping_fee: Money::ZERO,
        };
        assert!(matches!(
            order.edit_lines(dearer, &pricing(), &actor, Utc::now()),
            Err(EditRefusal::PriceChanged { .. })
        ));
        order.status = OrderStatus::Paid;
        let more = LineEdit::SetQuantity {
            item_id: ItemId::parse("item-1").unwrap(),
            quantity: qty(3),
        };
        assert_eq!(
            order.edit_lines(more, &pricing(), &actor, Utc::now()),
            Err(EditRefusal::NotEditable(OrderStatus::Paid))
        );
    }
}
