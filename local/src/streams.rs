//! Polls a table's DynamoDB stream into its consumer, as Lambda's event source mapping does:
//! every shard read in order, records handed over in the Lambda event shape, and on a reported
//! failure the shard is read again from the failed record, after a pause, up to the
//! template's `MaximumRetryAttempts`; then the batch is described on the `OnFailure` queue and
//! the shard moves on.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::dynamodb::Event;
use aws_sdk_dynamodbstreams::operation::get_records::GetRecordsError;
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use orders_shared::handlers::StreamFunction;
use orders_shared::service::App;
use serde_json::{json, Value};

use crate::provision::REGION;

/// How the event source mapping treats a batch the function keeps failing.
#[derive(Debug, Clone)]
pub struct RetryRule {
    /// Retries after the first try; `None` retries until the record leaves the stream.
    pub max_retries: Option<u32>,
    /// The `OnFailure` destination queue's URL, with a client for it.
    pub on_failure: Option<(aws_sdk_sqs::Client, String)>,
}

/// Pause before a failed batch is tried again (Lambda also waits before it retries).
const RETRY_PAUSE: Duration = Duration::from_millis(500);
/// Most bytes of records one invocation carries: Lambda's 6 MB payload limit.
const MAX_EVENT_BYTES: usize = 6 * 1024 * 1024;

/// The bytes `value` takes as JSON, counted without keeping them.
fn json_size(value: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    serde_json::to_writer(&mut counter, value).map_or(usize::MAX, |()| counter.0)
}

/// How many records to read next, given the sizes of the last read's: as many as fill one
/// invocation at their average size, between 1 and the batch size.
fn read_limit(sizes: &[usize], batch_size: i32) -> i32 {
    let average = sizes.iter().sum::<usize>() / sizes.len().max(1);
    let fitting = MAX_EVENT_BYTES / average.max(1);
    i32::try_from(fitting).unwrap_or(i32::MAX).clamp(1, batch_size.max(1))
}

/// Consecutive ranges of items whose sizes add up to at most `max` each (an item larger than
/// `max` has a range of its own).
fn ranges_within(sizes: &[usize], max: usize) -> Vec<std::ops::Range<usize>> {
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    let mut bytes: usize = 0;
    for (index, size) in sizes.iter().enumerate() {
        match ranges.last_mut() {
            Some(range) if bytes.saturating_add(*size) <= max => {
                range.end = index + 1;
                bytes += size;
            }
            _ => {
                ranges.push(index..index + 1);
                bytes = *size;
            }
        }
    }
    ranges
}

pub struct StreamPoller {
    pub app: Arc<App>,
    pub client: aws_sdk_dynamodbstreams::Client,
    pub stream_arn: String,
    pub function: StreamFunction,
    pub batch_size: i32,
    retry: RetryRule,
    /// Where each open shard is read next.
    iterators: HashMap<String, Option<String>>,
    /// Per shard: the record the last batch failed at, and how many tries failed there.
    failing: HashMap<String, (String, u32)>,
    /// Per shard: the last record handed over for good, to read on after it when an iterator
    /// goes stale (DynamoDB Local answers TrimmedDataAccess for some iterators of young streams).
    read_to: HashMap<String, String>,
    /// Records asked for per read: the batch size, or fewer while records are large, so that a
    /// read holds about one invocation's worth (a record's images as the SDK holds them take
    /// several times their JSON).
    read_limit: i32,
}

impl StreamPoller {
    pub fn new(
        app: Arc<App>,
        client: aws_sdk_dynamodbstreams::Client,
        stream_arn: String,
        function: StreamFunction,
        batch_size: i32,
        retry: RetryRule,
    ) -> Self {
        Self {
            app,
            client,
            stream_arn,
            function,
            batch_size,
            retry,
            iterators: HashMap::new(),
            failing: HashMap::new(),
            read_to: HashMap::new(),
            read_limit: batch_size,
        }
    }

