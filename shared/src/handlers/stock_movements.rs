//! DynamoDB stream consumer on the inventory table: every change of a product's stock counters
//! (an admin's set or adjustment, a hold, a sale, a release) becomes an entry of its movement
//! history, recorded once per stream record, so a replayed record changes nothing. Recording it
//! here rather than in the order's transaction keeps placement at one transaction of at most
//! 53 items and the history off the request path.

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};

use crate::adapters::dynamo::movement_from_images;
use crate::app::App;

pub async fn stock_movements(app: &App, event: Event) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    for record in event.records {
        if record.event_name != "INSERT" && record.event_name != "MODIFY" {
            continue;
        }
        let old = (!record.change.old_image.is_empty()).then_some(record.change.old_image);
        let Some(movement) = movement_from_images(old, record.change.new_image) else {
            continue;
        };
        let sequence = record.change.sequence_number.clone().unwrap_or_default();
        if let Err(err) = app.catalogue.record_movement(&movement, &sequence).await {
            tracing::warn!(product_id = %movement.product_id, error = %crate::error_chain(&err), "could not record a stock movement; retrying from here");
            // Stream order matters: report this record and stop, so processing resumes here.
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(sequence);
            response.batch_item_failures.push(failure);
            break;
        }
    }
    response
}
