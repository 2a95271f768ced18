//! Starting a payment: online or by wallet through the payment provider (an intent the
//! provider's webhook later settles), or cash on delivery, where the order goes to fulfilment
//! unpaid and the payment is recorded when it is delivered.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::refund::RefundStatus;
use super::Order;
use crate::domain::actor::Actor;
use crate::domain::ids::{OrderId, PaymentReference, SellerId};
use crate::domain::money::Money;
use crate::domain::status::{OrderStatus, PaymentStatus};
use crate::domain::transition::IllegalTransition;

/// A payment the payment provider confirmed, by its reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub reference: PaymentReference,
    pub amount: Money,
    pub received_at: DateTime<Utc>,
}

/// A payment that arrived when its order could no longer be paid (cancelled, expired, invalid):
/// the refund step pays it back in full, once, automatically.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundDue {
    #[serde(flatten)]
    pub payment: Payment,
    /// Whether the provider has paid it back (records written before this say nothing: owed).
    #[serde(default = "RefundStatus::pending")]
    pub refund_status: RefundStatus,
    /// The provider's reference for the refund, once paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunded_at: Option<DateTime<Utc>>,
}

impl RefundDue {
    pub fn new(payment: Payment) -> Self {
        Self {
            payment,
            refund_status: RefundStatus::Pending,
            refund_reference: None,
            refunded_at: None,
        }
    }

    /// What follows the order id in a late payment's refund key.
    pub const KEY_INFIX: &'static str = "late:";

    /// The key the provider is asked with: one refund per late payment, however often asked.
    pub fn provider_key(&self, order: OrderId) -> String {
        format!("{order}:{}{}", Self::KEY_INFIX, self.payment.reference)
    }
}

/// A customer's dispute of the payment with their bank (a chargeback), as the provider reported
/// it: the money is held until the bank decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dispute {
    pub dispute_id: String,
    pub amount: Money,
    pub reason: String,
    pub opened_at: DateTime<Utc>,
}

/// What a payment confirmation does to an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentDecision {
    /// Convert the reservation into a sale: the order becomes PAID.
    Accept,
    /// This very payment was already applied: nothing to do.
    AlreadyApplied,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentRefusal {
    #[error("the amount {offered} does not match the order total {expected}")]
    AmountMismatch { offered: Money, expected: Money },
    #[error("the order was already paid with another payment reference")]
    PaidWithOtherReference,
    /// The order can no longer be paid (cancelled, invalid); `refund` says whether the payment
    /// has to be recorded for a refund (it is new to this order).
    #[error("an order in status {status} cannot be paid")]
    NotPayable { status: OrderStatus, refund: bool },
}

impl Order {
    /// Decides what a confirmed payment does, without changing the order.
    pub fn judge_payment(&self, reference: &PaymentReference, amount: Money) -> Result<PaymentDecision, PaymentRefusal> {
        if let Some(paid) = &self.payment {
            return if &paid.reference == reference {
                Ok(PaymentDecision::AlreadyApplied)
            } else {
                Err(PaymentRefusal::PaidWithOtherReference)
            };
        }
        match self.status {
            OrderStatus::PendingPayment if amount == self.totals.total => Ok(PaymentDecision::Accept),
            OrderStatus::PendingPayment => Err(PaymentRefusal::AmountMismatch {
                offered: amount,
                expected: self.totals.total,
            }),
            status => {
                let known = self.refunds_due.iter().any(|due| &due.payment.reference == reference);
                Err(PaymentRefusal::NotPayable {
                    status,
                    refund: status.is_terminal() && !known,
                })
            }
        }
    }

    /// Applies an accepted payment: PAID, with the payment recorded.
    pub fn pay(&mut self, payment: Payment, actor: &Actor, now: DateTime<Utc>) -> Result<(), IllegalTransition> {
        let note = format!("payment {}", payment.reference);
        self.transition(OrderStatus::Paid, actor, Some(note), now)?;
        self.payment_status = PaymentStatus::Paid;
        self.payment = Some(payment);
        Ok(())
    }

