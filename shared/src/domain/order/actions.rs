//! What a caller may do to an order now: the actions the lifecycle allows, as the pages offer
//! them. Each endpoint still decides for itself; this only says which are worth offering.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::fulfilment::PartStatus;
use super::returns::{ReturnStatus, MAX_RETURNS};
use super::{CancelDecision, Order, MAX_EDITS};
use crate::domain::ids::{ReturnId, SellerId};
use crate::domain::money::Money;
use crate::domain::status::OrderStatus;

/// Who is looking at the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer<'a> {
    /// The customer who placed it.
    Owner,
    Admin,
    /// A seller with a part of it.
    Seller(&'a SellerId),
}

/// One action the order allows its viewer now, named as the pages name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum AllowedAction {
    /// Start paying (or pay again after a declined card).
    Pay,
    /// Add, change or remove lines before the payment starts.
    EditItems,
    /// Cancel; `refund` is what goes back to the customer (zero when nothing was paid).
    Cancel {
        refund: Money,
    },
    /// PAID to PROCESSING: split into the sellers' parts.
    StartFulfilment,
    /// Record every shipped part delivered at once.
    DeliverAll,
    Ship {
        seller_id: SellerId,
    },
    Deliver {
        seller_id: SellerId,
    },
    ReportDeliveryFailed {
        seller_id: SellerId,
    },
    /// Pay back an amount or lines, up to `refundable`.
    Refund {
        refundable: Money,
    },
    RequestReturn,
    ApproveReturn {
        return_id: ReturnId,
    },
    RejectReturn {
        return_id: ReturnId,
    },
}

impl Order {
    /// The actions `viewer` may take on this order at `now`, in the order a page shows them.
    pub fn allowed_actions(&self, viewer: Viewer<'_>, return_window: Duration, now: DateTime<Utc>) -> Vec<AllowedAction> {
        let mut actions = Vec::new();
        let customer_or_admin = matches!(viewer, Viewer::Owner | Viewer::Admin);
        let admin = viewer == Viewer::Admin;
        if customer_or_admin && self.status == OrderStatus::PendingPayment {
            let intent = self.payment_intent.as_ref();
            if self.payment_method.is_none() || intent.is_some_and(|intent| intent.closed_at.is_some()) {
                actions.push(AllowedAction::Pay);
            }
            if intent.is_none() && self.edits_made() < MAX_EDITS {
                actions.push(AllowedAction::EditItems);
            }
        }
        if admin && self.status == OrderStatus::Paid {
            actions.push(AllowedAction::StartFulfilment);
        }
        actions.extend(self.part_actions(viewer));
        if admin && self.status == OrderStatus::Shipped {
            actions.push(AllowedAction::DeliverAll);
        }
        if customer_or_admin && self.may_request_return(return_window, now) {
            actions.push(AllowedAction::RequestReturn);
        }
        if admin {
            for open in self.returns.iter().filter(|ret| ret.status == ReturnStatus::Requested) {
                actions.push(AllowedAction::ApproveReturn {
                    return_id: open.return_id.clone(),
                });
                actions.push(AllowedAction::RejectReturn {
                    return_id: open.return_id.clone(),
                });
            }
            if self.payment.is_some() && self.refundable() > Money::ZERO {
                actions.push(AllowedAction::Refund {
                    refundable: self.refundable(),
                });
            }
        }
        if customer_or_admin {
            match self.judge_cancel() {
                Ok(CancelDecision::RestockAndRefund) => actions.push(AllowedAction::Cancel { refund: self.refundable() }),
                Ok(CancelDecision::ReleaseStock | CancelDecision::NothingHeld) => {
                    actions.push(AllowedAction::Cancel { refund: Money::ZERO })
                }
                Ok(CancelDecision::AlreadyCancelled) | Err(_) => {}
            }
        }
        actions
    }

    /// What `viewer` may report about the sellers' parts: an admin about any, a seller about
    /// their own.
    pub fn part_actions(&self, viewer: Viewer<'_>) -> Vec<AllowedAction> {
        let mut actions = Vec::new();
        if !matches!(
            self.status,
            OrderStatus::Processing | OrderStatus::PartiallyShipped | OrderStatus::Shipped
        ) {
            return actions;
        }
        for part in &self.seller_parts {
            if !(viewer == Viewer::Admin || viewer == Viewer::Seller(&part.seller_id)) {
                continue;
            }
            let seller_id = part.seller_id.clone();
            match part.status {
                PartStatus::Pending => actions.push(AllowedAction::Ship { seller_id }),
                PartStatus::Shipped => {
                    actions.push(AllowedAction::Deliver {
                        seller_id: seller_id.clone(),
                    });
                    actions.push(AllowedAction::ReportDeliveryFailed { seller_id });
                }
                PartStatus::Delivered | PartStatus::DeliveryFailed => {}
            }
        }
        actions
    }

