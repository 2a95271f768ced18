//! The notifications queue's consumer: customer- and seller-facing events, routed there by a
//! rule on the bus, each told to its recipients once.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};

use super::{each_message, order_event_step, StepFailure};
use crate::domain::events::DomainEvent;
use crate::service::actions::ActionError;
use crate::service::notifications::{notify, NotificationError};
use crate::service::App;

impl StepFailure for NotificationError {
    fn is_missing_order(&self) -> bool {
        matches!(self, Self::Action(ActionError::NotFound))
    }
}

#[derive(Debug, thiserror::Error)]
enum SendError {
    #[error("the event's detail is not a domain event")]
    Unreadable(#[source] serde_json::Error),
    #[error(transparent)]
    Notification(#[from] NotificationError),
}

impl StepFailure for SendError {
    fn is_missing_order(&self) -> bool {
        matches!(self, Self::Notification(err) if err.is_missing_order())
    }
}

pub async fn send(app: &App, event: SqsEvent) -> SqsBatchResponse {
    each_message(&event, |message| {
        order_event_step(message, "notifications", |_, detail| async move {
            let event: DomainEvent = serde_json::from_value(detail).map_err(SendError::Unreadable)?;
            Ok::<_, SendError>(notify(app.notifying(), &event).await? > 0)
        })
    })
    .await
}