    /// Adds a payment owed back, as read with the order; one per provider payment.
    pub fn add_refund_due(&mut self, due: RefundDue) {
        if !self
            .refunds_due
            .iter()
            .any(|known| known.payment.reference == due.payment.reference)
        {
            self.refunds_due.push(due);
        }
    }

    /// Late payments the provider has not paid back yet.
    pub fn late_payments_owed(&self) -> impl Iterator<Item = &RefundDue> {
        self.refunds_due.iter().filter(|due| due.refund_status == RefundStatus::Pending)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentMethod {
    Online,
    Wallet,
    Cod,
}

impl PaymentMethod {
    pub const ALL: [PaymentMethod; 3] = [Self::Online, Self::Wallet, Self::Cod];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Wallet => "wallet",
            Self::Cod => "cod",
        }
    }
}

impl fmt::Display for PaymentMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be online, wallet or cod")]
pub struct UnknownMethod;

impl FromStr for PaymentMethod {
    type Err = UnknownMethod;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|method| method.as_str() == text).ok_or(UnknownMethod)
    }
}

/// A payment the provider is waiting for: the customer completes it at `redirect_url`
/// (online) or with `client_secret` (wallet), and the provider's webhook reports the outcome
/// with `payment_id` as the payment reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentIntent {
    pub payment_id: PaymentReference,
    pub method: PaymentMethod,
    pub amount: Money,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Which of the order's attempts this is (1, 2, ...): a declined card closes an attempt and
    /// the customer starts the next, which asks the provider for a new intent.
    #[serde(default = "PaymentIntent::first_attempt")]
    pub attempt: u32,
    /// When the provider reported that this intent will not take the money (declined,
    /// cancelled); starting the payment again starts the next attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<DateTime<Utc>>,
}

impl PaymentIntent {
    fn first_attempt() -> u32 {
        1
    }

    /// The attempt a new intent for this order would be.
    pub fn next_attempt(intent: Option<&PaymentIntent>) -> u32 {
        intent.map_or(1, |intent| intent.attempt.saturating_add(1))
    }
}

/// Why an intent will not take the money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptEnd {
    /// The card was declined, or failed otherwise: the provider's code and message.
    Failed(String),
    /// The intent was cancelled at the provider.
    Cancelled,
}

/// What asking to pay does to an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartDecision {
    /// Ask the provider for an intent and keep it on the order.
    CreateIntent,
    /// The same method was started before: answer its intent again.
    Existing(PaymentIntent),
    /// Accept the order for cash on delivery: its reservation becomes a sale and it goes to
    /// fulfilment unpaid.
    CashOnDelivery,
    /// Cash on delivery was accepted before: nothing to do.
    CashOnDeliveryAccepted,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartRefusal {
    #[error("an order in {status} cannot be paid")]
    NotPayable { status: OrderStatus },
    #[error("a payment by {method} was already started for this order")]
    AlreadyStarted { method: PaymentMethod },
    #[error("cash on delivery takes orders of at most {max}")]
    CodLimit { max: Money },
}

