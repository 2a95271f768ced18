//! Reads `template.yaml`: the tables, queues, routes and consumers the local stack creates and
//! serves, so local and cloud cannot drift.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml_ng::{Mapping, Value};

mod resources;
pub use resources::reference;
use resources::{function, queue, scalar, shape, table};

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read the template {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("the template is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    #[error("the template's {0} is malformed: {1}")]
    Shape(String, &'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyElement {
    pub name: String,
    /// HASH or RANGE
    pub key_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: String,
    pub keys: Vec<KeyElement>,
    /// ALL, KEYS_ONLY or INCLUDE.
    pub projection: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    pub logical_id: String,
    /// Attribute name to type (S, N, B).
    pub attributes: Vec<(String, String)>,
    pub keys: Vec<KeyElement>,
    pub indexes: Vec<IndexSpec>,
    pub stream_view: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    pub logical_id: String,
    pub visibility_timeout: Option<u32>,
    /// The dead-letter queue's logical id and the receive count that sends a message there.
    pub dead_letter: Option<(String, u32)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub binary: String,
    /// `Auth: {Authorizer: NONE}`: the gateway lets the request through without a JWT.
    pub public: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConsumer {
    pub queue: String,
    pub binary: String,
    pub batch_size: u32,
    pub reports_batch_failures: bool,
}

/// An EventBridge rule on one of the template's buses, delivering to SQS queues.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSpec {
    pub logical_id: String,
    /// The bus's logical id.
    pub bus: String,
    /// The event pattern, as JSON.
    pub pattern: String,
    /// Logical ids of the target queues.
    pub queues: Vec<String>,
}

/// A function on an EventBridge schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub binary: String,
    /// The rule SAM creates for it: the function's logical id and the event's name.
    pub rule: String,
    /// `rate(1 minute)`, as written in the template.
    pub expression: String,
}

/// A function on a table's DynamoDB stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamConsumer {
    pub table: String,
    pub binary: String,
    pub batch_size: u32,
    pub reports_batch_failures: bool,
    /// `MaximumRetryAttempts`: retries of a failing batch before it is given up; `None` (the
    /// template's -1, or no setting) retries until the record expires.
    pub max_retries: Option<u32>,
    /// The queue (logical id) of `DestinationConfig.OnFailure`, where a given-up batch is described.
    pub on_failure: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub tables: Vec<TableSpec>,
    pub queues: Vec<QueueSpec>,
    /// EventBridge buses, by logical id.
    pub buses: Vec<String>,
    pub rules: Vec<RuleSpec>,
    /// SES identities notifications are sent from, as written (an address or a `!Ref`).
    pub email_identities: Vec<Value>,
    /// Secrets Manager secrets, by logical id.
    pub secrets: Vec<String>,
    /// Cognito user pools: logical id and properties (`UsernameAttributes`, `Schema`).
    pub user_pools: Vec<(String, Value)>,
    /// The pools' groups: the pool's logical id and the group's name.
    pub user_pool_groups: Vec<(String, String)>,
    pub routes: Vec<Route>,
    pub consumers: Vec<QueueConsumer>,
    pub schedules: Vec<Schedule>,
    pub streams: Vec<StreamConsumer>,
    /// `Globals.Function.Environment.Variables` and each function's own, unresolved.
    pub environment: BTreeMap<String, Value>,
    /// Parameter defaults.
    pub parameters: BTreeMap<String, String>,
    /// The HttpApi stage's throttling, as written (numbers or `!Ref` parameters).
    pub throttling: ThrottlingSpec,
}

/// `DefaultRouteSettings` and `RouteSettings` of the HttpApi: each route's steady rate
/// (requests per second) and burst, as API Gateway enforces them per route.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThrottlingSpec {
    pub default: Option<(Value, Value)>,
    /// By route key (`POST /api/v1/orders`).
    pub routes: BTreeMap<String, (Value, Value)>,
}

/// A route's limit, resolved: a token bucket refilled at `rate` per second, holding `burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RouteLimit {
    pub rate: f64,
    pub burst: f64,
}

impl ThrottlingSpec {
    /// The limits with parameters resolved from `parameters` (defaults, overridden).
    pub fn resolve(&self, parameters: &BTreeMap<String, String>) -> (Option<RouteLimit>, BTreeMap<String, RouteLimit>) {
        let number = |value: &Value| -> Option<f64> {
            match reference(value) {
                Some(name) => parameters.get(&name)?.parse().ok(),
                None => value.as_f64().or_else(|| value.as_str()?.parse().ok()),
            }
        };
        let limit = |(rate, burst): &(Value, Value)| {
            Some(RouteLimit {
                rate: number(rate)?,
                burst: number(burst)?,
            })
        };
        (
            self.default.as_ref().and_then(limit),
            self.routes
                .iter()
                .filter_map(|(route, spec)| Some((route.clone(), limit(spec)?)))
                .collect(),
        )
    }
}

