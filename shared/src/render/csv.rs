//! Orders as CSV (RFC 4180): one row per line item, money as decimal strings, and every cell a
//! spreadsheet could take for a formula (`=`, `+`, `-`, `@`, tab, carriage return first)
//! neutralised with a leading apostrophe.

use crate::domain::Order;

pub const HEADER: [&str; 17] = [
    "order_id",
    "order_number",
    "created_at",
    "status",
    "payment_status",
    "user_id",
    "customer_name",
    "channel",
    "currency",
    "item_id",
    "product_id",
    "product_name",
    "seller_id",
    "quantity",
    "unit_price",
    "line_subtotal",
    "order_total",
];

/// One cell, quoted when it must be and never read as a formula.
pub fn cell(text: &str) -> String {
    let neutral = match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    };
    if neutral.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", neutral.replace('"', "\"\""))
    } else {
        neutral
    }
}

fn row(cells: &[String]) -> String {
    let mut line = cells.iter().map(|text| cell(text)).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

pub fn header_row() -> String {
    row(&HEADER.map(str::to_owned))
}

/// The order's rows, one per line item.
pub fn order_rows(order: &Order) -> String {
    let status = serde_json::to_value(order.status)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default();
    let payment = serde_json::to_value(order.payment_status)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default();
    let channel = serde_json::to_value(order.channel)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default();
    order
        .items
        .iter()
        .map(|line| {
            row(&[
                order.id.to_string(),
                order.order_number.as_ref().map(ToString::to_string).unwrap_or_default(),
                order.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                status.clone(),
                payment.clone(),
                order.user_id.to_string(),
                order.customer_name.clone().unwrap_or_default(),
                channel.clone(),
                order.currency.clone(),
                line.item_id.to_string(),
                line.product_id.to_string(),
                line.name.clone(),
                line.seller_id.to_string(),
                line.quantity.get().to_string(),
                line.unit_price.to_string(),
                line.subtotal.to_string(),
                order.totals.total.to_string(),
            ])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::order::tests::awaiting_payment;

    #[test]
    fn cells_are_quoted_as_rfc_4180_says_and_formulas_are_neutralised() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("12.50"), "12.50");
    }

    #[test]
    fn an_order_gives_a_row_per_line_with_money_as_decimal_strings() {
        let mut order = awaiting_payment("12.50");
        order.items[0].name = "Mug, \"large\"".into();
        let rows = order_rows(&order);
        assert_eq!(rows.matches("\r\n").count(), 1);
        assert!(rows.contains(",\"Mug, \"\"large\"\"\","), "{rows}");
        assert!(rows.trim_end().ends_with(",12.50,12.50,12.50"), "{rows}");
        assert_eq!(header_row().split(',').count(), HEADER.len());
    }
}