impl Order {
    /// Decides what a customer's request to pay by `method` does, without changing the order.
    /// After a declined card (a closed attempt) the customer may pay again, by any method.
    pub fn judge_payment_start(&self, method: PaymentMethod, cod_max_total: Money) -> Result<StartDecision, StartRefusal> {
        let open = self.payment_intent.as_ref().filter(|intent| intent.closed_at.is_none());
        match (self.payment_method, open) {
            (Some(PaymentMethod::Cod), _) if method == PaymentMethod::Cod => return Ok(StartDecision::CashOnDeliveryAccepted),
            (Some(PaymentMethod::Cod), _) => {
                return Err(StartRefusal::AlreadyStarted {
                    method: PaymentMethod::Cod,
                })
            }
            (Some(chosen), Some(_)) if chosen != method => return Err(StartRefusal::AlreadyStarted { method: chosen }),
            (Some(_), Some(intent)) => return Ok(StartDecision::Existing(intent.clone())),
            _ => {}
        }
        if self.status != OrderStatus::PendingPayment {
            return Err(StartRefusal::NotPayable { status: self.status });
        }
        match method {
            PaymentMethod::Cod if self.totals.total > cod_max_total => Err(StartRefusal::CodLimit { max: cod_max_total }),
            PaymentMethod::Cod => Ok(StartDecision::CashOnDelivery),
            PaymentMethod::Online | PaymentMethod::Wallet => Ok(StartDecision::CreateIntent),
        }
    }

    /// Keeps the provider's intent: the order's lines and total are fixed from here on.
    pub fn start_payment(&mut self, intent: PaymentIntent, actor: &Actor, now: DateTime<Utc>) {
        let note = format!("PAYMENT_STARTED {} {} {}", intent.method, intent.payment_id, intent.amount);
        self.payment_method = Some(intent.method);
        self.payment_intent = Some(intent);
        self.note(actor, note, now);
    }

    /// The provider's payment that may still take money for this unpaid order: its attempt is
    /// started and not closed.
    pub fn open_payment_attempt(&self) -> Option<&PaymentReference> {
        if self.status != OrderStatus::PendingPayment || self.payment.is_some() {
            return None;
        }
        self.payment_intent
            .as_ref()
            .filter(|intent| intent.closed_at.is_none())
            .map(|intent| &intent.payment_id)
    }

    /// Records a dispute of the order's payment: `payment_status` DISPUTED and a timeline note;
    /// `false` for a payment that is not the order's, or a dispute recorded before.
    pub fn dispute(&mut self, payment: &PaymentReference, dispute: Dispute, actor: &Actor, now: DateTime<Utc>) -> bool {
        let ours = self.payment.as_ref().is_some_and(|paid| &paid.reference == payment);
        if !ours || self.disputes.iter().any(|known| known.dispute_id == dispute.dispute_id) {
            return false;
        }
        let note = format!("PAYMENT_DISPUTED {}: {} ({})", dispute.dispute_id, dispute.reason, dispute.amount);
        self.payment_status = PaymentStatus::Disputed;
        self.disputes.push(dispute);
        self.note(actor, note, now);
        true
    }

    /// Closes the attempt of `payment` with the provider's reason, in the timeline; `false`
    /// (nothing changed) unless it is the order's open attempt and the order awaits payment. A
    /// report that comes after the payment succeeded, or twice, changes nothing.
    pub fn close_payment_attempt(&mut self, payment: &PaymentReference, end: &AttemptEnd, actor: &Actor, now: DateTime<Utc>) -> bool {
        if self.status != OrderStatus::PendingPayment || self.payment.is_some() {
            return false;
        }
        let Some(intent) = self
            .payment_intent
            .as_mut()
            .filter(|intent| &intent.payment_id == payment && intent.closed_at.is_none())
        else {
            return false;
        };
        intent.closed_at = Some(now);
        let note = match end {
            AttemptEnd::Failed(reason) => format!("PAYMENT_FAILED {payment}: {reason}"),
            AttemptEnd::Cancelled => format!("PAYMENT_CANCELLED {payment}"),
        };
        self.note(actor, note, now);
        true
    }

    /// Accepts the order for cash on delivery: PENDING_PAYMENT -> PROCESSING with its seller
    /// parts, no payment deadline any more; the payment stays PENDING until delivery.
    pub fn accept_cash_on_delivery(
        &mut self,
        actor: &Actor,
        rate_of: impl Fn(&SellerId) -> Decimal,
        now: DateTime<Utc>,
    ) -> Result<(), IllegalTransition> {
        if self.status != OrderStatus::PendingPayment {
            return Err(IllegalTransition {
                from: self.status,
                to: OrderStatus::Processing,
            });
        }
        self.start_fulfilment(actor, Some("cash on delivery"), rate_of, now)?;
        self.payment_method = Some(PaymentMethod::Cod);
        self.payment_due_at = None;
        Ok(())
    }

