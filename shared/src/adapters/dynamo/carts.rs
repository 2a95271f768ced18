//! Carts: one item per customer, written conditioned on its version.

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{cart_pk, key, CART_SK};
use super::records::{to_item, CartRecord};
use super::DynamoStore;
use crate::adapters::classify;
use crate::domain::cart::Cart;
use crate::domain::UserId;
use crate::ports::{CartStore, StoreError};

#[async_trait::async_trait]
impl CartStore for DynamoStore {
    async fn get_cart(&self, user: &UserId) -> Result<Option<Cart>, StoreError> {
        let record: Option<CartRecord> = self.read_order_table(key(cart_pk(user), CART_SK)).await?;
        Ok(record.map(|record| record.cart))
    }

    async fn put_cart(&self, cart: &mut Cart) -> Result<bool, StoreError> {
        let read_at = cart.version;
        let (condition, version) = match read_at {
            0 => ("attribute_not_exists(pk)", None),
            _ => ("version = :version", Some(AttributeValue::N(read_at.to_string()))),
        };
        let written = if cart.lines.is_empty() {
            let deleted = self
                .client
                .delete_item()
                .table_name(&self.orders_table)
                .set_key(Some(key(cart_pk(&cart.user_id), CART_SK)))
                .condition_expression(condition)
                .set_expression_attribute_values(version.map(|v| [(":version".to_owned(), v)].into()))
                .send()
                .await;
            match deleted {
                Ok(_) => true,
                Err(err) if err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => false,
                Err(err) => return Err(classify(err)),
            }
        } else {
            let mut stored = cart.clone();
            stored.version = read_at + 1;
            let put = self
                .client
                .put_item()
                .table_name(&self.orders_table)
                .set_item(Some(to_item(&CartRecord::new(&stored))?))
                .condition_expression(condition)
                .set_expression_attribute_values(version.map(|v| [(":version".to_owned(), v)].into()))
                .send()
                .await;
            match put {
                Ok(_) => true,
                Err(err) if err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => false,
                Err(err) => return Err(classify(err)),
            }
        };
        if written {
            cart.version = if cart.lines.is_empty() { 0 } else { read_at + 1 };
        }
        Ok(written)
    }
}
