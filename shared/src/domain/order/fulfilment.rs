//! Fulfilment by sellers: a paid order is split into one part per seller, each shipped and
//! delivered on its own; the order's status is the aggregate of its parts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::Order;
use crate::domain::actor::Actor;
use crate::domain::ids::{ItemId, SellerId};
use crate::domain::line::OrderLine;
use crate::domain::money::Money;
use crate::domain::quantity::Quantity;
use crate::domain::status::OrderStatus;
use crate::domain::transition::IllegalTransition;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PartStatus {
    Pending,
    Shipped,
    Delivered,
    /// The carrier could not deliver it: its units are back in stock and refunded.
    DeliveryFailed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartItem {
    pub item_id: ItemId,
    pub quantity: Quantity,
}

/// What one seller ships of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerPart {
    pub seller_id: SellerId,
    pub items: Vec<PartItem>,
    pub subtotal: Money,
    pub status: PartStatus,
    #[serde(default)]
    pub carrier: Option<String>,
    #[serde(default)]
    pub tracking_number: Option<String>,
    #[serde(default)]
    pub estimated_delivery: Option<DateTime<Utc>>,
    #[serde(default)]
    pub shipped_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// The marketplace's share of `subtotal` (the seller's own rate, or the configured one,
    /// when the part was made) and what the seller is paid out; absent on parts made before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commission_rate: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commission: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payout: Option<Money>,
}

impl SellerPart {
    /// The commission on `subtotal` at `rate`, rounded once, and the payout that leaves.
    pub fn settlement(subtotal: Money, rate: Decimal) -> (Money, Money) {
        let commission = Money::round_from(subtotal.amount() * rate);
        (commission, subtotal.saturating_sub(commission))
    }
}

/// A seller's report about their part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartUpdate {
    Shipped {
        carrier: String,
        tracking_number: String,
        estimated_delivery: Option<DateTime<Utc>>,
    },
    Delivered,
    DeliveryFailed {
        reason: String,
    },
}

/// What a seller's report did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartOutcome {
    /// A repeat of what is recorded.
    Unchanged,
    /// Recorded; these units go back to stock (a failed delivery's).
    Changed { restock: Vec<PartItem> },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShippingRefusal {
    #[error("the order has no part for seller {0}")]
    NoSuchPart(SellerId),
    #[error("an order in {0} is not being fulfilled")]
    NotFulfilling(OrderStatus),
    #[error("seller {0}'s part cannot be delivered before it is shipped")]
    NotShippedYet(SellerId),
    #[error("seller {0}'s part is already delivered")]
    AlreadyDelivered(SellerId),
    #[error("seller {0}'s part already failed delivery")]
    DeliveryFailed(SellerId),
}

impl Order {
    /// A paid order goes to its sellers: PROCESSING, with one part per seller, each charged the
    /// commission rate `rate_of` gives for its seller.
    pub fn start_fulfilment(
        &mut self,
        actor: &Actor,
        note: Option<&str>,
        rate_of: impl Fn(&SellerId) -> Decimal,
        now: DateTime<Utc>,
    ) -> Result<(), IllegalTransition> {
        let mut parts: BTreeMap<SellerId, SellerPart> = BTreeMap::new();
        for line in &self.items {
            // Units restocked before fulfilment do not ship.
            let Ok(to_ship) = Quantity::new(line.quantity.get().saturating_sub(self.units_unshipped(&line.item_id))) else {
                continue;
            };
            let part = parts.entry(line.seller_id.clone()).or_insert_with(|| SellerPart {
                seller_id: line.seller_id.clone(),
                items: Vec::new(),
                subtotal: Money::ZERO,
                status: PartStatus::Pending,
                carrier: None,
                tracking_number: None,
                estimated_delivery: None,
                shipped_at: None,
                delivered_at: None,
                failure_reason: None,
                commission_rate: None,
                commission: None,
                payout: None,
            });
            part.items.push(PartItem {
                item_id: line.item_id.clone(),
                quantity: to_ship,
            });
            // Part of an order whose total was held to the bound: cannot pass it.
            let value = line.unit_price.checked_mul(to_ship.get()).unwrap_or(line.subtotal);
            part.subtotal = part.subtotal.checked_add(value).unwrap_or(part.subtotal);
        }
        let sellers = parts.len();
        let mut text = format!("{sellers} seller part{}", if sellers == 1 { "" } else { "s" });
        if let Some(note) = note {
            text = format!("{text}: {note}");
        }
        self.transition(OrderStatus::Processing, actor, Some(text), now)?;
        for part in parts.values_mut() {
            let rate = rate_of(&part.seller_id);
            let (commission, payout) = SellerPart::settlement(part.subtotal, rate);
            part.commission_rate = Some(rate);
            part.commission = Some(commission);
            part.payout = Some(payout);
        }
        self.seller_parts = parts.into_values().collect();
        Ok(())
    }

