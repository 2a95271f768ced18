//! Sellers: one item each, written whole by an admin.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, ReturnValue, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

use super::catalogue::IndexPartition;
use super::keys::{index, seller_key, user_seller_key, Entity, Item, SELLER_LIST_PARTITION};
use super::records::{to_attribute, to_item, SellerRecord, UserSellerRecord};
use super::{encode_failure, DynamoStore, Read};
use crate::adapters::classify;
use crate::domain::seller::{Seller, SellerUpdate, SellerUser};
use crate::domain::{Actor, SellerId};
use crate::ports::{SellerStore, StoreError, UserClaim, UsersWritten};

#[async_trait::async_trait]
impl SellerStore for DynamoStore {
    async fn put_seller(&self, update: &SellerUpdate, actor: &Actor, now: DateTime<Utc>) -> Result<Seller, StoreError> {
        // One write whatever was there: the first registration stays in `created_at`.
        let mut set = "SET seller_id = :id, seller_list = :list, #name = :name, email = :email, active = :active, updated_at = :now, \
                       updated_by = :actor, created_at = if_not_exists(created_at, :now), entity = :entity ADD version :one"
            .to_owned();
        let mut request = self
            .client
            .update_item()
            .table_name(&self.inventory_table)
            .set_key(Some(seller_key(&update.seller_id)))
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":id", AttributeValue::S(update.seller_id.to_string()))
            .expression_attribute_values(":list", AttributeValue::S(SELLER_LIST_PARTITION.to_owned()))
            .expression_attribute_values(":entity", Entity::Seller.attribute())
            .expression_attribute_values(":name", AttributeValue::S(update.name.clone()))
            .expression_attribute_values(":email", AttributeValue::S(update.email.to_string()))
            .expression_attribute_values(":active", AttributeValue::Bool(update.active))
            .expression_attribute_values(":now", to_attribute(&now)?)
            .expression_attribute_values(":actor", AttributeValue::S(actor.as_str().to_owned()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(ReturnValue::AllNew);
        // What is absent goes back to the configured default.
        let mut removed = Vec::new();
        match update.commission_rate {
            Some(rate) => {
                set = set.replace(" ADD", ", commission_rate = :rate ADD");
                request = request.expression_attribute_values(":rate", AttributeValue::S(rate.to_string()));
            }
            None => removed.push("commission_rate"),
        }
        match update.shipping_fee {
            Some(fee) => {
                set = set.replace(" ADD", ", shipping_fee = :fee ADD");
                request = request.expression_attribute_values(":fee", to_attribute(&fee)?);
            }
            None => removed.push("shipping_fee"),
        }
        if !removed.is_empty() {
            set = format!("{set} REMOVE {}", removed.join(", "));
        }
        let output = request.update_expression(set).send().await.map_err(classify)?;
        let record: SellerRecord = serde_dynamo::from_item(output.attributes.unwrap_or_default()).map_err(encode_failure)?;
        Ok(record.seller)
    }

    async fn list_sellers(&self, limit: u16, after: Option<&SellerId>) -> Result<(Vec<Seller>, Option<SellerId>), StoreError> {
        let partition = IndexPartition {
            index: index::BY_SELLER_LIST,
            attribute: "seller_list",
            value: SELLER_LIST_PARTITION.to_owned(),
            sorted_by: "seller_id",
        };
        let start = after.map(|seller| (seller_key(seller), seller.to_string()));
        let (ids, more) = self.index_page(&partition, limit, start).await?;
        let ids: Vec<SellerId> = ids.iter().filter_map(|id| SellerId::parse(id).ok()).collect();
        let mut found = self.get_sellers(&ids).await?;
        let sellers = ids.iter().filter_map(|id| found.remove(id)).collect();
        Ok((sellers, more.then(|| ids.last().cloned()).flatten()))
    }

    async fn get_sellers(&self, ids: &[SellerId]) -> Result<HashMap<SellerId, Seller>, StoreError> {
        let mut unique: Vec<&SellerId> = ids.iter().collect();
        unique.sort();
        unique.dedup();
        let keys: Vec<Item> = unique.into_iter().map(seller_key).collect();
        let mut sellers = HashMap::with_capacity(keys.len());
        for item in self.batch_get(&self.inventory_table, keys, Read::Strong).await? {
            let record: SellerRecord = serde_dynamo::from_item(item).map_err(encode_failure)?;
            sellers.insert(record.seller.seller_id.clone(), record.seller);
        }
        Ok(sellers)
    }

    async fn set_seller_users(
        &self,
        seller: &Seller,
        users: Vec<SellerUser>,
        claim: UserClaim<'_>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<UsersWritten, StoreError> {
        let list = Update::builder()
            .table_name(&self.inventory_table)
            .set_key(Some(seller_key(&seller.seller_id)))
            .update_expression("SET #users = :users, updated_at = :now, updated_by = :actor ADD version :one")
            .condition_expression("version = :read")
            .expression_attribute_names("#users", "users")
            .expression_attribute_values(":users", to_attribute(&users)?)
            .expression_attribute_values(":now", to_attribute(&now)?)
            .expression_attribute_values(":actor", AttributeValue::S(actor.as_str().to_owned()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":read", AttributeValue::N(seller.version.to_string()))
            .build()
            .map_err(encode_failure)?;
        // Another seller's claim is left alone either way.
        let held_here = "attribute_not_exists(pk) OR seller_id = :seller";
        let seller_id = AttributeValue::S(seller.seller_id.to_string());
        let claim = match claim {
            UserClaim::Take(user_id) => TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&self.inventory_table)
                        .set_item(Some(to_item(&UserSellerRecord::new(user_id, &seller.seller_id))?))
                        .condition_expression(held_here)
                        .expression_attribute_values(":seller", seller_id)
                        .build()
                        .map_err(encode_failure)?,
                )
                .build(),
            UserClaim::Release(user_id) => TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(&self.inventory_table)
                        .set_key(Some(user_seller_key(user_id)))
                        .condition_expression(held_here)
                        .expression_attribute_values(":seller", seller_id)
                        .build()
                        .map_err(encode_failure)?,
                )
                .build(),
        };
        let written = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(list).build())
            .transact_items(claim)
            .send()
            .await;
        let err = match written {
            Ok(_) => {
                return Ok(UsersWritten::Written(Seller {
                    users,
                    updated_at: now,
                    version: seller.version + 1,
                    ..seller.clone()
                }))
            }
            Err(err) => err,
        };
        let refused = |index: usize| match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
                .cancellation_reasons()
                .get(index)
                .is_some_and(|reason| reason.code() == Some("ConditionalCheckFailed")),
            _ => false,
        };
        if refused(0) {
            Ok(UsersWritten::SellerChanged)
        } else if refused(1) {
            Ok(UsersWritten::ClaimedByAnother)
        } else {
            Err(classify(err))
        }
    }
}
