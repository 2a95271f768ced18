//! DynamoDB stream consumer on the inventory table: every change of a product's stock counters
//! (an admin's set or adjustment, a hold, a sale, a release) becomes an entry of its movement
//! history, and every change an admin makes to a product or a seller an entry of its audit
//! trail, each recorded once per stream record, so a replayed record changes nothing; and a
//! product's new or changed name reaches the catalogue's search index. Recording it
//! here rather than in the order's transaction keeps placement at one transaction of at most
//! 53 items and the history off the request path.

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;

use super::stream::{each_record, RecordFailure};
use crate::adapters::dynamo::{audit_from_images, movement_from_images, name_words_from_images};
use crate::service::App;

pub async fn stock_movements(app: &App, event: Event) -> DynamoDbEventResponse {
    each_record(event, "stock-movements", |record| async move {
        if record.event_name != "INSERT" && record.event_name != "MODIFY" {
            return Ok(());
        }
        let sequence = record.change.sequence_number.unwrap_or_default();
        if let Some(entry) = audit_from_images(&record.change.old_image, &record.change.new_image) {
            app.audit
                .record_audit(&entry, &sequence)
                .await
                .map_err(|err| RecordFailure::failed(&err))?;
        }
        if let Some(words) = name_words_from_images(&record.change.old_image, &record.change.new_image) {
            app.search.index_words(&words).await.map_err(|err| RecordFailure::failed(&err))?;
        }
        let Some(movement) = movement_from_images(record.change.old_image, record.change.new_image)? else {
            return Ok(());
        };
        app.movements
            .record_movement(&movement, &sequence)
            .await
            .map_err(|err| RecordFailure::failed(&err))
    })
    .await
}
