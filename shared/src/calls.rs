//! Which AWS calls each function makes, for the IAM parity check: every invocation runs inside
//! `as_function`, and in test builds (`chaos`) an SDK interceptor on every client records each
//! call's function, action and resources to the file `ORDERS_CALL_LOG` names, one JSON line per
//! call never seen before. Deployed functions carry only the task-local (no recording).

use std::future::Future;

tokio::task_local! {
    static FUNCTION: &'static str;
}

/// Runs one invocation of `function` (its binary name), so its calls are attributed to it.
pub async fn as_function<F: Future>(function: &'static str, work: F) -> F::Output {
    FUNCTION.scope(function, work).await
}

/// The function whose invocation is running, if any (the runner's own calls have none).
pub fn current_function() -> Option<&'static str> {
    FUNCTION.try_with(|function| *function).ok()
}

/// One IAM-relevant call: `dynamodb:PutItem` on `OrdersTable`, as the service made it (a
/// transaction is one call per item it writes).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Call {
    pub function: String,
    /// The IAM action (`dynamodb:Query`).
    pub action: String,
    /// The resource as the request names it: a table (`<table>` or `<table>/index/<index>`),
    /// a queue URL, a bus name, a sender address, a secret id.
    pub resource: String,
}

/// The IAM actions and resources one request needs, from its service, operation and JSON body.
pub fn calls_of(service: &str, operation: &str, body: &serde_json::Value) -> Vec<(String, String)> {
    use serde_json::Value;
    let text = |value: &Value, key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let prefix = match service {
        "DynamoDB" => "dynamodb",
        "SQS" => "sqs",
        "EventBridge" => "events",
        "SESv2" => "ses",
        "Secrets Manager" => "secretsmanager",
        other => return vec![(format!("{other}:{operation}"), String::new())],
    };
    let action = |name: &str| format!("{prefix}:{name}");
    let table_of = |value: &Value| {
        text(value, "TableName").map(|table| match text(value, "IndexName") {
            Some(index) => format!("{table}/index/{index}"),
            None => table,
        })
    };
    match (prefix, operation) {
        ("dynamodb", "TransactWriteItems" | "TransactGetItems") => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| {
                let (kind, spec) = item.as_object()?.iter().next()?;
                let name = match kind.as_str() {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    "ConditionCheck" => "ConditionCheckItem",
                    _ => "GetItem",
                };
                Some((action(name), table_of(spec)?))
            })
            .collect(),
        // A batch needs its own action on each table it names (IAM has no per-item actions for
        // batches, unlike transactions).
        ("dynamodb", "BatchGetItem" | "BatchWriteItem") => body["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(table, _)| (action(operation), table.clone()))
            .collect(),
        ("dynamodb", _) => vec![(action(operation), table_of(body).unwrap_or_default())],
        // Batches are allowed by the single call's action.
        ("sqs", _) => vec![(
            action(operation.strip_suffix("Batch").unwrap_or(operation)),
            text(body, "QueueUrl").unwrap_or_default(),
        )],
        ("events", "PutEvents") => body["Entries"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|entry| (action("PutEvents"), text(entry, "EventBusName").unwrap_or_default()))
            .collect(),
        ("ses", _) => vec![(action(operation), text(body, "FromEmailAddress").unwrap_or_default())],
        ("secretsmanager", _) => vec![(action(operation), text(body, "SecretId").unwrap_or_default())],
        _ => vec![(action(operation), String::new())],
    }
}

#[cfg(feature = "chaos")]
pub use recorder::CallRecorder;

#[cfg(feature = "chaos")]
mod recorder {
    use std::collections::HashSet;
    use std::io::Write;
    use std::path::PathBuf;
    use std::sync::{Arc, Mutex};

    use aws_smithy_runtime_api::box_error::BoxError;
    use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
    use aws_smithy_runtime_api::client::interceptors::Intercept;
    use aws_smithy_runtime_api::client::orchestrator::Metadata;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
    use aws_smithy_types::config_bag::ConfigBag;

    use crate::calls::{calls_of, current_function, Call};

    /// Appends each new call of a function to the log file (shared by every client of a
    /// process, so that a call is written once however many services a test starts).
    #[derive(Debug, Clone)]
    pub struct CallRecorder {
        path: PathBuf,
        seen: Arc<Mutex<HashSet<Call>>>,
    }

