//! IAM parity: every AWS call a function made while the suite ran is allowed by that function's
//! own policy in `template.yaml`, and every action a policy grants is used by some call, or is
//! listed below with the reason it is needed. DynamoDB Local and moto accept any credentials, so
//! nothing else here would notice a missing grant before the first request in AWS.
//!
//! The suite records the calls (`ORDERS_CALL_LOG`, one file per test process under
//! `target/iam-calls/`); `make test` runs this check after it: `cargo test --workspace --test iam -- --ignored`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use orders_shared::calls::Call;
use serde_yaml_ng::value::TaggedValue;
use serde_yaml_ng::Value;

/// Read once per cold start, before any invocation (`startup::Secrets::read`); the local runner
/// reads them once for all functions, so no invocation records the call.
const COLD_START_READ: &str = "read once per cold start, before any invocation; the local runner reads it once for all functions";
/// A stream's event source mapping describes a batch it gave up on to its OnFailure queue with
/// the function's role.
const ON_FAILURE: &str = "the stream's event source mapping sends a batch it gave up on to its OnFailure queue with the function's role";

/// Grants no test exercises, each with why it is needed: (function, action, resource, reason).
const NEEDED_WITHOUT_A_CALL: &[(&str, &str, &str, &str)] = &[
    (
        "payment-webhook",
        "secretsmanager:GetSecretValue",
        "StripeSecretKey",
        COLD_START_READ,
    ),
    (
        "payment-webhook",
        "secretsmanager:GetSecretValue",
        "StripeWebhookSecret",
        COLD_START_READ,
    ),
    ("start-payment", "secretsmanager:GetSecretValue", "StripeSecretKey", COLD_START_READ),
    (
        "settle-refunds",
        "secretsmanager:GetSecretValue",
        "StripeSecretKey",
        COLD_START_READ,
    ),
    (
        "payment-failed",
        "secretsmanager:GetSecretValue",
        "StripeSecretKey",
        COLD_START_READ,
    ),
    ("cancel-order", "secretsmanager:GetSecretValue", "StripeSecretKey", COLD_START_READ),
    ("sweeper", "secretsmanager:GetSecretValue", "StripeSecretKey", COLD_START_READ),
    (
        "set-order-status",
        "secretsmanager:GetSecretValue",
        "StripeSecretKey",
        COLD_START_READ,
    ),
    ("process-batch", "secretsmanager:GetSecretValue", "StripeSecretKey", COLD_START_READ),
    (
        "reservation-expiry",
        "secretsmanager:GetSecretValue",
        "StripeSecretKey",
        COLD_START_READ,
    ),
    ("publish-events", "sqs:SendMessage", "EventsFailureQueue", ON_FAILURE),
    ("reservation-expiry", "sqs:SendMessage", "StreamFailureQueue", ON_FAILURE),
    ("stock-movements", "sqs:SendMessage", "StreamFailureQueue", ON_FAILURE),
    (
        "get-order-by-number",
        "dynamodb:PutItem",
        "OrdersTable",
        "reading an order stored before late payments were records writes them out (the read get-order's test exercises)",
    ),
];

