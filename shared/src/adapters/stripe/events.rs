//! Stripe's webhook events, read into the service's terms. Only what decides behaviour is read;
//! Stripe adds fields over time, and an event type this service does not act on is `Ignored`
//! (answered 200: Stripe disables an endpoint that keeps failing).

use serde::Deserialize;

use crate::domain::order::ProviderRefundStatus;
use crate::domain::{Money, OrderId, PaymentReference};
use crate::ports::{IntentState, ProviderError, ProviderEvent, ProviderReport};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("not a Stripe event: {0}")]
    Malformed(String),
}

#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: serde_json::Value,
}

#[derive(Debug, Default, Deserialize)]
struct Metadata {
    #[serde(default)]
    order_id: Option<String>,
    #[serde(default)]
    shop: Option<String>,
    /// On a refund: the key the service asked for it with.
    #[serde(default)]
    refund_id: Option<String>,
}

/// A refund, as much of it as the service reads.
#[derive(Debug, Deserialize)]
struct Refund {
    id: String,
    status: String,
    #[serde(default)]
    metadata: Metadata,
    #[serde(default)]
    failure_reason: Option<String>,
}

impl Refund {
    /// Its progress, for a refund this deployment asked for.
    fn progress(&self, shop: &str) -> ProviderEvent {
        let ours = self.metadata.shop.as_deref() == Some(shop);
        let (Some(key), true) = (self.metadata.refund_id.clone(), ours) else {
            return ProviderEvent::Ignored;
        };
        let status = match self.status.as_str() {
            "succeeded" => ProviderRefundStatus::Completed,
            "failed" | "canceled" => ProviderRefundStatus::Failed,
            _ => ProviderRefundStatus::Pending,
        };
        ProviderEvent::RefundUpdated {
            key,
            reference: self.id.clone(),
            status,
            reason: self.failure_reason.clone().unwrap_or_else(|| self.status.clone()),
        }
    }
}

/// A charge's refunds, newest first, as `charge.refunded` carries them (when it does).
#[derive(Debug, Default, Deserialize)]
struct ChargeRefunds {
    #[serde(default)]
    refunds: Option<RefundPage>,
}

#[derive(Debug, Default, Deserialize)]
struct RefundPage {
    #[serde(default)]
    data: Vec<Refund>,
}

/// A dispute (chargeback), as much of it as the service reads.
#[derive(Debug, Deserialize)]
struct Dispute {
    id: String,
    amount: u64,
    currency: String,
    #[serde(default)]
    payment_intent: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

/// Stripe's error object: what an API call answers with its failure, and an intent's
/// `last_payment_error`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct StripeError {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub decline_code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

impl StripeError {
    /// `card_error/card_declined/insufficient_funds: Your card has insufficient funds.`
    pub fn describe(&self) -> String {
        let codes: Vec<&str> = [self.kind.as_deref(), self.code.as_deref(), self.decline_code.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        match (codes.is_empty(), self.message.as_deref()) {
            (false, Some(message)) => format!("{}: {message}", codes.join("/")),
            (false, None) => codes.join("/"),
            (true, Some(message)) => message.to_owned(),
            (true, None) => "no reason given".to_owned(),
        }
    }
}

/// A PaymentIntent, as much of it as the service reads.
#[derive(Debug, Deserialize)]
pub(super) struct Intent {
    pub id: String,
    pub amount: u64,
    /// Absent from localstripe's intents, which report a succeeded one's amount as taken.
    #[serde(default)]
    pub amount_received: Option<u64>,
    pub currency: String,
    pub status: String,
    #[serde(default)]
    metadata: Metadata,
    #[serde(default)]
    last_payment_error: Option<StripeError>,
}

impl Intent {
    /// The order this deployment (`shop`) made the intent for; `None` for an intent of another
    /// deployment on the same Stripe account (staging beside production in test mode) or not of
    /// this service's making at all (a payment link, say): Stripe sends every endpoint every
    /// event of the account.
    pub fn order(&self, shop: &str) -> Option<OrderId> {
        if self.metadata.shop.as_deref() != Some(shop) {
            return None;
        }
        self.metadata.order_id.as_deref().and_then(|id| OrderId::parse(id).ok())
    }

    pub fn currency(&self) -> String {
        self.currency.to_ascii_uppercase()
    }

    /// What Stripe took, in the currency's units.
    pub fn received(&self) -> Option<Money> {
        let units = self
            .amount_received
            .or_else(|| (self.status == "succeeded").then_some(self.amount))?;
        Money::from_minor_units_of(units, &self.currency())
    }

