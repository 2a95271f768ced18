//! Fault injection below the AWS SDK (chaos builds only): an HTTP client that answers chosen
//! calls as DynamoDB and SQS do when they throttle, fail after taking effect, or cancel a
//! transaction for a conflict. The SDK's own retry layer sees real-looking responses and
//! retries them as it would in AWS, so a test measures the behaviour the service really has.
//! Crash points (`placement.after_commit`, ...) are named places in the handlers where the
//! function "dies". Configured by tests, or by `ORDERS_FAULTS`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultPoint {
    /// The call is throttled without reaching storage (400 ThrottlingException).
    Before,
    /// Storage is down: the call fails without effect (503 ServiceUnavailable), as in an outage.
    Down,
    /// The call takes effect, then its answer is lost (500 InternalServerError).
    After,
    /// A transaction is cancelled for a conflict with another one (TransactionCanceledException
    /// with a TransactionConflict reason), without effect. DynamoDB Local never does this.
    Conflict,
    /// A batch call (`PutEvents`) answers 200 but takes none of its entries: each comes back
    /// with an error code, as EventBridge reports a partial failure.
    Refused,
    /// A named point of a handler where the process dies (`placement.after_commit`, ...).
    Crash,
}

#[derive(Debug, Default)]
struct Rules {
    /// Fail the next N calls of an operation at a point.
    scripted: HashMap<(String, FaultPoint), u32>,
    /// Fail this fraction of the calls of an operation at a point.
    rates: HashMap<(String, FaultPoint), f64>,
    injected: u64,
    /// Every request seen, by operation: what a path costs in calls.
    calls: HashMap<String, u64>,
    /// DynamoDB's per-item write ceiling, if imposed (DynamoDB Local has none).
    ceiling: Option<ItemCeiling>,
    /// DynamoDB's per-item read ceiling, in half read units, if imposed.
    read_ceiling: Option<ItemCeiling>,
}

/// At most `units` capacity units per item per second, as one DynamoDB partition serves: for
/// writes about 1,000 WCU/s (a transactional write costs 2, a standard one 1, per KB); for reads
/// 3,000 RCU/s (a strongly consistent read of up to 4 KB costs 1, an eventually consistent one
/// half that, so reads are counted in halves). A request that would pass it on any item is
/// refused whole, without effect, with DynamoDB's throttling error.
#[derive(Debug)]
struct ItemCeiling {
    units: u32,
    /// Units each item has used in the current second.
    used: HashMap<String, (u64, u32)>,
    throttled: u64,
}

impl ItemCeiling {
    fn new(units: u32) -> Self {
        Self {
            units,
            used: HashMap::new(),
            throttled: 0,
        }
    }

    /// Admits the writes (item, units) or answers which of them would pass the ceiling.
    fn admit(&mut self, writes: &[(String, u32)], second: u64) -> Result<(), Vec<usize>> {
        let over: Vec<usize> = writes
            .iter()
            .enumerate()
            .filter(|(_, (item, units))| {
                let used = self.used.get(item).filter(|(at, _)| *at == second).map_or(0, |(_, used)| *used);
                used + units > self.units
            })
            .map(|(index, _)| index)
            .collect();
        if !over.is_empty() {
            self.throttled += 1;
            return Err(over);
        }
        for (item, units) in writes {
            let entry = self.used.entry(item.clone()).or_insert((second, 0));
            if entry.0 != second {
                *entry = (second, 0);
            }
            entry.1 += units;
        }
        // Forget the items of past seconds, so that the map stays as small as the hot set.
        if self.used.len() > 100_000 {
            self.used.retain(|_, (at, _)| *at == second);
        }
        Ok(())
    }
}

/// Which calls fail, shared by every client built from it. Operations are named as the AWS
/// APIs name them (`TransactWriteItems`, `BatchGetItem`, `GetItem`, `Query`, `SendMessage`, ...).
#[derive(Debug, Clone, Default)]
pub struct FaultPlan(Arc<Mutex<Rules>>);

