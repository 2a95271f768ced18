//! Listing orders from the index that fits the query: one Query per index partition and page,
//! merged in sort order across shards. Every request reads at most its `read_budget` items: what
//! the index key cannot filter is filtered after the read, so a page may come back short, with
//! a cursor where the reading stopped.

use std::collections::{HashMap, VecDeque};

use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::try_join_all;

use super::keys::index;
use super::keys::Item;
use super::records::{decode_order, Sharded};
use super::DynamoStore;
use crate::adapters::classify;
use crate::domain::listing::{sort_position, timestamp_key};
use crate::domain::{Cursor, ListQuery, Order, Page, SortField};
use crate::ports::StoreError;

/// The index, and its partitions, that serve a query.
struct Plan {
    index: &'static str,
    hash_name: &'static str,
    partitions: Vec<String>,
    range_name: &'static str,
}

impl Plan {
    fn for_query(query: &ListQuery) -> Self {
        let range_name = match query.sort.field {
            SortField::CreatedAt => "created_key",
            SortField::Total => "total_key",
        };
        let by_time = query.sort.field == SortField::CreatedAt;
        let pick = |created: &'static str, total: &'static str| if by_time { created } else { total };
        match (&query.owner, &query.status) {
            // One user's orders: their own partition; a status filter is applied after the read.
            (Some(user), _) => Self {
                index: pick(index::BY_USER_CREATED, index::BY_USER_TOTAL),
                hash_name: "user_id",
                partitions: vec![user.to_string()],
                range_name,
            },
            // Each status's partitions, merged in sort order like the shards of one status.
            (None, Some(statuses)) => Self {
                index: pick(index::BY_STATUS_CREATED, index::BY_STATUS_TOTAL),
                hash_name: "status_shard",
                partitions: statuses
                    .statuses()
                    .iter()
                    .flat_map(|status| Sharded::Status(*status).all())
                    .collect(),
                range_name,
            },
            (None, None) => Self {
                index: pick(index::BY_SHARD_CREATED, index::BY_SHARD_TOTAL),
                hash_name: "list_shard",
                partitions: Sharded::AllOrders.all().collect(),
                range_name,
            },
        }
    }
}

/// The range of sort positions to read: the time window (when sorting by time) merged with the
/// cursor. `None` when it is empty.
fn range(query: &ListQuery) -> Option<(Option<String>, Option<String>)> {
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
    match (&low, &high) {
        (Some(low), Some(high)) if low > high => None,
        _ => Some((low, high)),
    }
}

/// One index partition read in sort order, a Query page at a time. Items are kept unfiltered,
/// so that the merge examines every item it read in sort order and a short page's cursor is
/// exact.
struct Partition<'a> {
    store: &'a DynamoStore,
    query: &'a ListQuery,
    plan: &'a Plan,
    hash_value: String,
    low: Option<String>,
    high: Option<String>,
    buffered: VecDeque<Order>,
    next_page: Option<Item>,
    exhausted: bool,
    /// Items this partition read.
    read: usize,
}

