//! Analytics counters in the orders table: per UTC day, the shop's figures sharded over
//! `DAY_SHARDS` items (a flash sale's events do not all add to one item), and each seller's and
//! product's figures sharded the same way. An event's additions and its claim
//! (`ANALYTICS#EVENT#<event id>`, created only once) are one transaction, so a replayed event
//! adds nothing. Each customer's figures are one item (`ANALYTICS#CUSTOMER#<user>`), added to in
//! the same transaction.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::keys::{key, Item};
use super::transaction::MAX_TRANSACTION_ITEMS;
use super::{encode_failure, DynamoStore, Read};
use crate::adapters::classify;
use crate::domain::analytics::{Contribution, CustomerFigures, DayFigures, ProductFigures, SellerFigures};
use crate::domain::listing::timestamp_key;
use crate::domain::{SellerId, Sku, UserId};
use crate::ports::{Analytics, StoreError};

/// Items the shop's figures of one day are spread over.
pub const DAY_SHARDS: u32 = 8;
/// How long an event's claim is kept: longer than any queue keeps a message.
const CLAIM_DAYS: i64 = 90;

fn day_pk(day: NaiveDate) -> String {
    format!("ANALYTICS#DAY#{day}")
}

fn sellers_pk(day: NaiveDate) -> String {
    format!("ANALYTICS#SELLERS#{day}")
}

fn products_pk(day: NaiveDate) -> String {
    format!("ANALYTICS#PRODUCTS#{day}")
}

/// A customer's figures: one item, whatever the size of their history.
fn customer_key(user: &UserId) -> Item {
    key(format!("ANALYTICS#CUSTOMER#{user}"), "TOTALS")
}