#[derive(Debug, thiserror::Error)]
#[error(
    "ORDERS_FAULTS entry '{0}' is not Operation:before|down|after|conflict|refused=rate or point:crash=rate, with a rate from 0 to 1, \
     or item-wcu=N / item-rcu=N (a per-item write or read ceiling, N from 1)"
)]
pub struct BadFaultSpec(String);

impl FaultPlan {
    /// Parses `TransactWriteItems:before=0.2,BatchGetItem:after=0.05,placement.after_commit:crash=0.1,item-wcu=1000,item-rcu=3000`.
    pub fn parse(spec: &str) -> Result<Self, BadFaultSpec> {
        let plan = Self::default();
        for entry in spec.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
            let bad = || BadFaultSpec(entry.to_owned());
            let (target, rate) = entry.split_once('=').ok_or_else(bad)?;
            if target == "item-wcu" || target == "item-rcu" {
                let units: u32 = rate.parse().ok().filter(|units| *units > 0).ok_or_else(bad)?;
                match target {
                    "item-wcu" => plan.limit_item_writes(Some(units)),
                    _ => plan.limit_item_reads(Some(units)),
                }
                continue;
            }
            let (op, point) = target.split_once(':').ok_or_else(bad)?;
            let point = match point {
                "before" => FaultPoint::Before,
                "down" => FaultPoint::Down,
                "after" => FaultPoint::After,
                "conflict" => FaultPoint::Conflict,
                "refused" => FaultPoint::Refused,
                "crash" => FaultPoint::Crash,
                _ => return Err(bad()),
            };
            let rate: f64 = rate.parse().map_err(|_| bad())?;
            if !(0.0..=1.0).contains(&rate) {
                return Err(bad());
            }
            plan.set_rate(op, point, rate);
        }
        Ok(plan)
    }

    pub fn fail_next(&self, op: &str, point: FaultPoint, times: u32) {
        self.with(|rules| *rules.scripted.entry((op.to_owned(), point)).or_default() += times);
    }

    pub fn set_rate(&self, op: &str, point: FaultPoint, rate: f64) {
        self.with(|rules| rules.rates.insert((op.to_owned(), point), rate));
    }

    /// Imposes (or lifts) a per-item write ceiling of `wcu` units per second.
    pub fn limit_item_writes(&self, wcu: Option<u32>) {
        self.with(|rules| rules.ceiling = wcu.map(ItemCeiling::new));
    }

    /// Imposes (or lifts) a per-item read ceiling of `rcu` units per second.
    pub fn limit_item_reads(&self, rcu: Option<u32>) {
        self.with(|rules| rules.read_ceiling = rcu.map(|rcu| ItemCeiling::new(rcu.saturating_mul(2))));
    }

    /// How many requests the per-item write ceiling has refused.
    pub fn throttled_by_item_ceiling(&self) -> u64 {
        self.with(|rules| rules.ceiling.as_ref().map_or(0, |ceiling| ceiling.throttled))
    }

    /// How many requests the per-item read ceiling has refused.
    pub fn throttled_by_read_ceiling(&self) -> u64 {
        self.with(|rules| rules.read_ceiling.as_ref().map_or(0, |ceiling| ceiling.throttled))
    }

    /// Checks a read request against the per-item read ceiling. BatchGetItem is refused whole,
    /// as DynamoDB does when it can serve none of the keys (with some served, it would return
    /// the rest as unprocessed keys; the placements this models read one product).
    fn throttle_hot_reads(&self, op: &str, request: &HttpRequest) -> Option<HttpResponse> {
        self.over_ceiling(|rules| &mut rules.read_ceiling, || read_items(op, request))?;
        Some(aws_error(400, "ProvisionedThroughputExceededException", THROTTLED, None))
    }

    /// Checks a write request against the per-item ceiling: the answer DynamoDB gives when it
    /// throttles, or `None` to let the request through.
    fn throttle_hot_items(&self, op: &str, request: &HttpRequest) -> Option<HttpResponse> {
        let (writes, over) = self.over_ceiling(|rules| &mut rules.ceiling, || written_items(op, request))?;
        Some(if op == "TransactWriteItems" {
            let reasons: Vec<serde_json::Value> = (0..writes.len())
                .map(|index| match over.contains(&index) {
                    true => serde_json::json!({"Code": "ThrottlingError", "Message": THROTTLED}),
                    false => serde_json::json!({"Code": "None"}),
                })
                .collect();
            aws_error(
                400,
                "TransactionCanceledException",
                THROTTLED,
                Some(serde_json::Value::Array(reasons)),
            )
        } else {
            aws_error(400, "ProvisionedThroughputExceededException", THROTTLED, None)
        })
    }

    /// The items a request would take past a ceiling (with all it touches), counted as an
    /// injected fault; `None` when no ceiling is imposed or the request passes it.
    fn over_ceiling(
        &self,
        ceiling: fn(&mut Rules) -> &mut Option<ItemCeiling>,
        touched: impl FnOnce() -> Option<Vec<ItemUnits>>,
    ) -> Option<(Vec<ItemUnits>, Vec<usize>)> {
        let items = self.with(|rules| ceiling(rules).is_some().then(touched).flatten())?;
        let over = self
            .with(|rules| ceiling(rules).as_mut().map(|ceiling| ceiling.admit(&items, unix_second())))?
            .err()?;
        self.with(|rules| rules.injected += 1);
        Some((items, over))
    }

    pub fn clear(&self) {
        self.with(|rules| {
            rules.scripted.clear();
            rules.rates.clear();
        });
    }

    /// Whether the process dies at this named point now (as far as the caller can tell).
    pub fn crash(&self, point: &str) -> bool {
        self.strikes(point, FaultPoint::Crash)
    }

    /// How many faults have been injected so far.
    pub fn injected(&self) -> u64 {
        self.with(|rules| rules.injected)
    }

    /// How many requests of this operation the clients have sent (each SDK attempt counts).
    pub fn calls(&self, op: &str) -> u64 {
        self.with(|rules| rules.calls.get(op).copied().unwrap_or(0))
    }

    /// Requests sent so far, by operation (`SendMessage`, `PutEvents`, ...; a REST call such as
    /// SES's, which names no target, counts under its path).
    pub fn all_calls(&self) -> HashMap<String, u64> {
        self.with(|rules| rules.calls.clone())
    }

    fn with<T>(&self, f: impl FnOnce(&mut Rules) -> T) -> T {
        let mut guard = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }

    fn strikes(&self, op: &str, point: FaultPoint) -> bool {
        self.with(|rules| {
            let key = (op.to_owned(), point);
            let scripted = rules
                .scripted
                .get_mut(&key)
                .filter(|left| **left > 0)
                .map(|left| *left -= 1)
                .is_some();
            let random = !scripted && rules.rates.get(&key).is_some_and(|rate| rand::random::<f64>() < *rate);
            let strike = scripted || random;
            if strike {
                rules.injected += 1;
            }
            strike
        })
    }

    /// An HTTPS client (the SDK's default stack) that injects this plan's faults.
    pub fn http_client(&self) -> SharedHttpClient {
        let inner = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .build_https();
        SharedHttpClient::new(FaultyHttpClient { inner, plan: self.clone() })
    }
}

