//! HTML for people: the printable invoice and the body of a notification e-mail. Every value
//! shown is escaped.

use std::fmt::Write;

use crate::domain::invoice::Invoice;
use crate::domain::money::Money;
use crate::domain::notification::Notification;

/// A printable page of the invoice; every value shown is escaped.
pub fn invoice(invoice: &Invoice) -> String {
    let lines: String = invoice
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
        number = escape(&invoice.number),
        order = match &invoice.order_number {
            Some(number) => format!("{number} ({})", invoice.order_id),
            None => invoice.order_id.to_string(),
        },
        user = escape(invoice.user_id.as_str()),
        issued = invoice.issued_at.format("%Y-%m-%d %H:%M UTC"),
        currency = escape(&invoice.currency),
        subtotal = total("Subtotal", invoice.totals.subtotal),
        shipping = total("Shipping", invoice.totals.shipping_fee),
        tax = total("Tax", invoice.totals.tax),
        discount = total("Discount", invoice.totals.discount),
        grand = total("Total", invoice.totals.total),
    )
}

/// The HTML body of a notification e-mail: its lines as paragraphs, and the footer.
pub fn notification(message: &Notification) -> String {
    let mut html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{}</title></head><body>",
        escape(&message.subject)
    );
    for line in &message.lines {
        let _ = write!(html, "<p>{}</p>", escape(line));
    }
    let _ = write!(html, "<p style=\"color:#666\">{}</p></body></html>", escape(&message.footer));
    html
}

/// Text safe to put in HTML.
pub fn escape(text: &str) -> String {
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
    fn html_escapes_what_it_shows() {
        assert_eq!(escape("<b>Mugs & \"cups\"</b>"), "&lt;b&gt;Mugs &amp; &quot;cups&quot;&lt;/b&gt;");
    }
}