/// One `ADD` of non-zero counters, with `SET` of the names that say whose they are.
fn add(table: &str, pk: String, sk: String, counters: &[(&str, i64)], names: &[(&str, String)]) -> Option<TransactWriteItem> {
    let added: Vec<&(&str, i64)> = counters.iter().filter(|(_, value)| *value != 0).collect();
    if added.is_empty() {
        return None;
    }
    let mut expression = format!(
        "ADD {}",
        added
            .iter()
            .map(|(name, _)| format!("#{name} :{name}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !names.is_empty() {
        expression = format!(
            "SET {} {expression}",
            names
                .iter()
                .map(|(name, _)| format!("#{name} = :{name}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(key(pk, &sk)))
        .update_expression(expression);
    for (name, value) in added {
        update = update
            .expression_attribute_names(format!("#{name}"), *name)
            .expression_attribute_values(format!(":{name}"), AttributeValue::N(value.to_string()));
    }
    for (name, value) in names {
        update = update
            .expression_attribute_names(format!("#{name}"), *name)
            .expression_attribute_values(format!(":{name}"), AttributeValue::S(value.clone()));
    }
    update
        .build()
        .ok()
        .map(|update| TransactWriteItem::builder().update(update).build())
}

fn number(item: &Item, name: &str) -> i64 {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(0)
}

fn text<'a>(item: &'a Item, name: &str) -> &'a str {
    item.get(name).and_then(|v| v.as_s().ok()).map_or("", String::as_str)
}

impl DynamoStore {
    fn claim(&self, event_id: &str) -> Result<TransactWriteItem, StoreError> {
        let expires = (Utc::now() + Duration::days(CLAIM_DAYS)).timestamp();
        let mut item = key(format!("ANALYTICS#EVENT#{event_id}"), "CLAIM");
        item.insert("ttl".to_owned(), AttributeValue::N(expires.to_string()));
        let put = Put::builder()
            .table_name(&self.orders_table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(encode_failure)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// When the customer last placed an order: only ever moves later, so a replayed or late
    /// event changes nothing and needs no claim.
    async fn note_last_order(&self, user: &UserId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.orders_table)
            .set_key(Some(customer_key(user)))
            .update_expression("SET last_order_at = :at, user_id = :user")
            .condition_expression("attribute_not_exists(last_order_at) OR last_order_at < :at")
            .expression_attribute_values(":at", AttributeValue::S(timestamp_key(at)))
            .expression_attribute_values(":user", AttributeValue::S(user.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if matches!(err.as_service_error(), Some(UpdateItemError::ConditionalCheckFailedException(_))) => Ok(()),
            Err(err) => Err(classify(err)),
        }
    }

    async fn all_items(&self, pk: String) -> Result<Vec<Item>, StoreError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.orders_table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(pk))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        let mut items = Vec::new();
        while let Some(item) = pages.try_next().await.map_err(classify)? {
            items.push(item);
        }
        Ok(items)
    }
}

#[async_trait::async_trait]
impl Analytics for DynamoStore {
    async fn record_contribution(&self, event_id: &str, added: &Contribution, shard: u32) -> Result<bool, StoreError> {
        let Some(day) = added.day.filter(|_| !added.is_empty()) else {
            return Ok(false);
        };
        let shard = shard % DAY_SHARDS;
        let table = self.orders_table.as_str();
        let shop = &added.shop;
        let mut updates: Vec<TransactWriteItem> = Vec::new();
        updates.extend(add(
            table,
            day_pk(day),
            format!("SHARD#{shard}"),
            &[
                ("placed", shop.placed),
                ("paid", shop.paid),
                ("cancelled", shop.cancelled),
                ("invalid", shop.invalid),
                ("expired", shop.expired),
                ("revenue", shop.revenue),
                ("refunds", shop.refunds),
                ("late_refunds", shop.late_refunds),
            ],
            &[],
        ));
        for (seller, figures) in &added.sellers {
            updates.extend(add(
                table,
                sellers_pk(day),
                format!("{seller}#{shard}"),
                &[
                    ("orders", figures.orders),
                    ("units", figures.units),
                    ("revenue", figures.revenue),
                    ("refunds", figures.refunds),
                ],
                &[("seller_id", seller.to_string())],
            ));
        }
        for (sku, figures) in &added.products {
            updates.extend(add(
                table,
                products_pk(day),
                format!("{sku}#{shard}"),
                &[("units", figures.units), ("revenue", figures.revenue)],
                &[("product_id", sku.to_string())],
            ));
        }
        if let Some((user, figures)) = &added.customer {
            let customer = customer_key(user);
            updates.extend(add(
                table,
                text(&customer, "pk").to_owned(),
                text(&customer, "sk").to_owned(),
                &[
                    ("orders", figures.orders),
                    ("paid_orders", figures.paid_orders),
                    ("spent", figures.spent),
                    ("refunded", figures.refunded),
                ],
                &[("user_id", user.to_string())],
            ));
            if let Some(at) = added.ordered_at {
                self.note_last_order(user, at).await?;
            }
        }
        // Each chunk with its own claim: a replay finds every chunk already counted.
        let mut first_is_new = false;
        for (n, chunk) in updates.chunks(MAX_TRANSACTION_ITEMS - 1).enumerate() {
            let claim_id = if n == 0 { event_id.to_owned() } else { format!("{event_id}#{n}") };
            let mut items = vec![self.claim(&claim_id)?];
            items.extend(chunk.iter().cloned());
            let new = match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
                Ok(_) => true,
                Err(err) => {
                    let claimed = matches!(
                        err.as_service_error(),
                        Some(TransactWriteItemsError::TransactionCanceledException(cancelled))
                            if cancelled.cancellation_reasons().first().and_then(|reason| reason.code()) == Some("ConditionalCheckFailed")
                    );
                    if !claimed {
                        return Err(classify(err));
                    }
                    false
                }
            };
            if n == 0 {
                first_is_new = new;
            }
        }
        Ok(first_is_new)
    }

    async fn day_figures(&self, days: &[NaiveDate]) -> Result<BTreeMap<NaiveDate, DayFigures>, StoreError> {
        let keys: Vec<Item> = days
            .iter()
            .flat_map(|day| (0..DAY_SHARDS).map(move |shard| key(day_pk(*day), &format!("SHARD#{shard}"))))
            .collect();
        let mut figures: BTreeMap<NaiveDate, DayFigures> = days.iter().map(|day| (*day, DayFigures::default())).collect();
        for item in self.batch_get(&self.orders_table, keys, Read::Strong).await? {
            let Some(day) = text(&item, "pk").strip_prefix("ANALYTICS#DAY#").and_then(|day| day.parse().ok()) else {
                continue;
            };
            figures.entry(day).or_default().add(&DayFigures {
                placed: number(&item, "placed"),
                paid: number(&item, "paid"),
                cancelled: number(&item, "cancelled"),
                invalid: number(&item, "invalid"),
                expired: number(&item, "expired"),
                revenue: number(&item, "revenue"),
                refunds: number(&item, "refunds"),
                late_refunds: number(&item, "late_refunds"),
            });
        }
        Ok(figures)
    }

    async fn seller_figures(&self, day: NaiveDate) -> Result<BTreeMap<SellerId, SellerFigures>, StoreError> {
        let mut figures: BTreeMap<SellerId, SellerFigures> = BTreeMap::new();
        for item in self.all_items(sellers_pk(day)).await? {
            let Ok(seller) = SellerId::parse(text(&item, "seller_id")) else {
                continue;
            };
            figures.entry(seller).or_default().add(&SellerFigures {
                orders: number(&item, "orders"),
                units: number(&item, "units"),
                revenue: number(&item, "revenue"),
                refunds: number(&item, "refunds"),
            });
        }
        Ok(figures)
    }

    async fn customer_figures(&self, user: &UserId) -> Result<(CustomerFigures, Option<DateTime<Utc>>), StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.orders_table)
            .set_key(Some(customer_key(user)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        let item = output.item.unwrap_or_default();
        let figures = CustomerFigures {
            orders: number(&item, "orders"),
            paid_orders: number(&item, "paid_orders"),
            spent: number(&item, "spent"),
            refunded: number(&item, "refunded"),
        };
        let last = DateTime::parse_from_rfc3339(text(&item, "last_order_at"))
            .ok()
            .map(|at| at.with_timezone(&Utc));
        Ok((figures, last))
    }

    async fn product_figures(&self, day: NaiveDate) -> Result<BTreeMap<Sku, ProductFigures>, StoreError> {
        let mut figures: HashMap<Sku, ProductFigures> = HashMap::new();
        for item in self.all_items(products_pk(day)).await? {
            let Ok(sku) = Sku::parse(text(&item, "product_id")) else {
                continue;
            };
            let entry = figures.entry(sku).or_default();
            entry.units += number(&item, "units");
            entry.revenue += number(&item, "revenue");
        }
        Ok(figures.into_iter().collect())
    }
}