    /// Applies a seller's report to their part and moves the order to the aggregate status.
    pub fn update_part(
        &mut self,
        seller: &SellerId,
        update: PartUpdate,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<PartOutcome, ShippingRefusal> {
        if !matches!(
            self.status,
            OrderStatus::Processing | OrderStatus::PartiallyShipped | OrderStatus::Shipped | OrderStatus::Delivered | OrderStatus::Returned
        ) {
            return Err(ShippingRefusal::NotFulfilling(self.status));
        }
        let part = self
            .seller_parts
            .iter_mut()
            .find(|part| &part.seller_id == seller)
            .ok_or_else(|| ShippingRefusal::NoSuchPart(seller.clone()))?;
        let mut failed = None;
        let note = match update {
            PartUpdate::Shipped {
                carrier,
                tracking_number,
                estimated_delivery,
            } => {
                match part.status {
                    PartStatus::Delivered => return Err(ShippingRefusal::AlreadyDelivered(seller.clone())),
                    PartStatus::DeliveryFailed => return Err(ShippingRefusal::DeliveryFailed(seller.clone())),
                    PartStatus::Pending | PartStatus::Shipped => {}
                }
                let unchanged = part.status == PartStatus::Shipped
                    && part.carrier.as_deref() == Some(carrier.as_str())
                    && part.tracking_number.as_deref() == Some(tracking_number.as_str())
                    && part.estimated_delivery == estimated_delivery;
                if unchanged {
                    return Ok(PartOutcome::Unchanged);
                }
                let note = format!("{seller} shipped with {carrier} {tracking_number}");
                part.status = PartStatus::Shipped;
                part.carrier = Some(carrier);
                part.tracking_number = Some(tracking_number);
                part.estimated_delivery = estimated_delivery;
                part.shipped_at.get_or_insert(now);
                note
            }
            PartUpdate::Delivered => match part.status {
                PartStatus::Pending => return Err(ShippingRefusal::NotShippedYet(seller.clone())),
                PartStatus::Delivered => return Ok(PartOutcome::Unchanged),
                PartStatus::DeliveryFailed => return Err(ShippingRefusal::DeliveryFailed(seller.clone())),
                PartStatus::Shipped => {
                    part.status = PartStatus::Delivered;
                    part.delivered_at = Some(now);
                    format!("{seller} delivered")
                }
            },
            PartUpdate::DeliveryFailed { reason } => match part.status {
                PartStatus::Pending => return Err(ShippingRefusal::NotShippedYet(seller.clone())),
                PartStatus::Delivered => return Err(ShippingRefusal::AlreadyDelivered(seller.clone())),
                PartStatus::DeliveryFailed => return Ok(PartOutcome::Unchanged),
                PartStatus::Shipped => {
                    part.status = PartStatus::DeliveryFailed;
                    part.failure_reason = Some(reason.clone());
                    let note = format!("DELIVERY_FAILED {seller}: {reason}");
                    failed = Some(reason);
                    note
                }
            },
        };
        let aggregate = self.aggregate_status();
        if aggregate != self.status {
            self.transition(aggregate, actor, Some(note), now)
                .map_err(|_| ShippingRefusal::NotFulfilling(self.status))?;
        } else if failed.is_some() {
            // The timeline says so even when the order's status stays.
            self.note(actor, note, now);
        } else {
            self.updated_at = now;
        }
        let restock = match failed {
            Some(reason) => self.refund_failed_part(seller, &reason, actor, now),
            None => Vec::new(),
        };
        self.collect_cash_on_delivery(actor, now);
        Ok(PartOutcome::Changed { restock })
    }

    /// An admin records every shipped part as delivered: SHIPPED -> DELIVERED in one change.
    pub fn deliver_all_parts(&mut self, actor: &Actor, note: Option<String>, now: DateTime<Utc>) -> Result<(), IllegalTransition> {
        if self.status != OrderStatus::Shipped {
            return Err(IllegalTransition {
                from: self.status,
                to: OrderStatus::Delivered,
            });
        }
        for part in &mut self.seller_parts {
            if part.status == PartStatus::Shipped {
                part.status = PartStatus::Delivered;
                part.delivered_at.get_or_insert(now);
            }
        }
        self.transition(OrderStatus::Delivered, actor, note, now)?;
        self.collect_cash_on_delivery(actor, now);
        Ok(())
    }

    /// The order's status from its parts: PROCESSING while none has left, PARTIALLY_SHIPPED
    /// while some wait, SHIPPED once none waits, and once every part has arrived or failed,
    /// DELIVERED (some arrived) or RETURNED (all failed, back with the sellers and refunded).
    /// A status an order has moved past by returns stays.
    pub(super) fn aggregate_status(&self) -> OrderStatus {
        if matches!(self.status, OrderStatus::Returned | OrderStatus::ReturnRequested) {
            return self.status;
        }
        let parts = &self.seller_parts;
        let all = |wanted: &[PartStatus]| parts.iter().all(|part| wanted.contains(&part.status));
        if all(&[PartStatus::Delivered, PartStatus::DeliveryFailed]) {
            if parts.iter().any(|part| part.status == PartStatus::Delivered) {
                OrderStatus::Delivered
            } else {
                OrderStatus::Returned
            }
        } else if parts.iter().all(|part| part.status != PartStatus::Pending) {
            OrderStatus::Shipped
        } else if parts.iter().any(|part| part.status != PartStatus::Pending) {
            OrderStatus::PartiallyShipped
        } else {
            OrderStatus::Processing
        }
    }
}

/// How an admin's request to move an order to a status is carried out: transitions that move
/// stock or money keep to their own paths, so their compensation always runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChangePlan {
    /// Already there: nothing to do.
    Unchanged,
    /// Cancel, releasing held stock.
    Cancel,
    /// Split into seller parts: PAID -> PROCESSING.
    StartFulfilment,
    /// Every shipped part delivered: SHIPPED -> DELIVERED.
    DeliverAll,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusChangeRefusal {
    #[error("an order in {from} cannot become {to}")]
    Illegal { from: OrderStatus, to: OrderStatus },
    /// Legal, but it moves money or stock, or follows the sellers' parts: `path` does it.
    #[error("{to} is reached through {path}, not a status change")]
    OwnPath { to: OrderStatus, path: &'static str },
}

impl Order {
    /// What moving this order to `target` takes.
    pub fn status_change(&self, target: OrderStatus) -> Result<StatusChangePlan, StatusChangeRefusal> {
        if target == self.status {
            return Ok(StatusChangePlan::Unchanged);
        }
        // Only cash on delivery takes an unpaid order to fulfilment, through its own endpoint.
        let unpaid_to_fulfilment = self.status == OrderStatus::PendingPayment && target == OrderStatus::Processing;
        if !self.status.can_become(target) || unpaid_to_fulfilment {
            return Err(StatusChangeRefusal::Illegal {
                from: self.status,
                to: target,
            });
        }
        let own_path = |path| Err(StatusChangeRefusal::OwnPath { to: target, path });
        match target {
            OrderStatus::Cancelled => Ok(StatusChangePlan::Cancel),
            OrderStatus::Processing => Ok(StatusChangePlan::StartFulfilment),
            OrderStatus::Delivered => Ok(StatusChangePlan::DeliverAll),
            OrderStatus::Paid => own_path("POST /orders/{orderId}/confirm or the payment webhook"),
            OrderStatus::PartiallyShipped | OrderStatus::Shipped => own_path("PATCH /orders/{orderId}/shipping, per seller"),
            OrderStatus::PendingPayment | OrderStatus::Invalid | OrderStatus::PendingReservingStock | OrderStatus::Created => {
                own_path("placement and the reserve-stock step")
            }
            OrderStatus::ReturnRequested | OrderStatus::Returned => own_path("the returns endpoints"),
        }
    }
}

/// What a seller sees of an order that holds their part: their part and their lines, and where
/// to ship; not the other sellers' lines, nor the customer's payment.
#[derive(Debug, Serialize)]
pub struct SellerOrder<'a> {
    pub order_id: crate::domain::ids::OrderId,
    pub order_number: Option<&'a crate::domain::numbering::OrderNumber>,
    pub status: OrderStatus,
    pub created_at: DateTime<Utc>,
    pub customer_name: Option<&'a str>,
    pub shipping_address: Option<&'a crate::domain::delivery::Address>,
    pub currency: &'a str,
    pub part: &'a SellerPart,
    pub items: Vec<&'a OrderLine>,
    /// What the seller may report about their part now.
    pub allowed_actions: Vec<super::AllowedAction>,
}

impl Order {
    /// The order as `seller` sees it, if it holds a part of theirs.
    pub fn seller_view(&self, seller: &SellerId) -> Option<SellerOrder<'_>> {
        let part = self.seller_parts.iter().find(|part| &part.seller_id == seller)?;
        Some(SellerOrder {
            order_id: self.id,
            order_number: self.order_number.as_ref(),
            status: self.status,
            created_at: self.created_at,
            customer_name: self.customer_name.as_deref(),
            shipping_address: self.shipping_address.as_ref(),
            currency: &self.currency,
            part,
            items: self.items.iter().filter(|line| &line.seller_id == seller).collect(),
            allowed_actions: self.part_actions(super::Viewer::Seller(seller)),
        })
    }
}
