//! The invoice of a delivered order: issued once, with a gap-free sequential number, its lines,
//! totals, and per seller the marketplace's commission and the seller's payout.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::fulfilment::SellerPart;
use super::ids::{OrderId, SellerId, UserId};
use super::money::Money;
use super::order::{Order, OrderLine, Totals};

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

    /// A printable page of the invoice; every value shown is escaped.
    pub fn to_html(&self) -> String {
        let lines: String = self
            .lines
            .iter()
            .map(|line| {
                format!(
                    "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                    escape(&line.name),
                    escape(line.seller_id.as_str()),
                    line.quantity,
                    line.unit_price,
                    line.subtotal
                )
            })
            .collect();
        let total = |label: &str, amount: Money| format!("<tr><th colspan=\"4\">{label}</th><td class=\"n\">{amount}</td></tr>");
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Invoice {number}</title>\
             <style>body{{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;color:#222}}\
             table{{width:100%;border-collapse:collapse}}td,th{{padding:.3rem;border-bottom:1px solid #ddd;text-align:left}}\
             .n{{text-align:right}}@media print{{body{{margin:0}}}}</style></head><body>\
             <h1>Invoice {number}</h1><p>Order {order}<br>Customer {user}<br>Issued {issued}<br>Currency {currency}</p>\
             <table><thead><tr><th>Item</th><th>Seller</th><th class=\"n\">Qty</th><th class=\"n\">Unit price</th>\
             <th class=\"n\">Amount</th></tr></thead><tbody>{lines}</tbody><tfoot>{subtotal}{shipping}{tax}{discount}{grand}</tfoot>\
             </table></body></html>",
            number = escape(&self.number),
            order = match &self.order_number {
                Some(number) => format!("{number} ({})", self.order_id),
                None => self.order_id.to_string(),
            },
            user = escape(self.user_id.as_str()),
            issued = self.issued_at.format("%Y-%m-%d %H:%M UTC"),
            currency = escape(&self.currency),
            subtotal = total("Subtotal", self.totals.subtotal),
            shipping = total("Shipping", self.totals.shipping_fee),
            tax = total("Tax", self.totals.tax),
            discount = total("Discount", self.totals.discount),
            grand = total("Total", self.totals.total),
        )
    }
}

/// The invoice number for a sequence number.
pub fn number(sequence: u64) -> String {
    format!("INV-{sequence:08}")
}

/// Text safe to put in HTML (invoices, notification messages).
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_zero_padded_and_html_escapes_what_it_shows() {
        assert_eq!(number(42), "INV-00000042");
        assert_eq!(escape("<b>Mugs & \"cups\"</b>"), "&lt;b&gt;Mugs &amp; &quot;cups&quot;&lt;/b&gt;");
    }
}
