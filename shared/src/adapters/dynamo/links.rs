//! Order links: an order listed under each of its sellers and products.

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{index, order_id_of, order_key};
use super::records::{decode_order, to_item, OrderLinkRecord};
use super::{DynamoStore, Read};
use crate::adapters::classify;
use crate::domain::listing::sort_position;
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