impl crate::ports::CrashPoints for FaultPlan {
    fn crash(&self, point: &str) -> bool {
        FaultPlan::crash(self, point)
    }
}

#[derive(Debug)]
struct FaultyHttpClient {
    inner: SharedHttpClient,
    plan: FaultPlan,
}

impl HttpClient for FaultyHttpClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(FaultyConnector {
            inner: self.inner.http_connector(settings, components),
            plan: self.plan.clone(),
        })
    }
}

#[derive(Debug)]
struct FaultyConnector {
    inner: SharedHttpConnector,
    plan: FaultPlan,
}

impl HttpConnector for FaultyConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let op = operation(&request);
        self.plan.with(|rules| *rules.calls.entry(op.clone()).or_default() += 1);
        if let Some(throttled) = self.plan.throttle_hot_items(&op, &request) {
            return HttpConnectorFuture::ready(Ok(throttled));
        }
        if let Some(throttled) = self.plan.throttle_hot_reads(&op, &request) {
            return HttpConnectorFuture::ready(Ok(throttled));
        }
        if self.plan.strikes(&op, FaultPoint::Before) {
            return HttpConnectorFuture::ready(Ok(aws_error(400, "ThrottlingException", "injected throttling", None)));
        }
        if self.plan.strikes(&op, FaultPoint::Down) {
            return HttpConnectorFuture::ready(Ok(aws_error(503, "ServiceUnavailable", "injected outage", None)));
        }
        if self.plan.strikes(&op, FaultPoint::Refused) {
            return HttpConnectorFuture::ready(Ok(entries_refused(&request)));
        }
        if self.plan.strikes(&op, FaultPoint::Conflict) {
            let reasons = serde_json::json!([{"Code": "TransactionConflict", "Message": "injected conflict"}]);
            let answer = aws_error(400, "TransactionCanceledException", "injected conflict", Some(reasons));
            return HttpConnectorFuture::ready(Ok(answer));
        }
        let inner = self.inner.clone();
        let plan = self.plan.clone();
        HttpConnectorFuture::new(async move {
            let response = inner.call(request).await?;
            if plan.strikes(&op, FaultPoint::After) {
                return Ok(aws_error(500, "InternalServerError", "injected failure after the write", None));
            }
            Ok(response)
        })
    }
}

