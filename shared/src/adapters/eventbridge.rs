//! The event bus on EventBridge: `PutEvents`, ten entries to a call, reporting the entries the
//! bus did not take so that the caller retries exactly those.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;

use crate::domain::events::{DomainEvent, EVENT_SOURCE};
use crate::ports::{EventBus, EventBusError};

/// Entries one PutEvents call carries.
const PUT_BATCH: usize = 10;

#[derive(Debug, Clone)]
pub struct EventBridgeBus {
    client: Client,
    bus_name: String,
}

impl EventBridgeBus {
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
        }
    }
}

#[async_trait::async_trait]
impl EventBus for EventBridgeBus {
    async fn publish(&self, events: &[DomainEvent]) -> Result<Vec<usize>, EventBusError> {
        let mut failed = Vec::new();
        for (chunk_index, chunk) in events.chunks(PUT_BATCH).enumerate() {
            let entries = chunk
                .iter()
                .map(|event| {
                    let detail = serde_json::to_string(event).map_err(|err| EventBusError(Box::new(err)))?;
                    Ok(PutEventsRequestEntry::builder()
                        .event_bus_name(&self.bus_name)
                        .source(EVENT_SOURCE)
                        .detail_type(event.name.as_str())
                        .detail(detail)
                        .time(aws_smithy_types::DateTime::from_millis(event.occurred_at.timestamp_millis()))
                        .build())
                })
                .collect::<Result<Vec<_>, EventBusError>>()?;
            let output = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|err| EventBusError(Box::new(err)))?;
            // Result entries are in request order; a failed one carries an error code.
            for (index, entry) in output.entries().iter().enumerate() {
                if entry.error_code().is_some() {
                    failed.push(chunk_index * PUT_BATCH + index);
                }
            }
        }
        Ok(failed)
    }
}