    /// Why the last payment failed, as Stripe says it: `card_declined/insufficient_funds: ...`.
    pub fn failure(&self) -> String {
        self.last_payment_error
            .as_ref()
            .map_or_else(|| "the payment failed".to_owned(), StripeError::describe)
    }

    /// Where the intent stands, in the port's terms.
    pub fn state(&self) -> Result<IntentState, ProviderError> {
        Ok(match self.status.as_str() {
            "succeeded" => IntentState::Succeeded {
                received: self
                    .received()
                    .ok_or_else(|| ProviderError::Refused(format!("intent {}: amount_received is not an amount", self.id)))?,
                currency: self.currency(),
            },
            "processing" | "requires_capture" => IntentState::Processing,
            "canceled" => IntentState::Cancelled,
            _ => IntentState::Open,
        })
    }

    pub fn reference(&self) -> Result<PaymentReference, EventError> {
        PaymentReference::parse(&self.id).map_err(|err| EventError::Malformed(format!("payment intent id: {err}")))
    }
}

/// What a `payment_intent.*` event says, for an intent of this deployment's.
fn intent_event(kind: &str, intent: &Intent, shop: &str) -> Result<ProviderEvent, EventError> {
    let Some(order) = intent.order(shop) else {
        return Ok(ProviderEvent::Ignored);
    };
    let payment = intent.reference()?;
    Ok(match kind {
        "payment_intent.succeeded" => ProviderEvent::PaymentSucceeded {
            order,
            payment,
            received: intent
                .received()
                .ok_or_else(|| EventError::Malformed("amount_received is not an amount of its currency".into()))?,
            currency: intent.currency(),
        },
        "payment_intent.payment_failed" => ProviderEvent::PaymentFailed {
            order,
            payment,
            reason: intent.failure(),
        },
        _ => ProviderEvent::PaymentCancelled { order, payment },
    })
}

/// Reads a verified webhook body, for the deployment `shop`.
pub fn read_event(body: &[u8], shop: &str) -> Result<ProviderReport, EventError> {
    let event: Event = serde_json::from_slice(body).map_err(|err| EventError::Malformed(err.to_string()))?;
    fn read<T: serde::de::DeserializeOwned>(object: &serde_json::Value) -> Result<T, EventError> {
        serde_json::from_value(object.clone()).map_err(|err| EventError::Malformed(err.to_string()))
    }
    let read = match event.kind.as_str() {
        kind @ ("payment_intent.succeeded" | "payment_intent.payment_failed" | "payment_intent.canceled") => {
            intent_event(kind, &read(&event.data.object)?, shop)?
        }
        // `charge.refund.updated` is what endpoints before API version 2024-10-28 get for a card
        // refund's changes; `refund.*` what later ones get.
        "refund.created" | "refund.updated" | "refund.failed" | "charge.refund.updated" => {
            let refund: Refund = read(&event.data.object)?;
            refund.progress(shop)
        }
        "charge.refunded" => {
            let charge: ChargeRefunds = read(&event.data.object)?;
            charge
                .refunds
                .and_then(|page| page.data.into_iter().next())
                .map_or(ProviderEvent::Ignored, |refund| refund.progress(shop))
        }
        "charge.dispute.created" => {
            let dispute: Dispute = read(&event.data.object)?;
            match dispute.payment_intent.as_deref() {
                Some(payment) => ProviderEvent::Disputed {
                    payment: PaymentReference::parse(payment).map_err(|err| EventError::Malformed(format!("payment_intent: {err}")))?,
                    amount: Money::from_minor_units_of(dispute.amount, &dispute.currency.to_ascii_uppercase())
                        .ok_or_else(|| EventError::Malformed("the dispute's amount is not one of its currency".into()))?,
                    reason: dispute.reason.unwrap_or_else(|| "unknown".to_owned()),
                    dispute: dispute.id,
                },
                None => ProviderEvent::Ignored,
            }
        }
        _ => ProviderEvent::Ignored,
    };
    Ok(ProviderReport {
        event_id: event.id,
        kind: event.kind,
        event: read,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(kind: &str, object: serde_json::Value) -> Vec<u8> {
        json!({"id": "evt_1", "object": "event", "type": kind, "data": {"object": object}})
            .to_string()
            .into_bytes()
    }

    fn intent(order: OrderId) -> serde_json::Value {
        json!({"id": "pi_1", "object": "payment_intent", "amount": 1999, "amount_received": 1999, "currency": "usd",
               "status": "succeeded", "metadata": {"order_id": order.to_string(), "shop": "shop-a"}, "livemode": false})
    }

    #[test]
    fn a_succeeded_intent_reports_what_was_received_in_the_currencys_units() {
        let order = OrderId::new();
        let report = read_event(&event("payment_intent.succeeded", intent(order)), "shop-a").unwrap();
        assert_eq!(report.event_id, "evt_1");
        assert_eq!(
            report.event,
            ProviderEvent::PaymentSucceeded {
                order,
                payment: PaymentReference::parse("pi_1").unwrap(),
                received: Money::parse("19.99").unwrap(),
                currency: "USD".into(),
            }
        );
        let mut yen = intent(order);
        yen["currency"] = json!("jpy");
        yen["amount_received"] = json!(1500);
        let read = read_event(&event("payment_intent.succeeded", yen), "shop-a").unwrap();
        assert!(matches!(read.event, ProviderEvent::PaymentSucceeded { received, .. } if received == Money::parse("1500").unwrap()));
    }

    #[test]
    fn a_failure_carries_stripes_codes_and_message() {
        let order = OrderId::new();
        let mut failed = intent(order);
        failed["status"] = json!("requires_payment_method");
        failed["amount_received"] = json!(0);
        failed["last_payment_error"] =
            json!({"code": "card_declined", "decline_code": "insufficient_funds", "message": "Your card has insufficient funds."});
        let report = read_event(&event("payment_intent.payment_failed", failed), "shop-a").unwrap();
        assert_eq!(
            report.event,
            ProviderEvent::PaymentFailed {
                order,
                payment: PaymentReference::parse("pi_1").unwrap(),
                reason: "card_declined/insufficient_funds: Your card has insufficient funds.".into(),
            }
        );
    }

    #[test]
    fn a_refunds_progress_and_a_dispute_are_read_and_another_shops_refund_is_ignored() {
        let order = OrderId::new();
        let refund = json!({"id": "re_1", "object": "refund", "amount": 500, "currency": "usd", "status": "failed",
                            "failure_reason": "expired_or_canceled_card",
                            "metadata": {"refund_id": format!("{order}:r-1"), "shop": "shop-a"}});
        let read = read_event(&event("refund.updated", refund.clone()), "shop-a").unwrap();
        assert_eq!(
            read.event,
            ProviderEvent::RefundUpdated {
                key: format!("{order}:r-1"),
                reference: "re_1".into(),
                status: ProviderRefundStatus::Failed,
                reason: "expired_or_canceled_card".into(),
            }
        );
        assert_eq!(read.event.order(), Some(order));
        assert_eq!(
            read_event(&event("refund.updated", refund.clone()), "shop-b").unwrap().event,
            ProviderEvent::Ignored
        );
        let charge = json!({"id": "ch_1", "object": "charge", "refunds": {"data": [refund]}});
        assert!(matches!(
            read_event(&event("charge.refunded", charge), "shop-a").unwrap().event,
            ProviderEvent::RefundUpdated { .. }
        ));
        let bare_charge = json!({"id": "ch_1", "object": "charge"});
        assert_eq!(
            read_event(&event("charge.refunded", bare_charge), "shop-a").unwrap().event,
            ProviderEvent::Ignored
        );
        let dispute = json!({"id": "dp_1", "object": "dispute", "amount": 1999, "currency": "usd", "charge": "ch_1",
                             "payment_intent": "pi_1", "reason": "fraudulent", "status": "needs_response"});
        assert_eq!(
            read_event(&event("charge.dispute.created", dispute), "shop-a").unwrap().event,
            ProviderEvent::Disputed {
                payment: PaymentReference::parse("pi_1").unwrap(),
                dispute: "dp_1".into(),
                amount: Money::parse("19.99").unwrap(),
                reason: "fraudulent".into(),
            }
        );
    }

    #[test]
    fn other_types_and_intents_of_no_order_of_this_shop_are_ignored_and_non_events_are_malformed() {
        let order = OrderId::new();
        let other_shop = read_event(&event("payment_intent.succeeded", intent(order)), "shop-b").unwrap();
        assert_eq!(other_shop.event, ProviderEvent::Ignored, "another deployment's payment");
        assert_eq!(
            read_event(&event("customer.created", json!({"id": "cus_1"})), "shop-a")
                .unwrap()
                .event,
            ProviderEvent::Ignored
        );
        let mut foreign = intent(order);
        foreign["metadata"] = json!({});
        assert_eq!(
            read_event(&event("payment_intent.succeeded", foreign), "shop-a").unwrap().event,
            ProviderEvent::Ignored
        );
        assert!(read_event(b"{}", "shop-a").is_err());
        assert!(read_event(b"not json", "shop-a").is_err());
        assert!(read_event(&event("payment_intent.succeeded", json!({"id": "pi_1"})), "shop-a").is_err());
    }
}
