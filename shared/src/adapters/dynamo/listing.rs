//! Listing orders from the index that fits the query: one Query per index partition and page,
//! merged in sort order across the all-orders shards.

use std::collections::{HashMap, VecDeque};

use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::try_join_all;

use super::index;
use super::records::{decode_order, Item, Sharded};
use super::DynamoStore;
use crate::adapters::classify;
use crate::domain::listing::{sort_position, timestamp_key};
use crate::domain::{Cursor, ListQuery, Order, Page, SortField};
use crate::ports::StoreError;

/// One index partition read in sort order, a Query page at a time.
struct Partition<'a> {
    store: &'a DynamoStore,
    query: &'a ListQuery,
    index: &'static str,
    hash_name: &'static str,
    hash_value: String,
    range_name: &'static str,
    buffered: VecDeque<Order>,
    next_page: Option<Item>,
    exhausted: bool,
}

impl<'a> Partition<'a> {
    fn new(store: &'a DynamoStore, query: &'a ListQuery, hash_value: String) -> Self {
        let by_user = query.owner.is_some();
        let (index, range_name) = match (by_user, query.sort.field) {
            (true, SortField::CreatedAt) => (index::BY_USER_CREATED, "created_key"),
            (true, SortField::Total) => (index::BY_USER_TOTAL, "total_key"),
            (false, SortField::CreatedAt) => (index::BY_SHARD_CREATED, "created_key"),
            (false, SortField::Total) => (index::BY_SHARD_TOTAL, "total_key"),
        };
        let hash_name = if by_user { "user_id" } else { "list_shard" };
        Self {
            store,
            query,
            index,
            hash_name,
            hash_value,
            range_name,
            buffered: VecDeque::new(),
            next_page: None,
            exhausted: false,
        }
    }

    /// The next order of this partition that passes the filters, reading pages as needed.
    async fn peek(&mut self) -> Result<Option<&Order>, StoreError> {
        while self.buffered.is_empty() && !self.exhausted {
            self.read_page().await?;
        }
        Ok(self.buffered.front())
    }

    fn pop(&mut self) -> Option<Order> {
        self.buffered.pop_front()
    }

    async fn read_page(&mut self) -> Result<(), StoreError> {
        let (condition, names, values) = self.range_condition();
        let page_size = i32::from(self.query.limit) + 1;
        let output = self
            .store
            .client
            .query()
            .table_name(&self.store.orders_table)
            .index_name(self.index)
            .key_condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(!self.query.sort.descending)
            .limit(page_size)
            .set_exclusive_start_key(self.next_page.take())
            .send()
            .await
            .map_err(classify)?;
        self.next_page = output.last_evaluated_key;
        self.exhausted = self.next_page.is_none();
        let after = self.query.after.as_ref().map(|cursor| cursor.position.as_str());
        for item in output.items.unwrap_or_default() {
            let order = decode_order(item)?;
            // The cursor's own order was on the previous page.
            if Some(sort_position(&order, self.query.sort.field).as_str()) != after && self.query.admits(&order) {
                self.buffered.push_back(order);
            }
        }
        Ok(())
    }

    /// The key condition: this partition, within the time window (when sorting by time), and
    /// past the cursor. DynamoDB takes one range condition, so bounds are merged into it.
    fn range_condition(&self) -> (String, HashMap<String, String>, HashMap<String, AttributeValue>) {
        let query = self.query;
        let (mut low, mut high) = match query.sort.field {
            // '~' sorts after every character of a position, so `to` includes its own instant.
            SortField::CreatedAt => (query.from.map(timestamp_key), query.to.map(|to| format!("{}~", timestamp_key(to)))),
            SortField::Total => (None, None),
        };
        if let Some(cursor) = &query.after {
            let position = cursor.position.clone();
            if query.sort.descending {
                high = Some(high.map_or(position.clone(), |high| high.min(position)));
            } else {
                low = Some(low.map_or(position.clone(), |low| low.max(position)));
            }
        }
        let mut names = HashMap::from([("#h".to_owned(), self.hash_name.to_owned())]);
        let mut values = HashMap::from([(":h".to_owned(), AttributeValue::S(self.hash_value.clone()))]);
        let range = match (low, high) {
            (Some(low), Some(high)) => {
                values.insert(":low".into(), AttributeValue::S(low));
                values.insert(":high".into(), AttributeValue::S(high));
                " AND #r BETWEEN :low AND :high"
            }
            (Some(low), None) => {
                values.insert(":low".into(), AttributeValue::S(low));
                " AND #r >= :low"
            }
            (None, Some(high)) => {
                values.insert(":high".into(), AttributeValue::S(high));
                " AND #r <= :high"
            }
            (None, None) => "",
        };
        if !range.is_empty() {
            names.insert("#r".to_owned(), self.range_name.to_owned());
        }
        (format!("#h = :h{range}"), names, values)
    }
}

pub(super) async fn list(store: &DynamoStore, query: &ListQuery) -> Result<Page<Order>, StoreError> {
    let mut partitions: Vec<Partition<'_>> = match &query.owner {
        Some(user) => vec![Partition::new(store, query, user.to_string())],
        None => Sharded::AllOrders.all().map(|shard| Partition::new(store, query, shard)).collect(),
    };
    // Fill every partition's first page at once: one round trip of parallel Queries.
    try_join_all(
        partitions
            .iter_mut()
            .map(|partition| async move { partition.peek().await.map(|_| ()) }),
    )
    .await?;

    let limit = usize::from(query.limit);
    let mut items = Vec::with_capacity(limit);
    let mut more = false;
    loop {
        let mut best: Option<(usize, String)> = None;
        for (index, partition) in partitions.iter_mut().enumerate() {
            if let Some(order) = partition.peek().await? {
                let position = sort_position(order, query.sort.field);
                let better = match &best {
                    None => true,
                    Some((_, current)) if query.sort.descending => position > *current,
                    Some((_, current)) => position < *current,
                };
                if better {
                    best = Some((index, position));
                }
            }
        }
        let Some((index, _)) = best else { break };
        if items.len() == limit {
            more = true;
            break;
        }
        if let Some(order) = partitions[index].pop() {
            items.push(order);
        }
    }
    let next = if more {
        items.last().map(|order| Cursor::after(order, query.sort))
    } else {
        None
    };
    Ok(Page { items, next })
}
