//! The outbox: a consumer of the orders table's stream that publishes one domain event per
//! status change to the event bus. State changes are written to DynamoDB only; this is how they
//! become events, so no handler writes and then "also" sends an event it could lose. Entries the
//! bus refuses are retried; a record whose events still cannot be published is reported (the
//! stream retries it, then its failure destination keeps it), never dropped.

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;

use super::stream::{each_record, RecordFailure};
use crate::adapters::dynamo::{is_late_payment_image, late_payment_from_image, order_from_image};
use crate::domain::events::{events_of, events_of_late_payment, DomainEvent};
use crate::service::App;

pub async fn publish_events(app: &App, event: Event) -> DynamoDbEventResponse {
    each_record(event, "publish-events", |record| async move {
        if record.event_name != "INSERT" && record.event_name != "MODIFY" {
            return Ok(());
        }
        let (old_image, new_image) = (record.change.old_image, record.change.new_image);
        let (order_id, events) = if is_late_payment_image(&new_image) {
            let Some(new) = late_payment_from_image(new_image)? else {
                return Ok(());
            };
            let old = late_payment_from_image(old_image)?;
            (new.order_id, events_of_late_payment(old.as_ref(), &new))
        } else {
            let Some(new) = order_from_image(new_image)? else {
                return Ok(());
            };
            let old = order_from_image(old_image)?;
            (new.id, events_of(old.as_ref(), &new))
        };
        if events.is_empty() {
            return Ok(());
        }
        publish_all(app, events)
            .await
            .map_err(|err| RecordFailure::Failed(format!("could not publish the events of order {order_id}: {err}")))
    })
    .await
}

/// Publishes every event, retrying the entries the bus did not take.
async fn publish_all(app: &App, events: Vec<DomainEvent>) -> Result<(), String> {
    let policy = app.contention_retry;
    let refused = policy
        .drain(events, move |pending| async move {
            let failed = app.events.publish(&pending).await.map_err(|err| crate::error_chain(&err))?;
            Ok::<_, String>(failed.into_iter().filter_map(|index| pending.get(index).cloned()).collect())
        })
        .await?;
    match refused.len() {
        0 => Ok(()),
        left => Err(format!("the bus refused {left} events after {} tries", policy.attempts)),
    }
}
