//! Creates the template's tables, queues, buses, identities and secrets in the emulators, and
//! resolves the functions' environment (`!Ref` to local names, URLs and ARNs), as CloudFormation
//! would.

use std::collections::BTreeMap;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType, ScalarAttributeType,
    StreamSpecification, StreamViewType,
};
use aws_sdk_sqs::types::QueueAttributeName;
use orders_shared::adapters::aws::ServiceClients;
use orders_shared::config::Config;
use serde_yaml_ng::Value;

use crate::template::{reference, KeyElement, Template};

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("creating table {table}: {message}")]
    Table { table: String, message: String },
    #[error("creating queue {queue}: {message}")]
    Queue { queue: String, message: String },
    #[error("the template's environment variable {0} refers to nothing the local stack creates")]
    Unresolved(String),
    #[error("creating event bus or rule {name}: {message}")]
    Events { name: String, message: String },
    #[error("creating the SES identity {identity}: {message}")]
    Identity { identity: String, message: String },
    #[error("creating user pool {pool}: {message}")]
    UserPool { pool: String, message: String },
    #[error("creating secret {name}: {message}")]
    Secret { name: String, message: String },
}

/// Clients for the emulators: fixed local credentials, one region, explicit endpoints.
#[derive(Debug, Clone)]
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub streams: aws_sdk_dynamodbstreams::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub eventbridge: aws_sdk_eventbridge::Client,
    pub ses: aws_sdk_sesv2::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    /// moto's Cognito, where the template's user pools are created.
    pub cognito: orders_shared::adapters::cognito::CognitoApi,
    dynamodb_config: SdkConfig,
    moto_config: SdkConfig,
}

pub const REGION: &str = "us-east-1";

impl Clients {
    pub fn new(dynamodb_endpoint: &str, moto_endpoint: &str) -> Self {
        let dynamodb_config = emulator_config(dynamodb_endpoint);
        let moto_config = emulator_config(moto_endpoint);
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(&dynamodb_config),
            streams: aws_sdk_dynamodbstreams::Client::new(&dynamodb_config),
            sqs: aws_sdk_sqs::Client::new(&moto_config),
            eventbridge: aws_sdk_eventbridge::Client::new(&moto_config),
            ses: aws_sdk_sesv2::Client::new(&moto_config),
            secrets: aws_sdk_secretsmanager::Client::new(&moto_config),
            cognito: orders_shared::adapters::cognito::CognitoApi::new(
                &moto_config,
                std::time::Duration::from_secs(5),
                std::time::Duration::from_secs(30),
                None,
            )
            .expect("the emulator's settings carry a region and credentials"),
            dynamodb_config,
            moto_config,
        }
    }

    /// The service's own clients on the same emulators, built as a Lambda builds them: its
    /// retries and, when the configuration asks, injected faults.
    pub fn for_service(&self, config: &Config) -> ServiceClients {
        ServiceClients::new(&self.dynamodb_config, &self.moto_config, &config.client_settings())
    }
}

fn emulator_config(endpoint: &str) -> SdkConfig {
    let credentials = Credentials::new("local", "local", None, None, "orders-local");
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .endpoint_url(endpoint)
        .build()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    pub url: String,
    pub arn: String,
}

/// What the local stack created for one template, under one name prefix.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub tables: BTreeMap<String, String>,
    pub queues: BTreeMap<String, Queue>,
    /// Event bus names by logical id.
    pub buses: BTreeMap<String, String>,
    /// Secret ARNs by logical id.
    pub secrets: BTreeMap<String, String>,
    /// User pool ids by logical id.
    pub user_pools: BTreeMap<String, String>,
    /// The functions' environment, resolved.
    pub environment: BTreeMap<String, String>,
}