    impl CallRecorder {
        /// The recorder of this process for `path` (one per path).
        pub fn to(path: PathBuf) -> Self {
            static RECORDERS: Mutex<Vec<CallRecorder>> = Mutex::new(Vec::new());
            let mut recorders = RECORDERS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(recorder) = recorders.iter().find(|recorder| recorder.path == path) {
                return recorder.clone();
            }
            let recorder = Self {
                path,
                seen: Arc::default(),
            };
            recorders.push(recorder.clone());
            recorder
        }

        fn record(&self, calls: Vec<Call>) -> std::io::Result<()> {
            let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let new: Vec<Call> = calls.into_iter().filter(|call| seen.insert(call.clone())).collect();
            if new.is_empty() {
                return Ok(());
            }
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&self.path)?;
            let mut lines = String::new();
            for call in new {
                lines.push_str(&serde_json::to_string(&call)?);
                lines.push('\n');
            }
            file.write_all(lines.as_bytes())
        }
    }

    impl CallRecorder {
        /// Records a call made without the SDK (the user pool's signed calls), for the function
        /// whose invocation is running.
        pub fn record_outside_sdk(&self, action: &str, resource: &str) {
            let Some(function) = current_function() else {
                return;
            };
            let call = Call {
                function: function.to_owned(),
                action: action.to_owned(),
                resource: resource.to_owned(),
            };
            if let Err(err) = self.record(vec![call]) {
                tracing::warn!(error = %err, "the call log cannot be written");
            }
        }
    }

    impl Intercept for CallRecorder {
        fn name(&self) -> &'static str {
            "CallRecorder"
        }

        fn read_before_transmit(
            &self,
            context: &BeforeTransmitInterceptorContextRef<'_>,
            _runtime_components: &RuntimeComponents,
            cfg: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            let (Some(function), Some(metadata)) = (current_function(), cfg.load::<Metadata>()) else {
                return Ok(());
            };
            let body = context
                .request()
                .body()
                .bytes()
                .and_then(|bytes| serde_json::from_slice(bytes).ok())
                .unwrap_or(serde_json::Value::Null);
            let calls = calls_of(metadata.service(), metadata.name(), &body)
                .into_iter()
                .map(|(action, resource)| Call {
                    function: function.to_owned(),
                    action,
                    resource,
                })
                .collect();
            self.record(calls)?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_transaction_needs_each_items_own_action_on_its_own_table() {
        let body = json!({"TransactItems": [
            {"Put": {"TableName": "orders", "Item": {}}},
            {"Update": {"TableName": "inventory", "Key": {}}},
            {"ConditionCheck": {"TableName": "inventory", "Key": {}}},
        ]});
        assert_eq!(
            calls_of("DynamoDB", "TransactWriteItems", &body),
            [
                ("dynamodb:PutItem".to_owned(), "orders".to_owned()),
                ("dynamodb:UpdateItem".to_owned(), "inventory".to_owned()),
                ("dynamodb:ConditionCheckItem".to_owned(), "inventory".to_owned()),
            ]
        );
    }

    #[test]
    fn a_batch_write_needs_the_batch_action_on_each_table_it_names() {
        let body = serde_json::json!({"RequestItems": {"Inventory": [
            {"PutRequest": {"Item": {}}}, {"DeleteRequest": {"Key": {}}}
        ]}});
        assert_eq!(
            calls_of("DynamoDB", "BatchWriteItem", &body),
            [("dynamodb:BatchWriteItem".to_owned(), "Inventory".to_owned())]
        );
    }

    #[test]
    fn an_index_query_names_the_index_and_a_queue_batch_needs_the_single_action() {
        let query = json!({"TableName": "orders", "IndexName": "by_user_created"});
        assert_eq!(
            calls_of("DynamoDB", "Query", &query),
            [("dynamodb:Query".to_owned(), "orders/index/by_user_created".to_owned())]
        );
        let batch = json!({"QueueUrl": "http://localhost/123/q", "Entries": []});
        assert_eq!(
            calls_of("SQS", "SendMessageBatch", &batch),
            [("sqs:SendMessage".to_owned(), "http://localhost/123/q".to_owned())]
        );
    }
}