    /// Delivered, within the window, no return open, and some unit left to send back.
    fn may_request_return(&self, window: Duration, now: DateTime<Utc>) -> bool {
        let open = self.returns.iter().any(|ret| ret.status == ReturnStatus::Requested);
        let in_window = self.delivered_at().is_some_and(|delivered| now <= delivered + window);
        let units_left = self
            .items
            .iter()
            .any(|line| self.returnable(&line.item_id).is_some_and(|units| units > 0));
        let room = self.returns.len() < MAX_RETURNS;
        matches!(self.status, OrderStatus::Delivered | OrderStatus::Returned) && !open && in_window && units_left && room
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::domain::actor::Actor;
    use crate::domain::ids::PaymentReference;
    use crate::domain::order::tests::awaiting_payment;
    use crate::domain::order::{PartUpdate, Payment};

    const WINDOW: fn() -> Duration = || Duration::days(30);

    fn names(actions: &[AllowedAction]) -> Vec<String> {
        actions
            .iter()
            .map(|action| serde_json::to_value(action).unwrap()["action"].as_str().unwrap().to_owned())
            .collect()
    }

    fn paid(total: &str) -> Order {
        let mut order = awaiting_payment(total);
        let payment = Payment {
            reference: PaymentReference::parse("pi_1").unwrap(),
            amount: order.totals.total,
            received_at: Utc::now(),
        };
        order.pay(payment, &Actor::system("t"), Utc::now()).unwrap();
        order
    }

    #[test]
    fn an_unpaid_order_offers_its_customer_to_pay_edit_and_cancel_with_nothing_to_refund() {
        let order = awaiting_payment("12.00");
        let actions = order.allowed_actions(Viewer::Owner, WINDOW(), Utc::now());
        assert_eq!(names(&actions), ["pay", "edit_items", "cancel"]);
        assert!(actions.contains(&AllowedAction::Cancel { refund: Money::ZERO }));
        let seller = order.items[0].seller_id.clone();
        assert!(order.allowed_actions(Viewer::Seller(&seller), WINDOW(), Utc::now()).is_empty());
    }

    #[test]
    fn a_paid_order_offers_the_admin_fulfilment_a_refund_and_a_cancellation_that_says_what_goes_back() {
        let order = paid("12.00");
        let actions = order.allowed_actions(Viewer::Admin, WINDOW(), Utc::now());
        assert_eq!(names(&actions), ["start_fulfilment", "refund", "cancel"]);
        let twelve = Money::parse("12.00").unwrap();
        assert!(actions.contains(&AllowedAction::Cancel { refund: twelve }));
        assert!(actions.contains(&AllowedAction::Refund { refundable: twelve }));
        assert_eq!(names(&order.allowed_actions(Viewer::Owner, WINDOW(), Utc::now())), ["cancel"]);
    }

    #[test]
    fn a_part_is_shipped_then_delivered_by_its_seller_or_an_admin_and_never_by_another_seller_or_the_customer() {
        let mut order = paid("12.00");
        order
            .start_fulfilment(&Actor::system("t"), None, |_| Decimal::ZERO, Utc::now())
            .unwrap();
        let seller = order.items[0].seller_id.clone();
        let other = SellerId::parse("someone-else").unwrap();
        assert_eq!(
            names(&order.allowed_actions(Viewer::Seller(&seller), WINDOW(), Utc::now())),
            ["ship"]
        );
        assert!(order.allowed_actions(Viewer::Seller(&other), WINDOW(), Utc::now()).is_empty());
        assert!(!names(&order.allowed_actions(Viewer::Owner, WINDOW(), Utc::now())).contains(&"ship".to_owned()));
        let shipped = PartUpdate::Shipped {
            carrier: "DHL".into(),
            tracking_number: "1".into(),
            estimated_delivery: None,
        };
        order.update_part(&seller, shipped, &Actor::seller(&seller), Utc::now()).unwrap();
        assert_eq!(
            names(&order.allowed_actions(Viewer::Admin, WINDOW(), Utc::now())),
            ["deliver", "report_delivery_failed", "deliver_all", "refund"]
        );
        order
            .update_part(&seller, PartUpdate::Delivered, &Actor::seller(&seller), Utc::now())
            .unwrap();
        assert_eq!(
            names(&order.allowed_actions(Viewer::Owner, WINDOW(), Utc::now())),
            ["request_return"]
        );
        let after_the_window = Utc::now() + Duration::days(31);
        assert!(order.allowed_actions(Viewer::Owner, WINDOW(), after_the_window).is_empty());
    }
}