/// Creates what `template` declares under `prefix`; each secret holds its value in `secrets` (by
/// logical id), or a random one, as `GenerateSecretString` would. `local_values` are the
/// variables the runner itself stands in for (the hosted sign-in's address and app client).
pub async fn deploy(
    template: &Template,
    clients: &Clients,
    prefix: &str,
    secret_values: &BTreeMap<String, String>,
    local_values: &BTreeMap<String, String>,
) -> Result<Deployment, ProvisionError> {
    let mut tables = BTreeMap::new();
    for spec in &template.tables {
        let name = format!("{prefix}-{}", spec.logical_id);
        let fail = |err: &dyn std::fmt::Display| ProvisionError::Table {
            table: name.clone(),
            message: err.to_string(),
        };
        let mut request = clients
            .dynamodb
            .create_table()
            .table_name(&name)
            .billing_mode(BillingMode::PayPerRequest);
        for (attribute, kind) in &spec.attributes {
            let definition = AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(ScalarAttributeType::from(kind.as_str()))
                .build()
                .map_err(|e| fail(&e))?;
            request = request.attribute_definitions(definition);
        }
        request = request.set_key_schema(Some(key_schema(&spec.keys).map_err(|e| fail(&e))?));
        for index in &spec.indexes {
            let gsi = GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .set_key_schema(Some(key_schema(&index.keys).map_err(|e| fail(&e))?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(index.projection.as_str()))
                        .build(),
                )
                .build()
                .map_err(|e| fail(&e))?;
            request = request.global_secondary_indexes(gsi);
        }
        if let Some(view) = &spec.stream_view {
            let stream = StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view.as_str()))
                .build()
                .map_err(|e| fail(&e))?;
            request = request.stream_specification(stream);
        }
        request
            .send()
            .await
            .map_err(|err| fail(&aws_sdk_dynamodb::error::DisplayErrorContext(err)))?;
        tables.insert(spec.logical_id.clone(), name);
    }

    // Dead-letter queues first: the queues that feed them name their ARNs.
    let mut ordered: Vec<_> = template.queues.iter().collect();
    ordered.sort_by_key(|spec| spec.dead_letter.is_some());
    let mut queues = BTreeMap::new();
    for spec in ordered {
        let name = format!("{prefix}-{}", spec.logical_id);
        let fail = |message: String| ProvisionError::Queue {
            queue: name.clone(),
            message,
        };
        let mut request = clients.sqs.create_queue().queue_name(&name);
        if let Some(timeout) = spec.visibility_timeout {
            request = request.attributes(QueueAttributeName::VisibilityTimeout, timeout.to_string());
        }
        if let Some((target, count)) = &spec.dead_letter {
            let target: &Queue = queues
                .get(target)
                .ok_or_else(|| fail(format!("dead-letter queue {target} is not in the template")))?;
            let policy = serde_json::json!({ "deadLetterTargetArn": target.arn, "maxReceiveCount": count });
            request = request.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
        }
        let created = request
            .send()
            .await
            .map_err(|err| fail(aws_sdk_sqs::error::DisplayErrorContext(err).to_string()))?;
        let url = created.queue_url.ok_or_else(|| fail("no queue URL returned".into()))?;
        let attributes = clients
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|err| fail(aws_sdk_sqs::error::DisplayErrorContext(err).to_string()))?;
        let arn = attributes
            .attributes
            .and_then(|mut map| map.remove(&QueueAttributeName::QueueArn))
            .unwrap_or_default();
        queues.insert(spec.logical_id.clone(), Queue { url, arn });
    }

    let mut buses = BTreeMap::new();
    for logical_id in &template.buses {
        let name = format!("{prefix}-{logical_id}");
        let fail = |message: String| ProvisionError::Events {
            name: name.clone(),
            message,
        };
        clients
            .eventbridge
            .create_event_bus()
            .name(&name)
            .send()
            .await
            .map_err(|err| fail(aws_sdk_eventbridge::error::DisplayErrorContext(err).to_string()))?;
        buses.insert(logical_id.clone(), name);
    }
    for rule in &template.rules {
        let name = format!("{prefix}-{}", rule.logical_id);
        let fail = |message: String| ProvisionError::Events {
            name: name.clone(),
            message,
        };
        let bus = buses
            .get(&rule.bus)
            .ok_or_else(|| fail(format!("bus {} is not in the template", rule.bus)))?;
        clients
            .eventbridge
            .put_rule()
            .name(&name)
            .event_bus_name(bus)
            .event_pattern(&rule.pattern)
            .send()
            .await
            .map_err(|err| fail(aws_sdk_eventbridge::error::DisplayErrorContext(err).to_string()))?;
        let mut targets = Vec::new();
        for (index, queue) in rule.queues.iter().enumerate() {
            let queue = queues
                .get(queue)
                .ok_or_else(|| fail(format!("target queue {queue} is not in the template")))?;
            let target = aws_sdk_eventbridge::types::Target::builder()
                .id(index.to_string())
                .arn(&queue.arn)
                .build()
                .map_err(|err| fail(err.to_string()))?;
            targets.push(target);
        }
        clients
            .eventbridge
            .put_targets()
            .rule(&name)
            .event_bus_name(bus)
            .set_targets(Some(targets))
            .send()
            .await
            .map_err(|err| fail(aws_sdk_eventbridge::error::DisplayErrorContext(err).to_string()))?;
    }

    // The sender identities, verified at once (moto's SES, like a sandbox, sends only from
    // verified identities); creating one twice changes nothing.
    for identity in &template.email_identities {
        let address = match identity {
            Value::String(text) => Some(text.clone()),
            other => reference(other).and_then(|id| template.parameters.get(&id).cloned()),
        }
        .ok_or_else(|| ProvisionError::Unresolved("an SES EmailIdentity".to_owned()))?;
        clients
            .ses
            .create_email_identity()
            .email_identity(&address)
            .send()
            .await
            .map_err(|err| ProvisionError::Identity {
                identity: address.clone(),
                message: aws_sdk_sesv2::error::DisplayErrorContext(err).to_string(),
            })?;
    }

    let mut secrets = BTreeMap::new();
    for logical_id in &template.secrets {
        let name = format!("{prefix}-{logical_id}");
        let value = secret_values
            .get(logical_id)
            .cloned()
            .unwrap_or_else(|| format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple()));
        let created = clients
            .secrets
            .create_secret()
            .name(&name)
            .secret_string(value)
            .send()
            .await
            .map_err(|err| ProvisionError::Secret {
                name: name.clone(),
                message: aws_sdk_secretsmanager::error::DisplayErrorContext(err).to_string(),
            })?;
        let arn = created.arn.ok_or_else(|| ProvisionError::Secret {
            name: name.clone(),
            message: "no ARN returned".to_owned(),
        })?;
        secrets.insert(logical_id.clone(), arn);
    }

    let mut user_pools = BTreeMap::new();
    for (logical_id, props) in &template.user_pools {
        let fail = |message: String| ProvisionError::UserPool {
            pool: logical_id.clone(),
            message,
        };
        let json = |value: Option<&Value>| value.map(serde_json::to_value).transpose().map_err(|err| fail(err.to_string()));
        let mut request = serde_json::json!({"PoolName": format!("{prefix}-{logical_id}")});
        if let Some(attributes) = json(props.get("UsernameAttributes"))? {
            request["UsernameAttributes"] = attributes;
        }
        if let Some(schema) = json(props.get("Schema"))? {
            request["Schema"] = schema;
        }
        let created = clients
            .cognito
            .expect_ok("CreateUserPool", request)
            .await
            .map_err(|err| fail(err.to_string()))?;
        let pool_id = created["UserPool"]["Id"]
            .as_str()
            .ok_or_else(|| fail("no pool id returned".to_owned()))?
            .to_owned();
        for (_, group) in template.user_pool_groups.iter().filter(|(pool, _)| pool == logical_id) {
            clients
                .cognito
                .expect_ok("CreateGroup", serde_json::json!({"UserPoolId": pool_id, "GroupName": group}))
                .await
                .map_err(|err| fail(err.to_string()))?;
        }
        user_pools.insert(logical_id.clone(), pool_id);
    }

    let mut environment = BTreeMap::new();
    for (name, value) in &template.environment {
        let resolved = match value {
            _ if local_values.contains_key(name) => local_values.get(name).cloned(),
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            other => reference(other).and_then(|id| {
                tables
                    .get(&id)
                    .cloned()
                    .or_else(|| queues.get(&id).map(|queue: &Queue| queue.url.clone()))
                    .or_else(|| buses.get(&id).cloned())
                    .or_else(|| secrets.get(&id).cloned())
                    .or_else(|| user_pools.get(&id).cloned())
                    .or_else(|| template.parameters.get(&id).cloned())
                    .or_else(|| (id == "AWS::StackName").then(|| prefix.to_owned()))
            }),
        };
        environment.insert(name.clone(), resolved.ok_or_else(|| ProvisionError::Unresolved(name.clone()))?);
    }
    Ok(Deployment {
        tables,
        queues,
        buses,
        secrets,
        user_pools,
        environment,
    })
}

fn key_schema(keys: &[KeyElement]) -> Result<Vec<KeySchemaElement>, aws_sdk_dynamodb::error::BuildError> {
    keys.iter()
        .map(|key| {
            KeySchemaElement::builder()
                .attribute_name(&key.name)
                .key_type(KeyType::from(key.key_type.as_str()))
                .build()
        })
        .collect()
}