fn throttle(settings: &Value) -> Option<(Value, Value)> {
    Some((
        settings.get("ThrottlingRateLimit")?.clone(),
        settings.get("ThrottlingBurstLimit")?.clone(),
    ))
}

impl Template {
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let root: Value = serde_yaml_ng::from_str(text)?;
        let resources = root
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or_else(|| shape("Resources", "missing"))?;
        let mut template = Template {
            tables: vec![],
            queues: vec![],
            buses: vec![],
            rules: vec![],
            email_identities: vec![],
            secrets: vec![],
            user_pools: vec![],
            user_pool_groups: vec![],
            routes: vec![],
            consumers: vec![],
            schedules: vec![],
            streams: vec![],
            environment: BTreeMap::new(),
            parameters: BTreeMap::new(),
            throttling: ThrottlingSpec::default(),
        };
        for (id, resource) in resources {
            let id = id.as_str().ok_or_else(|| shape("Resources", "non-string logical id"))?.to_owned();
            let kind = resource.get("Type").and_then(Value::as_str).unwrap_or_default();
            let props = resource.get("Properties").cloned().unwrap_or(Value::Mapping(Mapping::new()));
            match kind {
                "AWS::DynamoDB::Table" => template.tables.push(table(&id, &props)?),
                "AWS::SQS::Queue" => template.queues.push(queue(&id, &props)),
                "AWS::Events::EventBus" => template.buses.push(id.clone()),
                "AWS::SecretsManager::Secret" => template.secrets.push(id.clone()),
                "AWS::Cognito::UserPool" => template.user_pools.push((id.clone(), props.clone())),
                "AWS::Cognito::UserPoolGroup" => {
                    let pool = props
                        .get("UserPoolId")
                        .and_then(reference)
                        .ok_or_else(|| shape(&id, "a group without its pool"))?;
                    let name = props
                        .get("GroupName")
                        .and_then(Value::as_str)
                        .ok_or_else(|| shape(&id, "a group without GroupName"))?;
                    template.user_pool_groups.push((pool, name.to_owned()));
                }
                "AWS::SES::EmailIdentity" => template.email_identities.push(
                    props
                        .get("EmailIdentity")
                        .cloned()
                        .ok_or_else(|| shape(&id, "an identity without EmailIdentity"))?,
                ),
                "AWS::Events::Rule" => {
                    // Rules on the default bus (schedules) belong to the functions that declare them.
                    if let Some(bus) = props.get("EventBusName").and_then(reference) {
                        let pattern = props
                            .get("EventPattern")
                            .ok_or_else(|| shape(&id, "rule without an EventPattern"))?;
                        let queues = props
                            .get("Targets")
                            .and_then(Value::as_sequence)
                            .into_iter()
                            .flatten()
                            .filter_map(|target| target.get("Arn").and_then(reference))
                            .collect();
                        template.rules.push(RuleSpec {
                            logical_id: id.clone(),
                            bus,
                            pattern: serde_json::to_string(pattern).map_err(|_| shape(&id, "an EventPattern that is not JSON"))?,
                            queues,
                        });
                    }
                }
                "AWS::Serverless::Function" => function(&id, resource, &props, &mut template)?,
                "AWS::Serverless::HttpApi" => {
                    template.throttling.default = props.get("DefaultRouteSettings").and_then(throttle);
                    for (route, settings) in props.get("RouteSettings").and_then(Value::as_mapping).into_iter().flatten() {
                        if let (Some(route), Some(limit)) = (route.as_str(), throttle(settings)) {
                            template.throttling.routes.insert(route.to_owned(), limit);
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(vars) = root
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(|f| f.get("Environment"))
            .and_then(|e| e.get("Variables"))
        {
            for (name, value) in vars.as_mapping().into_iter().flatten() {
                if let Some(name) = name.as_str() {
                    template.environment.insert(name.to_owned(), value.clone());
                }
            }
        }
        for (name, param) in root.get("Parameters").and_then(Value::as_mapping).into_iter().flatten() {
            if let (Some(name), Some(default)) = (name.as_str(), param.get("Default")) {
                template.parameters.insert(name.to_owned(), scalar(default));
            }
        }
        Ok(template)
    }
}
