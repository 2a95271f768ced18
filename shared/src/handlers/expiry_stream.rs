//! DynamoDB stream consumer on the inventory table. TTL only deletes an ACTIVE reservation when
//! the sweeper missed it for a day (its backstop `ttl`); this consumer then releases its stock
//! and cancels its order, exactly once. Every other record is ignored. The application itself
//! never deletes reservations, so a removed ACTIVE reservation can only be TTL's doing.

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use tracing::Instrument;

use super::stream::{each_record, RecordFailure};
use crate::adapters::dynamo::reservation_from_image;
use crate::domain::{Actor, ReservationStatus};
use crate::service::actions::{release_deleted_reservation, ActionError};
use crate::service::App;

pub const RELEASER: &str = "reservation-expiry";

pub async fn reservation_expiry(app: &App, event: Event) -> DynamoDbEventResponse {
    each_record(event, RELEASER, |record| async move {
        if record.event_name != "REMOVE" {
            return Ok(());
        }
        let Some(reservation) = reservation_from_image(record.change.old_image)? else {
            return Ok(());
        };
        if reservation.status != ReservationStatus::Active {
            return Ok(());
        }
        let span = tracing::info_span!("stream_record", order_id = %reservation.order_id, event_id = %record.event_id);
        let outcome = release_deleted_reservation(app.order_changes(), &reservation, &Actor::system(RELEASER))
            .instrument(span.clone())
            .await;
        let _entered = span.enter();
        match outcome {
            Ok(released) => tracing::info!(released, "TTL-deleted reservation handled"),
            // Retrying cannot make a missing order appear: record it loudly and move on.
            Err(ActionError::NotFound) => tracing::error!("TTL deleted a reservation whose order does not exist"),
            Err(err) => return Err(RecordFailure::failed(&err)),
        }
        Ok(())
    })
    .await
}