    pub async fn run(mut self, hold: crate::PipelineHold) {
        loop {
            hold.wait().await;
            match self.poll_once().await {
                Ok(0) => tokio::time::sleep(Duration::from_millis(250)).await,
                Ok(_) if !self.failing.is_empty() => tokio::time::sleep(RETRY_PAUSE).await,
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(stream = %self.stream_arn, error = %err, "stream polling failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Reads each shard once and hands what it found to the function; returns how many records.
    pub async fn poll_once(&mut self) -> Result<usize, aws_sdk_dynamodbstreams::Error> {
        let described = self.client.describe_stream().stream_arn(&self.stream_arn).send().await?;
        for shard in described.stream_description.and_then(|d| d.shards).unwrap_or_default() {
            let Some(shard_id) = shard.shard_id else { continue };
            if !self.iterators.contains_key(&shard_id) {
                let iterator = self.iterator(&shard_id, ShardIteratorType::TrimHorizon, None).await?;
                self.iterators.insert(shard_id, iterator);
            }
        }
        let mut handled = 0;
        let shards: Vec<(String, String)> = self
            .iterators
            .iter()
            .filter_map(|(id, it)| Some((id.clone(), it.clone()?)))
            .collect();
        for (shard_id, iterator) in shards {
            let read = self
                .client
                .get_records()
                .shard_iterator(iterator)
                .limit(self.read_limit.clamp(1, 1000))
                .send()
                .await;
            let output = match read {
                Ok(output) => output,
                Err(err) if is_stale_iterator(&err) => {
                    let again = match self.read_to.get(&shard_id).cloned() {
                        Some(sequence) => {
                            self.iterator(&shard_id, ShardIteratorType::AfterSequenceNumber, Some(sequence))
                                .await?
                        }
                        None => self.iterator(&shard_id, ShardIteratorType::TrimHorizon, None).await?,
                    };
                    self.iterators.insert(shard_id, again);
                    continue;
                }
                Err(err) => return Err(err.into()),
            };
            let records = output.records.unwrap_or_default();
            let last = records
                .last()
                .and_then(|record| record.dynamodb())
                .and_then(|change| change.sequence_number())
                .map(str::to_owned);
            let mut next = output.next_shard_iterator;
            if !records.is_empty() {
                handled += records.len();
                match self.deliver(&records).await {
                    None => {
                        self.failing.remove(&shard_id);
                        if let Some(last) = last {
                            self.read_to.insert(shard_id.clone(), last);
                        }
                    }
                    Some(sequence) => {
                        let tries = match self.failing.get(&shard_id) {
                            Some((at, tries)) if *at == sequence => tries + 1,
                            _ => 1,
                        };
                        if self.retry.max_retries.is_some_and(|max| tries > max) {
                            // Given up: described on the failure queue, and the shard moves on.
                            self.give_up(&shard_id, &sequence, &records, tries).await;
                            self.failing.remove(&shard_id);
                            if let Some(last) = last {
                                self.read_to.insert(shard_id.clone(), last);
                            }
                        } else {
                            self.failing.insert(shard_id.clone(), (sequence.clone(), tries));
                            next = self
                                .iterator(&shard_id, ShardIteratorType::AtSequenceNumber, Some(sequence))
                                .await?;
                        }
                    }
                }
            }
            self.iterators.insert(shard_id, next);
        }
        Ok(handled)
    }

    async fn iterator(
        &self,
        shard: &str,
        kind: ShardIteratorType,
        sequence: Option<String>,
    ) -> Result<Option<String>, aws_sdk_dynamodbstreams::Error> {
        let output = self
            .client
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(shard)
            .shard_iterator_type(kind)
            .set_sequence_number(sequence)
            .send()
            .await?;
        Ok(output.shard_iterator)
    }

    /// What Lambda sends the `OnFailure` destination when a stream batch is given up.
    async fn give_up(&self, shard_id: &str, from: &str, records: &[Record], tries: u32) {
        let sequences: Vec<&str> = records
            .iter()
            .filter_map(|record| record.dynamodb().and_then(|change| change.sequence_number()))
            .collect();
        let given_up = sequences.iter().skip_while(|sequence| **sequence != from).count();
        tracing::error!(
            shard_id,
            from,
            tries,
            "stream batch failed past its retry limit; sending it to the failure destination"
        );
        let Some((sqs, queue_url)) = &self.retry.on_failure else { return };
        let record = json!({
            "requestContext": {
                "requestId": uuid::Uuid::new_v4().to_string(),
                "functionArn": format!("arn:aws:lambda:{REGION}:000000000000:function:{}", self.function.name()),
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": tries,
            },
            "responseContext": { "statusCode": 200, "executedVersion": "$LATEST", "functionError": null },
            "version": "1.0",
            "timestamp": chrono::Utc::now().to_rfc3339(),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": from,
                "endSequenceNumber": sequences.last().copied().unwrap_or(from),
                "batchSize": given_up,
                "streamArn": self.stream_arn,
            },
        });
        if let Err(err) = sqs
            .send_message()
            .queue_url(queue_url)
            .message_body(record.to_string())
            .send()
            .await
        {
            tracing::error!(error = %aws_sdk_sqs::error::DisplayErrorContext(err), "could not send to the failure destination");
        }
    }

    /// Hands a batch to the function, in invocations of at most `MAX_EVENT_BYTES` as Lambda
    /// splits them (a batch of 400 KB images is tens of megabytes); returns the sequence number
    /// to read again from, if any failed.
    async fn deliver(&mut self, records: &[Record]) -> Option<String> {
        // Sized first and built again per invocation: only one invocation's JSON is held at once.
        let sizes: Vec<usize> = records
            .iter()
            .map(|record| json_size(&lambda_record(record, &self.stream_arn)))
            .collect();
        self.read_limit = read_limit(&sizes, self.batch_size);
        for range in ranges_within(&sizes, MAX_EVENT_BYTES) {
            let chunk: Vec<Value> = records[range]
                .iter()
                .map(|record| lambda_record(record, &self.stream_arn))
                .collect();
            if let Some(failed) = self.invoke(chunk).await {
                return Some(failed);
            }
        }
        None
    }

    async fn invoke(&self, records: Vec<Value>) -> Option<String> {
        match serde_json::from_value::<Event>(json!({ "Records": records })) {
            Ok(event) => {
                let response = self.function.handle(&self.app, event).await;
                response.batch_item_failures.into_iter().find_map(|failure| failure.item_identifier)
            }
            Err(err) => {
                tracing::error!(error = %err, "could not build the DynamoDB stream event");
                None
            }
        }
    }
}

/// An iterator the stream no longer honours: get a new one rather than stall the shard.
fn is_stale_iterator(err: &aws_sdk_dynamodbstreams::error::SdkError<GetRecordsError>) -> bool {
    matches!(
        err.as_service_error(),
        Some(GetRecordsError::TrimmedDataAccessException(_) | GetRecordsError::ExpiredIteratorException(_))
    )
}

/// One stream record in the shape Lambda hands to a function.
fn lambda_record(record: &Record, stream_arn: &str) -> Value {
    let change = record.dynamodb();
    let image = |image: Option<&HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>| {
        let item: serde_dynamo::Item = image.cloned().unwrap_or_default().into();
        serde_json::to_value(item).unwrap_or(Value::Null)
    };
    let identity = record
        .user_identity()
        .map(|who| json!({ "type": who.r#type(), "principalId": who.principal_id() }));
    json!({
        "eventID": record.event_id(),
        "eventName": record.event_name().map(|name| name.as_str()),
        "eventVersion": record.event_version(),
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "eventSourceARN": stream_arn,
        "userIdentity": identity,
        "dynamodb": {
            "ApproximateCreationDateTime": change.and_then(|c| c.approximate_creation_date_time()).map(|at| at.secs()).unwrap_or_default(),
            "Keys": image(change.and_then(|c| c.keys.as_ref())),
            "NewImage": image(change.and_then(|c| c.new_image.as_ref())),
            "OldImage": image(change.and_then(|c| c.old_image.as_ref())),
            "SequenceNumber": change.and_then(|c| c.sequence_number()),
            "SizeBytes": change.and_then(|c| c.size_bytes()).unwrap_or_default(),
            "StreamViewType": change.and_then(|c| c.stream_view_type()).map(|view| view.as_str()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_split_into_invocations_within_the_payload_limit_in_its_order() {
        let sizes = [400, 400, 300, 900, 1_200, 100, 100];
        let ranges = ranges_within(&sizes, 1_000);
        assert_eq!(ranges, [0..2, 2..3, 3..4, 4..5, 5..7]);
        for range in ranges {
            let bytes: usize = sizes[range.clone()].iter().sum();
            assert!(bytes <= 1_000 || range.len() == 1, "{range:?}");
        }
        assert!(ranges_within(&[], 10).is_empty());
        // Large records are read a few at a time; small ones a whole batch.
        assert_eq!(read_limit(&[800_000, 780_000], 100), 7);
        assert_eq!(read_limit(&[2_000; 50], 100), 100);
        assert_eq!(read_limit(&[20_000_000], 100), 1);
        assert_eq!(read_limit(&[], 100), 100);
        assert_eq!(json_size(&json!({"a": [1, 2]})), r#"{"a":[1,2]}"#.len());
    }
}