/// The API operation a request calls, from its `X-Amz-Target` (`DynamoDB_20120810.GetItem`),
/// or for a REST call without one, its method and path (`POST /v2/email/outbound-emails`).
fn operation(request: &HttpRequest) -> String {
    match request.headers().get("x-amz-target") {
        Some(target) => target.rsplit('.').next().unwrap_or(target).to_owned(),
        None => {
            let path = request
                .uri()
                .split("://")
                .nth(1)
                .and_then(|rest| rest.find('/').map(|at| &rest[at..]))
                .unwrap_or("/");
            format!("{} {}", request.method(), path.split('?').next().unwrap_or(path))
        }
    }
}

/// The items a DynamoDB write request writes, with the units each costs (items are taken to be
/// under 1 KB): 2 in a transaction, 1 otherwise. Empty for anything that does not write.
fn written_items(op: &str, request: &HttpRequest) -> Option<Vec<(String, u32)>> {
    let body: serde_json::Value = serde_json::from_slice(request.body().bytes()?).ok()?;
    let item = |write: &serde_json::Value| -> String {
        let attributes = if write["Item"].is_object() { &write["Item"] } else { &write["Key"] };
        format!("{}|{}|{}", write["TableName"], attributes["pk"], attributes["sk"])
    };
    Some(match op {
        "PutItem" | "UpdateItem" | "DeleteItem" => vec![(item(&body), 1)],
        "TransactWriteItems" => body["TransactItems"]
            .as_array()?
            .iter()
            .filter_map(|entry| entry.as_object()?.values().next().map(|write| (item(write), 2)))
            .collect(),
        "BatchWriteItem" => body["RequestItems"]
            .as_object()?
            .iter()
            .flat_map(|(table, requests)| {
                requests.as_array().into_iter().flatten().filter_map(move |request| {
                    let write = request.as_object()?.values().next()?;
                    let attributes = if write["Item"].is_object() { &write["Item"] } else { &write["Key"] };
                    Some((format!("\"{table}\"|{}|{}", attributes["pk"], attributes["sk"]), 1))
                })
            })
            .collect(),
        _ => return None,
    })
}

/// An item a request touches, and the capacity units it costs.
type ItemUnits = (String, u32);

/// What DynamoDB says when it throttles an item.
const THROTTLED: &str = "Throughput exceeds the current capacity for one or more items";