    /// What a cash-on-delivery customer pays at the door: the total, less the value of lines
    /// given back before they paid (a part that failed delivery, say).
    pub fn cash_due(&self) -> Money {
        let given_back: Vec<_> = self
            .refunds
            .iter()
            .filter(|refund| refund.amount == Money::ZERO)
            .flat_map(|refund| refund.lines.iter().cloned())
            .collect();
        self.totals.total.saturating_sub(self.value_of(&given_back))
    }

    /// Records the cash a courier collected once the order is delivered; nothing for an order
    /// paid otherwise or already collected.
    pub(crate) fn collect_cash_on_delivery(&mut self, actor: &Actor, now: DateTime<Utc>) {
        if self.payment_method != Some(PaymentMethod::Cod) || self.payment.is_some() || self.status != OrderStatus::Delivered {
            return;
        }
        let amount = self.cash_due();
        let Ok(reference) = PaymentReference::parse(&format!("cod-{}", self.id)) else {
            return;
        };
        self.payment = Some(Payment {
            reference,
            amount,
            received_at: now,
        });
        self.payment_status = PaymentStatus::Paid;
        self.note(actor, format!("PAYMENT_COLLECTED {amount} (cash on delivery)"), now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::order::tests::awaiting_payment;
    use crate::domain::order::PartUpdate;

    fn intent(order: &Order, method: PaymentMethod) -> PaymentIntent {
        PaymentIntent {
            payment_id: PaymentReference::parse("pi_1").unwrap(),
            method,
            amount: order.totals.total,
            currency: order.currency.clone(),
            redirect_url: None,
            client_secret: Some("pi_1_secret_x".into()),
            created_at: Utc::now(),
            attempt: 1,
            closed_at: None,
        }
    }

    #[test]
    fn a_declined_attempt_is_noted_once_and_the_next_start_is_a_new_attempt_by_any_method() {
        let mut order = awaiting_payment("12.00");
        let actor = Actor::system("t");
        let started = intent(&order, PaymentMethod::Online);
        order.start_payment(started.clone(), &actor, Utc::now());
        let declined = AttemptEnd::Failed("card_declined: Your card was declined.".into());
        let other = PaymentReference::parse("pi_other").unwrap();
        assert!(
            !order.close_payment_attempt(&other, &declined, &actor, Utc::now()),
            "not this order's attempt"
        );
        assert!(order.close_payment_attempt(&started.payment_id, &declined, &actor, Utc::now()));
        assert!(
            !order.close_payment_attempt(&started.payment_id, &declined, &actor, Utc::now()),
            "twice"
        );
        assert_eq!(
            order.status,
            OrderStatus::PendingPayment,
            "a declined card leaves the order payable"
        );
        let notes: Vec<_> = order.status_history.iter().filter_map(|change| change.note.as_deref()).collect();
        assert_eq!(
            notes
                .iter()
                .filter(|note| note.starts_with("PAYMENT_FAILED pi_1: card_declined"))
                .count(),
            1
        );
        assert_eq!(PaymentIntent::next_attempt(order.payment_intent.as_ref()), 2);
        for method in [PaymentMethod::Online, PaymentMethod::Wallet, PaymentMethod::Cod] {
            let decision = order.judge_payment_start(method, limit("100"));
            assert!(
                matches!(decision, Ok(StartDecision::CreateIntent | StartDecision::CashOnDelivery)),
                "{method}: {decision:?}"
            );
        }
    }

    #[test]
    fn a_failure_reported_after_the_payment_changes_nothing() {
        let mut order = awaiting_payment("12.00");
        let actor = Actor::system("t");
        let started = intent(&order, PaymentMethod::Online);
        order.start_payment(started.clone(), &actor, Utc::now());
        let payment = Payment {
            reference: started.payment_id.clone(),
            amount: order.totals.total,
            received_at: Utc::now(),
        };
        order.pay(payment, &actor, Utc::now()).unwrap();
        let history = order.status_history.len();
        assert!(!order.close_payment_attempt(&started.payment_id, &AttemptEnd::Cancelled, &actor, Utc::now()));
        assert_eq!((order.status, order.status_history.len()), (OrderStatus::Paid, history));
    }

    fn limit(text: &str) -> Money {
        Money::parse(text).unwrap()
    }

    #[test]
    fn asking_again_answers_the_same_intent_and_another_method_is_refused() {
        let mut order = awaiting_payment("12.00");
        assert_eq!(
            order.judge_payment_start(PaymentMethod::Online, limit("100")),
            Ok(StartDecision::CreateIntent)
        );
        let started = intent(&order, PaymentMethod::Online);
        order.start_payment(started.clone(), &Actor::system("t"), Utc::now());
        assert_eq!(order.status, OrderStatus::PendingPayment, "starting a payment keeps the status");
        assert_eq!(
            order.judge_payment_start(PaymentMethod::Online, limit("100")),
            Ok(StartDecision::Existing(started))
        );
        assert_eq!(
            order.judge_payment_start(PaymentMethod::Cod, limit("100")),
            Err(StartRefusal::AlreadyStarted {
                method: PaymentMethod::Online
            })
        );
    }

    #[test]
    fn cash_on_delivery_is_refused_past_its_limit_and_otherwise_goes_to_fulfilment_unpaid() {
        let mut order = awaiting_payment("120.00");
        assert_eq!(
            order.judge_payment_start(PaymentMethod::Cod, limit("100")),
            Err(StartRefusal::CodLimit { max: limit("100") })
        );
        assert_eq!(
            order.judge_payment_start(PaymentMethod::Cod, limit("500")),
            Ok(StartDecision::CashOnDelivery)
        );
        order
            .accept_cash_on_delivery(&Actor::system("t"), |_| Decimal::ZERO, Utc::now())
            .unwrap();
        assert_eq!(
            (order.status, order.payment_status, order.payment_due_at),
            (OrderStatus::Processing, PaymentStatus::Pending, None)
        );
        assert_eq!(order.seller_parts.len(), 1);
        assert_eq!(
            order.judge_payment_start(PaymentMethod::Cod, limit("500")),
            Ok(StartDecision::CashOnDeliveryAccepted)
        );
    }

    #[test]
    fn cash_is_recorded_once_when_the_last_part_is_delivered() {
        let mut order = awaiting_payment("30.00");
        let actor = Actor::system("t");
        order.accept_cash_on_delivery(&actor, |_| Decimal::ZERO, Utc::now()).unwrap();
        let seller = order.seller_parts[0].seller_id.clone();
        let shipped = PartUpdate::Shipped {
            carrier: "ups".into(),
            tracking_number: "1Z".into(),
            estimated_delivery: None,
        };
        order.update_part(&seller, shipped, &actor, Utc::now()).unwrap();
        assert!(order.payment.is_none(), "nothing is paid before delivery");
        order.update_part(&seller, PartUpdate::Delivered, &actor, Utc::now()).unwrap();
        assert_eq!(order.status, OrderStatus::Delivered);
        assert_eq!(order.payment_status, PaymentStatus::Paid);
        assert_eq!(order.paid_amount(), limit("30.00"));
        let notes = order.status_history.iter().filter_map(|change| change.note.as_deref());
        assert_eq!(notes.filter(|note| note.starts_with("PAYMENT_COLLECTED")).count(), 1);
    }
}
