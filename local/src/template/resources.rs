//! How each kind of template resource reads: tables with their indexes, queues, and functions
//! with their routes, queue consumers, schedules and streams.

use serde_yaml_ng::value::TaggedValue;
use serde_yaml_ng::Value;

use super::{IndexSpec, KeyElement, QueueConsumer, QueueSpec, Route, Schedule, StreamConsumer, TableSpec, Template, TemplateError};

pub(super) fn shape(what: &str, why: &'static str) -> TemplateError {
    TemplateError::Shape(what.to_owned(), why)
}

pub(super) fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        _ => String::new(),
    }
}

fn string(value: &Value, key: &str) -> Option<String> {
    value.get(key).map(scalar).filter(|text| !text.is_empty())
}

fn key_schema(value: Option<&Value>) -> Vec<KeyElement> {
    value
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|element| {
            Some(KeyElement {
                name: string(element, "AttributeName")?,
                key_type: string(element, "KeyType")?,
            })
        })
        .collect()
}

pub(super) fn table(id: &str, props: &Value) -> Result<TableSpec, TemplateError> {
    let attributes: Vec<(String, String)> = props
        .get("AttributeDefinitions")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|attr| Some((string(attr, "AttributeName")?, string(attr, "AttributeType")?)))
        .collect();
    let keys = key_schema(props.get("KeySchema"));
    if keys.is_empty() {
        return Err(TemplateError::Shape(id.to_owned(), "table without a KeySchema"));
    }
    let indexes = props
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|index| {
            Some(IndexSpec {
                name: string(index, "IndexName")?,
                keys: key_schema(index.get("KeySchema")),
                projection: index
                    .get("Projection")
                    .and_then(|p| string(p, "ProjectionType"))
                    .unwrap_or_else(|| "ALL".to_owned()),
            })
        })
        .collect();
    let stream_view = props.get("StreamSpecification").and_then(|spec| string(spec, "StreamViewType"));
    Ok(TableSpec {
        logical_id: id.to_owned(),
        attributes,
        keys,
        indexes,
        stream_view,
    })
}

pub(super) fn queue(id: &str, props: &Value) -> QueueSpec {
    let visibility_timeout = props
        .get("VisibilityTimeout")
        .and_then(Value::as_u64)
        .and_then(|v| u32::try_from(v).ok());
    let dead_letter = props.get("RedrivePolicy").and_then(|policy| {
        let target = reference(policy.get("deadLetterTargetArn")?)?;
        let count = policy
            .get("maxReceiveCount")
            .and_then(Value::as_u64)
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(5);
        Some((target, count))
    });
    QueueSpec {
        logical_id: id.to_owned(),
        visibility_timeout,
        dead_letter,
    }
}

/// The logical id behind `!Ref X` or `!GetAtt X.Attr`.
pub fn reference(value: &Value) -> Option<String> {
    match value {
        Value::Tagged(tagged) => {
            let TaggedValue { tag, value } = tagged.as_ref();
            let text = value.as_str()?;
            match tag.to_string().as_str() {
                "!Ref" => Some(text.to_owned()),
                "!GetAtt" => text.split('.').next().map(str::to_owned),
                _ => None,
            }
        }
        Value::Mapping(map) => {
            let single = |key: &str| map.get(key);
            if let Some(text) = single("Ref").and_then(Value::as_str) {
                return Some(text.to_owned());
            }
            match single("Fn::GetAtt")? {
                Value::Sequence(parts) => parts.first().and_then(Value::as_str).map(str::to_owned),
                Value::String(text) => text.split('.').next().map(str::to_owned),
                _ => None,
            }
        }
        _ => None,
    }
}

pub(super) fn function(id: &str, resource: &Value, props: &Value, template: &mut Template) -> Result<(), TemplateError> {
    let binary = resource
        .get("Metadata")
        .and_then(|meta| meta.get("BuildProperties"))
        .and_then(|build| string(build, "Binary"))
        .ok_or_else(|| TemplateError::Shape(id.to_owned(), "function without Metadata.BuildProperties.Binary"))?;
    // A function's own variables (the webhook's secret ARN): the local runner is one process
    // for every function, so they join the shared environment.
    let variables = props
        .get("Environment")
        .and_then(|env| env.get("Variables"))
        .and_then(Value::as_mapping);
    for (name, value) in variables.into_iter().flatten() {
        if let Some(name) = name.as_str() {
            template.environment.insert(name.to_owned(), value.clone());
        }
    }
    for (event_name, event) in props.get("Events").and_then(Value::as_mapping).into_iter().flatten() {
        let event_props = event.get("Properties").cloned().unwrap_or(Value::Null);
        match event.get("Type").and_then(Value::as_str) {
            Some("HttpApi") => template.routes.push(Route {
                method: string(&event_props, "Method")
                    .ok_or_else(|| TemplateError::Shape(id.to_owned(), "HttpApi event without Method"))?,
                path: string(&event_props, "Path").ok_or_else(|| TemplateError::Shape(id.to_owned(), "HttpApi event without Path"))?,
                binary: binary.clone(),
                public: event_props
                    .get("Auth")
                    .and_then(|auth| string(auth, "Authorizer"))
                    .is_some_and(|authorizer| authorizer == "NONE"),
            }),
            Some("SQS") => template.consumers.push(QueueConsumer {
                queue: event_props
                    .get("Queue")
                    .and_then(reference)
                    .ok_or_else(|| TemplateError::Shape(id.to_owned(), "SQS event without a Queue reference"))?,
                binary: binary.clone(),
                batch_size: event_props
                    .get("BatchSize")
                    .and_then(Value::as_u64)
                    .and_then(|v| u32::try_from(v).ok())
                    .unwrap_or(10),
                reports_batch_failures: reports_failures(&event_props),
            }),
            Some("Schedule" | "ScheduleV2") => template.schedules.push(Schedule {
                binary: binary.clone(),
                rule: format!("{id}{}", event_name.as_str().unwrap_or_default()),
                expression: string(&event_props, "Schedule")
                    .or_else(|| string(&event_props, "ScheduleExpression"))
                    .ok_or_else(|| TemplateError::Shape(id.to_owned(), "Schedule event without an expression"))?,
            }),
            Some("DynamoDB") => template.streams.push(StreamConsumer {
                table: event_props
                    .get("Stream")
                    .and_then(reference)
                    .ok_or_else(|| TemplateError::Shape(id.to_owned(), "DynamoDB event without a Stream reference"))?,
                binary: binary.clone(),
                batch_size: event_props
                    .get("BatchSize")
                    .and_then(Value::as_u64)
                    .and_then(|v| u32::try_from(v).ok())
                    .unwrap_or(100),
                reports_batch_failures: reports_failures(&event_props),
                max_retries: event_props
                    .get("MaximumRetryAttempts")
                    .and_then(Value::as_i64)
                    .and_then(|v| u32::try_from(v).ok()),
                on_failure: event_props
                    .get("DestinationConfig")
                    .and_then(|config| config.get("OnFailure"))
                    .and_then(|failure| failure.get("Destination"))
                    .and_then(reference),
            }),
            _ => {}
        }
    }
    Ok(())
}

fn reports_failures(event_props: &Value) -> bool {
    event_props
        .get("FunctionResponseTypes")
        .and_then(Value::as_sequence)
        .is_some_and(|types| types.iter().any(|t| t.as_str() == Some("ReportBatchItemFailures")))
}
