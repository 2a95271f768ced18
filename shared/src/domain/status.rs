//! The order lifecycle (DESIGN section 4): which status may follow which.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Created,
    PendingReservingStock,
    PendingPayment,
    Invalid,
    Paid,
    Processing,
    PartiallyShipped,
    Shipped,
    Delivered,
    Cancelled,
    ReturnRequested,
    Returned,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    Pending,
    Paid,
    Failed,
    Refunded,
    PartiallyRefunded,
    /// The customer disputed the payment with their bank; the bank decides.
    Disputed,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 12] = [
        Self::Created,
        Self::PendingReservingStock,
        Self::PendingPayment,
        Self::Invalid,
        Self::Paid,
        Self::Processing,
        Self::PartiallyShipped,
        Self::Shipped,
        Self::Delivered,
        Self::Cancelled,
        Self::ReturnRequested,
        Self::Returned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "CREATED",
            Self::PendingReservingStock => "PENDING_RESERVING_STOCK",
            Self::PendingPayment => "PENDING_PAYMENT",
            Self::Invalid => "INVALID",
            Self::Paid => "PAID",
            Self::Processing => "PROCESSING",
            Self::PartiallyShipped => "PARTIALLY_SHIPPED",
            Self::Shipped => "SHIPPED",
            Self::Delivered => "DELIVERED",
            Self::Cancelled => "CANCELLED",
            Self::ReturnRequested => "RETURN_REQUESTED",
            Self::Returned => "RETURNED",
        }
    }

    /// Whether the lifecycle allows going from `self` straight to `next`.
    pub fn can_become(self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (self, next),
            (Created, PendingReservingStock)
                | (PendingReservingStock, PendingPayment | Invalid | Cancelled)
                | (PendingPayment, Paid | Cancelled)
                // Cash on delivery: fulfilled first, paid at the door.
                | (PendingPayment, Processing)
                | (Paid, Processing | PartiallyShipped | Shipped | Cancelled)
                | (Processing, PartiallyShipped | Shipped | Cancelled)
                | (PartiallyShipped, Shipped)
                | (Shipped, Delivered)
                // Every part failed delivery: back with its sellers, refunded.
                | (Shipped, Returned)
                | (Delivered, ReturnRequested)
                // Approved, or rejected back to where the order was.
                | (ReturnRequested, Returned | Delivered)
                // Partial returns leave other lines returnable.
                | (Returned, ReturnRequested)
        )
    }

    /// No transition leaves a terminal status.
    pub fn is_terminal(self) -> bool {
        Self::ALL.iter().all(|next| !self.can_become(*next))
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown order status")]
pub struct UnknownStatus;

impl FromStr for OrderStatus {
    type Err = UnknownStatus;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str().eq_ignore_ascii_case(text))
            .ok_or(UnknownStatus)
    }
}

#[cfg(test)]
mod tests {
    use super::OrderStatus::*;
    use super::*;

    #[test]
    fn placement_goes_through_reserving_stock_to_payment_or_invalid() {
        assert!(Created.can_become(PendingReservingStock));
        assert!(PendingReservingStock.can_become(PendingPayment));
        assert!(PendingReservingStock.can_become(Invalid));
        assert!(!Created.can_become(PendingPayment));
    }

    #[test]
    fn unpaid_orders_cannot_ship_and_shipped_orders_cannot_be_cancelled() {
        assert!(!PendingPayment.can_become(Shipped));
        assert!(!Shipped.can_become(Cancelled));
        assert!(!Delivered.can_become(Paid));
    }

    #[test]
    fn invalid_and_cancelled_are_terminal_and_a_partial_return_leaves_other_lines_returnable() {
        let terminal: Vec<_> = OrderStatus::ALL.into_iter().filter(|s| s.is_terminal()).collect();
        assert_eq!(terminal, vec![Invalid, Cancelled]);
        assert!(Returned.can_become(ReturnRequested));
        assert!(ReturnRequested.can_become(Delivered));
    }

    #[test]
    fn statuses_round_trip_through_their_wire_names() {
        for status in OrderStatus::ALL {
            assert_eq!(status.as_str().parse(), Ok(status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        assert_eq!("pending_payment".parse(), Ok(PendingPayment));
        assert!("SHIPPING".parse::<OrderStatus>().is_err());
    }
}
