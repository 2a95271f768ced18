//! The notification log: one claim per event and recipient.

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};

use super::keys::{key, prefix};
use super::records::{to_attribute, to_item, NotificationRecord};
use super::DynamoStore;
use crate::adapters::classify;
use crate::ports::{NotificationClaim, NotificationLog, StoreError};

#[async_trait::async_trait]
impl NotificationLog for DynamoStore {
    async fn claim_notification(
        &self,
        event_id: &str,
        recipient: &str,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<NotificationClaim, StoreError> {
        let claimed = self
            .client
            .put_item()
            .table_name(&self.orders_table)
            .set_item(Some(to_item(&NotificationRecord::claim(event_id, recipient, now))?))
            .condition_expression("attribute_not_exists(pk) OR (#state = :sending AND claimed_at_ms < :stale)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sending", AttributeValue::S(NotificationRecord::SENDING.to_owned()))
            .expression_attribute_values(":stale", AttributeValue::N(stale_before.timestamp_millis().to_string()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match claimed {
            Ok(_) => Ok(NotificationClaim::Claimed),
            Err(err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    let sending = failed
                        .item()
                        .and_then(|item| item.get("state"))
                        .and_then(|state| state.as_s().ok())
                        .is_some_and(|state| state == NotificationRecord::SENDING);
                    Ok(if sending {
                        NotificationClaim::InFlight
                    } else {
                        NotificationClaim::Done
                    })
                }
                _ => Err(classify(err)),
            },
        }
    }

    async fn settle_notification(&self, event_id: &str, recipient: &str, outcome: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.orders_table)
            .set_key(Some(key(format!("{}{event_id}", prefix::NOTIFICATION), recipient)))
            .update_expression("SET #state = :outcome, settled_at = :now")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":outcome", AttributeValue::S(outcome.to_owned()))
            .expression_attribute_values(":now", to_attribute(&now)?)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}