impl Partition<'_> {
    /// The next order of this partition, reading a page if the budget allows; `Ok(None)` when
    /// the partition is done, `Err(Exhausted)` when more is there but the budget is spent.
    async fn peek(&mut self, budget: &mut usize) -> Result<Option<&Order>, Stop> {
        while self.buffered.is_empty() && !self.exhausted {
            if *budget == 0 {
                return Err(Stop::Budget);
            }
            self.read_page(budget).await.map_err(Stop::Store)?;
        }
        Ok(self.buffered.front())
    }

    fn pop(&mut self) -> Option<Order> {
        self.buffered.pop_front()
    }

    async fn read_page(&mut self, budget: &mut usize) -> Result<(), StoreError> {
        let page_size = (usize::from(self.query.limit) + 1).min(*budget);
        let mut names = HashMap::from([("#h".to_owned(), self.plan.hash_name.to_owned())]);
        let mut values = HashMap::from([(":h".to_owned(), AttributeValue::S(self.hash_value.clone()))]);
        let range = match (&self.low, &self.high) {
            (Some(low), Some(high)) => {
                values.insert(":low".into(), AttributeValue::S(low.clone()));
                values.insert(":high".into(), AttributeValue::S(high.clone()));
                " AND #r BETWEEN :low AND :high"
            }
            (Some(low), None) => {
                values.insert(":low".into(), AttributeValue::S(low.clone()));
                " AND #r >= :low"
            }
            (None, Some(high)) => {
                values.insert(":high".into(), AttributeValue::S(high.clone()));
                " AND #r <= :high"
            }
            (None, None) => "",
        };
        if !range.is_empty() {
            names.insert("#r".to_owned(), self.plan.range_name.to_owned());
        }
        let output = self
            .store
            .client
            .query()
            .table_name(&self.store.orders_table)
            .index_name(self.plan.index)
            .key_condition_expression(format!("#h = :h{range}"))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(!self.query.sort.descending)
            .limit(i32::try_from(page_size).unwrap_or(i32::MAX))
            .set_exclusive_start_key(self.next_page.take())
            .send()
            .await
            .map_err(classify)?;
        self.next_page = output.last_evaluated_key;
        self.exhausted = self.next_page.is_none();
        let items = output.items.unwrap_or_default();
        *budget = budget.saturating_sub(items.len().max(1));
        self.read += items.len();
        let after = self.query.after.as_ref().map(|cursor| cursor.position.as_str());
        for item in items {
            let order = decode_order(item)?;
            // The cursor's own order was on the previous page.
            if Some(sort_position(&order, self.query.sort.field).as_str()) != after {
                self.buffered.push_back(order);
            }
        }
        Ok(())
    }
}

enum Stop {
    Budget,
    Store(StoreError),
}

pub(super) async fn list(store: &DynamoStore, query: &ListQuery) -> Result<Page<Order>, StoreError> {
    let Some((low, high)) = range(query) else {
        return Ok(Page {
            items: Vec::new(),
            next: None,
            read: 0,
        });
    };
    let plan = Plan::for_query(query);
    let mut partitions: Vec<Partition<'_>> = plan
        .partitions
        .iter()
        .map(|hash_value| Partition {
            store,
            query,
            plan: &plan,
            hash_value: hash_value.clone(),
            low: low.clone(),
            high: high.clone(),
            buffered: VecDeque::new(),
            next_page: None,
            exhausted: false,
            read: 0,
        })
        .collect();
    // Every partition's first page at once: one round trip of parallel Queries.
    let first_pages = (query.read_budget / partitions.len().max(1)).max(1);
    try_join_all(partitions.iter_mut().map(|partition| async move {
        let mut share = first_pages;
        partition.read_page(&mut share).await
    }))
    .await?;
    let mut budget = query.read_budget.saturating_sub(partitions.iter().map(|p| p.buffered.len()).sum());

    let limit = usize::from(query.limit);
    let mut items = Vec::with_capacity(limit);
    // The position of the last order examined (admitted or not).
    let mut last_examined: Option<String> = None;
    let mut more = false;
    loop {
        let mut best: Option<(usize, String)> = None;
        let mut spent = false;
        for (index, partition) in partitions.iter_mut().enumerate() {
            match partition.peek(&mut budget).await {
                Ok(Some(order)) => {
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
                Ok(None) => {}
                Err(Stop::Budget) => spent = true,
                Err(Stop::Store(err)) => return Err(err),
            }
        }
        // A partition that could not read on may hold orders before the best one: stop here.
        if spent {
            more = last_examined.is_some() || best.is_some();
            break;
        }
        let Some((index, position)) = best else { break };
        if items.len() == limit {
            more = true;
            break;
        }
        if let Some(order) = partitions[index].pop() {
            if query.admits(&order) {
                items.push(order);
            }
            last_examined = Some(position);
        }
    }
    let next = if more {
        match (items.len() == limit, items.last(), last_examined) {
            (true, Some(order), _) => Some(Cursor::after(order, query.sort)),
            (_, _, Some(position)) => Some(Cursor {
                sort: query.sort,
                position,
            }),
            _ => None,
        }
    } else {
        None
    };
    let read = partitions.iter().map(|partition| partition.read).sum();
    Ok(Page { items, next, read })
}
