//! Order links: an order listed under each of its sellers and products.

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{index, order_id_of, order_key};
use super::records::{decode_order, to_item, OrderLinkRecord};
use super::{DynamoStore, Read};
use crate::adapters::classify;
use crate::domain::listing::{search_partition, search_text, sort_position, CustomerField};
use crate::domain::{Cursor, Order, OrderId, Page, Sku, Sort, SortField};
use crate::ports::{OrderLink, OrderLinks, StoreError};

#[async_trait::async_trait]
impl OrderLinks for DynamoStore {
    async fn link_products(&self, order: &Order) -> Result<(), StoreError> {
        let mut products: Vec<&Sku> = order.items.iter().map(|line| &line.product_id).collect();
        products.sort();
        products.dedup();
        let links: Vec<OrderLinkRecord> = products.into_iter().map(|sku| OrderLinkRecord::product(order, sku)).collect();
        self.put_links(&links).await
    }

    async fn list_linked_orders(&self, link: &OrderLink, limit: u16, after: Option<&Cursor>) -> Result<Page<Order>, StoreError> {
        let (index, attribute, value) = match link {
            OrderLink::Seller(seller) => (index::BY_SELLER_CREATED, "seller_key", seller.to_string()),
            OrderLink::Product(sku) => (index::BY_PRODUCT_CREATED, "product_key", sku.to_string()),
        };
        let mut query = self
            .client
            .query()
            .table_name(&self.orders_table)
            .index_name(index)
            .scan_index_forward(false)
            .limit(i32::from(limit) + 1)
            .expression_attribute_names("#link", attribute)
            .expression_attribute_values(":link", AttributeValue::S(value));
        query = match after {
            Some(cursor) => query
                .key_condition_expression("#link = :link AND created_key < :after")
                .expression_attribute_values(":after", AttributeValue::S(cursor.position.clone())),
            None => query.key_condition_expression("#link = :link"),
        };
        let output = query.send().await.map_err(classify)?;
        let mut ids: Vec<OrderId> = output
            .items()
            .iter()
            .filter_map(|item| item.get("pk").and_then(|v| v.as_s().ok()))
            .filter_map(|pk| order_id_of(pk))
            .collect();
        let listed = ids.len();
        let more = ids.len() > usize::from(limit);
        ids.truncate(usize::from(limit));
        let keys = ids.iter().map(|id| order_key(*id)).collect();
        let mut orders = self
            .batch_get(&self.orders_table, keys, Read::Strong)
            .await?
            .into_iter()
            .map(decode_order)
            .collect::<Result<Vec<_>, _>>()?;
        orders.sort_by_key(|order| std::cmp::Reverse(sort_position(order, SortField::CreatedAt)));
        let next = match (more, orders.last()) {
            (true, Some(last)) => Some(Cursor::after(last, Sort::DEFAULT)),
            _ => None,
        };
        let read = listed + orders.len();
        Ok(Page { items: orders, next, read })
    }

    async fn search_customers(
        &self,
        field: CustomerField,
        prefix: &str,
        limit: u16,
        after: Option<&str>,
    ) -> Result<(Vec<Order>, Option<String>), StoreError> {
        let (index, shard_attribute, key_attribute) = match field {
            CustomerField::Email => (index::BY_CUSTOMER_EMAIL, "email_shard", "email_key"),
            CustomerField::Name => (index::BY_CUSTOMER_NAME, "name_shard", "name_key"),
        };
        let Some(partition) = search_partition(field, prefix) else {
            return Ok((Vec::new(), None));
        };
        // A page starts after the last entry's index key and its order's key.
        let start = after.and_then(|cursor| {
            let (key, id) = cursor.rsplit_once('|')?;
            let mut start = order_key(OrderId::parse(id).ok()?);
            start.insert(shard_attribute.to_owned(), AttributeValue::S(partition.clone()));
            start.insert(key_attribute.to_owned(), AttributeValue::S(key.to_owned()));
            Some(start)
        });
        let output = self
            .client
            .query()
            .table_name(&self.orders_table)
            .index_name(index)
            .key_condition_expression("#shard = :shard AND begins_with(#key, :prefix)")
            .expression_attribute_names("#shard", shard_attribute)
            .expression_attribute_names("#key", key_attribute)
            .expression_attribute_values(":shard", AttributeValue::S(partition))
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
            .scan_index_forward(false)
            .limit(i32::from(limit))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify)?;
        let entries: Vec<(OrderId, String)> = output
            .items()
            .iter()
            .filter_map(|item| {
                let id = order_id_of(item.get("pk")?.as_s().ok()?)?;
                Some((id, item.get(key_attribute)?.as_s().ok()?.clone()))
            })
            .collect();
        let keys = entries.iter().map(|(id, _)| order_key(*id)).collect();
        let mut found: std::collections::HashMap<OrderId, Order> = self
            .batch_get(&self.orders_table, keys, Read::Strong)
            .await?
            .into_iter()
            .map(|item| decode_order(item).map(|order| (order.id, order)))
            .collect::<Result<_, _>>()?;
        let next = output
            .last_evaluated_key()
            .and(entries.last())
            .map(|(id, key)| format!("{key}|{id}"));
        // In the index's order. The index is eventually consistent: an order whose personal
        // data was erased (or changed) since is left out.
        let still_matches = |order: &Order| {
            let text = match field {
                CustomerField::Email => order.customer_email.as_ref().map(|email| email.as_str()),
                CustomerField::Name => order.customer_name.as_deref(),
            };
            text.is_some_and(|text| search_text(text).starts_with(prefix))
        };
        let orders = entries
            .iter()
            .filter_map(|(id, _)| found.remove(id))
            .filter(|order| still_matches(order))
            .collect();
        Ok((orders, next))
    }
}

impl DynamoStore {
    /// Writes index links (each only ever says the same, so writing one again changes nothing).
    pub(super) async fn put_links(&self, links: &[OrderLinkRecord]) -> Result<(), StoreError> {
        for link in links {
            self.client
                .put_item()
                .table_name(&self.orders_table)
                .set_item(Some(to_item(link)?))
                .send()
                .await
                .map_err(classify)?;
        }
        Ok(())
    }
}
