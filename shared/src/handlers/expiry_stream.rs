//! DynamoDB stream consumer on the inventory table. TTL only deletes an ACTIVE reservation when
//! the sweeper missed it for a day (its backstop `ttl`); this consumer then releases its stock
//! and cancels its order, exactly once. Every other record is ignored. The application itself
//! never deletes reservations, so a removed ACTIVE reservation can only be TTL's doing.

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use tracing::Instrument;

use crate::adapters::dynamo::reservation_from_image;
use crate::app::App;
use crate::domain::{Actor, ReservationStatus};
use crate::service::actions::{release_deleted_reservation, ActionError};

pub const RELEASER: &str = "reservation-expiry";

pub async fn reservation_expiry(app: &App, event: Event) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    for record in event.records {
        if record.event_name != "REMOVE" {
            continue;
        }
        let Some(reservation) = reservation_from_image(record.change.old_image) else {
            continue;
        };
        if reservation.status != ReservationStatus::Active {
            continue;
        }
        let span = tracing::info_span!("stream_record", order_id = %reservation.order_id, event_id = %record.event_id);
        let outcome = release_deleted_reservation(app, &reservation, &Actor::system(RELEASER))
            .instrument(span.clone())
            .await;
        let _entered = span.enter();
        match outcome {
            Ok(released) => tracing::info!(released, "TTL-deleted reservation handled"),
            // Retrying cannot make a missing order appear: record it loudly and move on.
            Err(ActionError::NotFound) => tracing::error!("TTL deleted a reservation whose order does not exist"),
            Err(err) => {
                tracing::warn!(error = %crate::error_chain(&err), "could not release a TTL-deleted reservation; retrying from here");
                // Stream order matters: report this record and stop, so processing resumes here.
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = record.change.sequence_number.clone();
                response.batch_item_failures.push(failure);
                break;
            }
        }
    }
    response
}