/// The items a DynamoDB GetItem or BatchGetItem reads, with the half read units each costs
/// (items are taken to be under 4 KB): 2 strongly consistent, 1 eventually. A Query's reads are
/// not counted. `None` for anything else.
fn read_items(op: &str, request: &HttpRequest) -> Option<Vec<(String, u32)>> {
    let body: serde_json::Value = serde_json::from_slice(request.body().bytes()?).ok()?;
    let halves = |read: &serde_json::Value| if read["ConsistentRead"].as_bool() == Some(true) { 2 } else { 1 };
    let item = |table: &str, key: &serde_json::Value| format!("{table}|{}|{}", key["pk"], key["sk"]);
    Some(match op {
        "GetItem" => vec![(item(body["TableName"].as_str()?, &body["Key"]), halves(&body))],
        "BatchGetItem" => body["RequestItems"]
            .as_object()?
            .iter()
            .flat_map(|(table, read)| {
                let units = halves(read);
                read["Keys"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(move |key| (item(table, key), units))
            })
            .collect(),
        _ => return None,
    })
}

fn unix_second() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// A successful answer in which every entry of the request failed (`FailedEntryCount`).
fn entries_refused(request: &HttpRequest) -> HttpResponse {
    let sent: serde_json::Value = request
        .body()
        .bytes()
        .and_then(|bytes| serde_json::from_slice(bytes).ok())
        .unwrap_or_default();
    let count = sent["Entries"].as_array().map_or(0, Vec::len);
    let entries: Vec<serde_json::Value> = (0..count)
        .map(|_| serde_json::json!({"ErrorCode": "InternalFailure", "ErrorMessage": "injected refusal"}))
        .collect();
    let body = serde_json::json!({"FailedEntryCount": count, "Entries": entries});
    let mut response = HttpResponse::new(
        StatusCode::try_from(200).unwrap_or_else(|_| StatusCode::from(http::StatusCode::OK)),
        SdkBody::from(body.to_string()),
    );
    response.headers_mut().insert("content-type", "application/x-amz-json-1.1");
    response
}

/// An error answer shaped as the AWS JSON protocols shape them.
fn aws_error(status: u16, code: &str, message: &str, reasons: Option<serde_json::Value>) -> HttpResponse {
    let mut body = serde_json::json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{code}"), "message": message});
    if let Some(reasons) = reasons {
        body["CancellationReasons"] = reasons;
    }
    let status = StatusCode::try_from(status).unwrap_or_else(|_| StatusCode::from(http::StatusCode::INTERNAL_SERVER_ERROR));
    let mut response = HttpResponse::new(status, SdkBody::from(body.to_string()));
    response.headers_mut().insert("content-type", "application/x-amz-json-1.0");
    response.headers_mut().insert("x-amzn-errortype", code.to_owned());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_bad_specs_say_which_entry() {
        assert!(FaultPlan::parse("TransactWriteItems:before=0.2, BatchGetItem:after=1, TransactWriteItems:conflict=0.5").is_ok());
        assert!(FaultPlan::parse("").is_ok());
        let err = FaultPlan::parse("TransactWriteItems:during=0.2").unwrap_err();
        assert!(err.to_string().contains("TransactWriteItems:during=0.2"));
        assert!(FaultPlan::parse("x:before=2").is_err());
    }

    #[test]
    fn scripted_faults_strike_exactly_the_number_of_times_asked() {
        let plan = FaultPlan::default();
        plan.fail_next("TransactWriteItems", FaultPoint::Before, 2);
        let strikes: Vec<bool> = (0..4).map(|_| plan.strikes("TransactWriteItems", FaultPoint::Before)).collect();
        assert_eq!(strikes, vec![true, true, false, false]);
        assert_eq!(plan.injected(), 2);
    }

    #[test]
    fn an_item_past_its_write_ceiling_is_throttled_for_the_rest_of_the_second_and_other_items_are_not() {
        let mut ceiling = ItemCeiling::new(5);
        let hot = |units| vec![("hot".to_owned(), units), ("order-1".to_owned(), units)];
        assert_eq!(ceiling.admit(&hot(2), 10), Ok(()));
        assert_eq!(ceiling.admit(&hot(2), 10), Ok(()));
        assert_eq!(ceiling.admit(&hot(2), 10), Err(vec![0, 1]));
        assert_eq!(ceiling.admit(&[("cold".to_owned(), 2)], 10), Ok(()));
        assert_eq!(ceiling.admit(&hot(1), 10), Ok(()), "a refused request used nothing");
        assert_eq!(ceiling.admit(&hot(2), 11), Ok(()), "a new second");
        assert_eq!(ceiling.throttled, 1);
    }

    #[test]
    fn a_transaction_costs_two_units_per_item_and_a_single_write_one() {
        let mut request = HttpRequest::new(SdkBody::from(
            serde_json::json!({"TransactItems": [
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "ORDER#1"}, "sk": {"S": "ORDER"}, "x": {"N": "1"}}}},
                {"Update": {"TableName": "t", "Key": {"pk": {"S": "PRODUCT#a"}, "sk": {"S": "STOCK"}}}}
            ]})
            .to_string(),
        ));
        request.headers_mut().insert("x-amz-target", "DynamoDB_20120810.TransactWriteItems");
        let writes = written_items("TransactWriteItems", &request).unwrap();
        assert_eq!(writes.iter().map(|(_, units)| *units).collect::<Vec<_>>(), [2, 2]);
        assert!(writes[1].0.contains("PRODUCT#a"));
        let single = HttpRequest::new(SdkBody::from(
            serde_json::json!({"TableName": "t", "Key": {"pk": {"S": "PRODUCT#a"}, "sk": {"S": "STOCK"}}}).to_string(),
        ));
        assert_eq!(written_items("UpdateItem", &single).unwrap()[0], (writes[1].0.clone(), 1));
        assert!(written_items("GetItem", &single).is_none());
        assert!(FaultPlan::parse("item-wcu=1000").is_ok());
        assert!(FaultPlan::parse("item-wcu=0").is_err());
        assert!(FaultPlan::parse("item-rcu=3000").is_ok());
        assert!(FaultPlan::parse("item-rcu=x").is_err());
    }

    #[test]
    fn the_operation_is_read_from_the_target_header() {
        let mut request = HttpRequest::new(SdkBody::empty());
        request.headers_mut().insert("x-amz-target", "DynamoDB_20120810.TransactWriteItems");
        assert_eq!(operation(&request), "TransactWriteItems");
        request.headers_mut().insert("x-amz-target", "AmazonSQS.SendMessage");
        assert_eq!(operation(&request), "SendMessage");
    }

    #[test]
    fn an_eventually_consistent_read_costs_half_a_strong_one() {
        let batch = |consistent: bool| {
            let mut request = HttpRequest::new(SdkBody::from(
                serde_json::json!({"RequestItems": {"inv": {
                    "Keys": [{"pk": {"S": "PRODUCT#a"}, "sk": {"S": "PRODUCT"}}, {"pk": {"S": "PRODUCT#a#1"}, "sk": {"S": "PRODUCT"}}],
                    "ConsistentRead": consistent
                }}})
                .to_string(),
            ));
            request.headers_mut().insert("x-amz-target", "DynamoDB_20120810.BatchGetItem");
            read_items("BatchGetItem", &request).unwrap()
        };
        assert_eq!(batch(true).iter().map(|(_, halves)| *halves).collect::<Vec<_>>(), [2, 2]);
        assert_eq!(batch(false).iter().map(|(_, halves)| *halves).collect::<Vec<_>>(), [1, 1]);
        assert!(batch(false)[1].0.contains("PRODUCT#a#1"));
        // 1 RCU a second: one strong read, or two eventually consistent ones.
        let plan = FaultPlan::default();
        plan.limit_item_reads(Some(1));
        let mut ceiling = plan.with(|rules| rules.read_ceiling.take()).unwrap();
        assert_eq!(ceiling.admit(&batch(false), 7), Ok(()));
        assert_eq!(ceiling.admit(&batch(false), 7), Ok(()));
        assert!(ceiling.admit(&batch(false), 7).is_err());
        assert_eq!(ceiling.admit(&batch(true), 8), Ok(()));
        assert!(ceiling.admit(&batch(true), 8).is_err());
    }
}