/// What a policy statement allows: actions on resources (canonical: a logical id, `<table
/// id>/index/<name>`, `identity/<address>`, `*` patterns).
#[derive(Debug, Clone)]
struct Grant {
    actions: Vec<String>,
    resources: Vec<String>,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A resource as a policy names it, in the check's canonical form.
fn policy_resource(value: &Value, parameters: &BTreeMap<String, String>) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Tagged(tagged) => {
            let TaggedValue { tag, value } = tagged.as_ref();
            let text = value.as_str()?;
            match tag.to_string().as_str() {
                "!GetAtt" => Some(text.trim_end_matches(".Arn").to_owned()),
                "!Ref" => Some(text.to_owned()),
                "!Sub" => {
                    if let Some(rest) = text.strip_prefix("${") {
                        // `${Table.Arn}/index/name`
                        let (id, tail) = rest.split_once('}')?;
                        return Some(format!("{}{tail}", id.trim_end_matches(".Arn")));
                    }
                    // `arn:...:identity/${Parameter}`: the identity the parameter names.
                    let (_, identity) = text.split_once(":identity/")?;
                    let parameter = identity.strip_prefix("${")?.strip_suffix('}')?;
                    Some(format!("identity/{}", parameters.get(parameter)?))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn strings(value: &Value) -> Vec<&Value> {
    match value {
        Value::Sequence(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// Each function's grants, by binary name.
fn policies() -> BTreeMap<String, Vec<Grant>> {
    let text = std::fs::read_to_string(repo().join("template.yaml")).unwrap();
    let spec: Value = serde_yaml_ng::from_str(&text).unwrap();
    let parameters: BTreeMap<String, String> = spec["Parameters"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter_map(|(name, declared)| Some((name.as_str()?.to_owned(), declared["Default"].as_str()?.to_owned())))
        .collect();
    let mut functions = BTreeMap::new();
    for (id, resource) in spec["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_owned();
        let mut grants = Vec::new();
        for policy in resource["Properties"]["Policies"].as_sequence().into_iter().flatten() {
            assert!(
                policy.get("Statement").is_some(),
                "{id:?}: only inline policy documents are checked; a SAM policy template needs its actions spelled out here"
            );
            for statement in policy["Statement"].as_sequence().unwrap() {
                assert_eq!(statement["Effect"], "Allow", "{id:?}");
                let actions = strings(&statement["Action"])
                    .into_iter()
                    .map(|a| a.as_str().unwrap().to_owned())
                    .collect();
                let resources = strings(&statement["Resource"])
                    .into_iter()
                    .map(|r| policy_resource(r, &parameters).unwrap_or_else(|| panic!("{id:?}: a resource this check cannot read: {r:?}")))
                    .collect();
                grants.push(Grant { actions, resources });
            }
        }
        functions.insert(binary, grants);
    }
    functions
}

/// The logical id in a local name (`t1a2b3c4d5e6f-OrdersTable` is `OrdersTable`).
fn logical(name: &str) -> &str {
    name.split_once('-').map_or(name, |(_, id)| id)
}

/// A recorded call's resource in the check's canonical form.
fn called_resource(call: &Call) -> String {
    let resource = call.resource.as_str();
    match call.action.split_once(':').map(|(service, _)| service) {
        Some("dynamodb" | "events") => logical(resource).to_owned(),
        Some("sqs") => logical(resource.rsplit('/').next().unwrap_or(resource)).to_owned(),
        Some("ses") => format!("identity/{resource}"),
        // A pool id (`us-east-1_AbC123`) names no logical id: the stack has one pool.
        Some("cognito-idp") => "UserPool".to_owned(),
        // `arn:...:secret:<prefix>-<id>-<6 random characters>`
        Some("secretsmanager") => {
            let name = resource.rsplit_once(":secret:").map_or(resource, |(_, name)| name);
            let name = name.rsplit_once('-').map_or(name, |(name, _)| name);
            logical(name).to_owned()
        }
        _ => resource.to_owned(),
    }
}

fn matches(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => text.len() >= head.len() + tail.len() && text.starts_with(head) && text.ends_with(tail),
    }
}

fn allows(grant: &Grant, action: &str, resource: &str) -> bool {
    grant.actions.iter().any(|granted| matches(granted, action)) && grant.resources.iter().any(|granted| matches(granted, resource))
}

fn recorded_calls() -> BTreeSet<(String, String, String)> {
    let dir = repo().join("target").join("iam-calls");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|err| {
        panic!(
            "no calls recorded in {} ({err}): run the suite first (make test does)",
            dir.display()
        )
    });
    let mut calls = BTreeSet::new();
    for entry in entries {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            let call: Call = serde_json::from_str(line).unwrap();
            calls.insert((call.function.clone(), call.action.clone(), called_resource(&call)));
        }
    }
    assert!(!calls.is_empty(), "the suite recorded no calls");
    calls
}

#[test]
#[ignore = "run after the suite, which records the calls: make test does"]
fn every_call_a_function_makes_is_granted_by_its_own_policy_and_every_grant_is_used() {
    let policies = policies();
    let calls = recorded_calls();
    let mut missing = Vec::new();
    for (function, action, resource) in &calls {
        let Some(grants) = policies.get(function) else {
            missing.push(format!("{function}: not a function of the template"));
            continue;
        };
        if !grants.iter().any(|grant| allows(grant, action, resource)) {
            missing.push(format!("{function} calls {action} on {resource}: its policy does not allow it"));
        }
    }
    let mut unused = Vec::new();
    for (function, grants) in &policies {
        for grant in grants {
            for action in &grant.actions {
                for resource in &grant.resources {
                    let used = calls
                        .iter()
                        .any(|(called_by, called, on)| called_by == function && matches(action, called) && matches(resource, on));
                    let explained = NEEDED_WITHOUT_A_CALL
                        .iter()
                        .any(|(f, a, r, _)| f == function && a == action && r == resource);
                    if !used && !explained {
                        unused.push(format!("{function}: {action} on {resource} is granted but no test calls it"));
                    }
                }
            }
        }
    }
    let functions: BTreeSet<&String> = calls.iter().map(|(function, _, _)| function).collect();
    println!(
        "IAM parity: {} distinct calls of {} functions checked against {} policies",
        calls.len(),
        functions.len(),
        policies.len()
    );
    assert!(missing.is_empty(), "calls without a grant:\n  {}", missing.join("\n  "));
    assert!(
        unused.is_empty(),
        "grants no test uses (remove them, or list them in NEEDED_WITHOUT_A_CALL with the reason):\n  {}",
        unused.join("\n  ")
    );
}

#[test]
fn a_local_resource_name_reads_as_the_logical_id_the_policy_names() {
    let call = |action: &str, resource: &str| Call {
        function: "f".into(),
        action: action.into(),
        resource: resource.into(),
    };
    assert_eq!(
        called_resource(&call("dynamodb:Query", "t0a1b2c3d4e5f-OrdersTable/index/by_user_created")),
        "OrdersTable/index/by_user_created"
    );
    assert_eq!(
        called_resource(&call(
            "sqs:SendMessage",
            "http://127.0.0.1:5000/123456789012/t0a1b2c3d4e5f-RefundQueue"
        )),
        "RefundQueue"
    );
    assert_eq!(
        called_resource(&call(
            "secretsmanager:GetSecretValue",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:t0a1b2c3d4e5f-StripeWebhookSecret-AbCdEf"
        )),
        "StripeWebhookSecret"
    );
    assert!(matches("OrdersTable/index/*", "OrdersTable/index/by_number"));
    assert!(!matches("OrdersTable", "OrdersTable/index/by_number"));
}
