//! The one typed configuration, read from the environment at cold start.

use std::time::Duration;

use rust_decimal::Decimal;

use crate::adapters::aws::ClientSettings;
pub use crate::adapters::aws::StorageTimeouts;
#[cfg(feature = "chaos")]
use crate::adapters::faults::FaultPlan;
pub use crate::auth::SignInSettings;
use crate::domain::contact::Email;
use crate::domain::{Money, PricingPolicy};
use crate::retry::RetryPolicy;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// The variable naming the secret that holds Stripe's webhook signing secret (`whsec_...`).
pub const WEBHOOK_SECRET_ARN: &str = "STRIPE_WEBHOOK_SECRET_ARN";
/// The variable naming the secret that holds the Stripe secret key (`sk_...` or `rk_...`).
pub const STRIPE_KEY_ARN: &str = "STRIPE_SECRET_KEY_ARN";

#[derive(Debug, Clone)]
pub struct Config {
    pub orders_table: String,
    pub inventory_table: String,
    pub reserve_stock_queue_url: String,
    /// The EventBridge bus domain events go to.
    pub event_bus_name: String,
    /// The queue of admins' batch items.
    pub batch_queue_url: String,
    /// The refund step's queue.
    pub refund_queue_url: String,
    /// The marketplace's share of each seller's subtotal, shown on invoices.
    pub commission_rate: Decimal,
    pub pricing: PricingPolicy,
    /// How long a customer has to pay before the reservation lapses.
    pub payment_timeout: Duration,
    /// Tries the SDK makes of one storage or queue call that is throttled, fails with a 5xx or
    /// times out, the first included. The only retry of those: placement hands over to the
    /// queue, and other requests answer 503, once they run out.
    pub storage_attempts: u32,
    /// How long one storage or queue call may take: connecting, each attempt, and all its
    /// attempts together. Small enough that a request's calls fit in the function's timeout.
    pub storage_timeouts: StorageTimeouts,
    /// When the per-instance storage breaker opens, and for how long.
    pub breaker: crate::breaker::BreakerSettings,
    /// Retries of a transaction cancelled by a concurrent one, which the SDK does not retry.
    pub contention_retry: RetryPolicy,
    /// How long an order may wait in PENDING_RESERVING_STOCK before the sweeper re-drives it.
    pub stuck_after: Duration,
    /// How long after delivery a customer may ask to return lines.
    pub return_window: Duration,
    /// How long a closed order keeps the customer's name, email, address and note before the
    /// sweeper erases them.
    pub personal_data_retention: Duration,
    /// The largest order total accepted for cash on delivery.
    pub cod_max_total: Money,
    /// What every order number starts with (`ORD` in `ORD-20261124-000123`).
    pub order_number_prefix: String,
    /// The verified address notifications are sent from.
    pub notification_sender: Email,
    /// Where the key Stripe signs webhooks with is kept (a Secrets Manager ARN, read at cold
    /// start); only the webhook function has one.
    pub webhook_secret_id: Option<String>,
    /// Where the Stripe secret key is kept (read at cold start); only the functions that call
    /// Stripe have one.
    pub stripe_key_id: Option<String>,
    /// Stripe's API (`https://api.stripe.com`; localstripe's address on a local stack).
    pub stripe_api_base: String,
    /// This deployment's name, in the metadata of every payment it starts: events about the
    /// payments of another deployment on the same Stripe account are not its own.
    pub shop_id: String,
    /// The Stripe publishable key (`pk_...`) the pages hand Stripe.js; none: no card form.
    pub stripe_publishable_key: Option<String>,
    /// Where the pages sign people in (the pages function only); none until the stack knows
    /// its pages' URL.
    pub sign_in: Option<SignInSettings>,
    /// The Cognito user pool an admin binds users to sellers in (`USER_POOL_ID`; only the
    /// functions that do have one).
    pub user_pool_id: Option<String>,
    /// Faults to inject (chaos builds: tests, the load generator, the local runner).
    #[cfg(feature = "chaos")]
    pub faults: Option<FaultPlan>,
    /// Where each function's AWS calls are recorded for the IAM parity check (`ORDERS_CALL_LOG`;
    /// chaos builds only: the tests).
    #[cfg(feature = "chaos")]
    pub call_log: Option<std::path::PathBuf>,
}

impl Config {
    /// What the AWS clients are built with.
    pub fn client_settings(&self) -> ClientSettings {
        ClientSettings {
            attempts: self.storage_attempts,
            timeouts: self.storage_timeouts,
            user_pool_id: self.user_pool_id.clone(),
            #[cfg(feature = "chaos")]
            faults: self.faults.clone(),
            #[cfg(feature = "chaos")]
            call_log: self.call_log.clone(),
        }
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads from any lookup, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty()).ok_or(ConfigError::Missing(name));
        let parsed = |name: &'static str, default: &str| lookup(name).unwrap_or_else(|| default.to_owned());
        let invalid = |name: &'static str, reason: &str| ConfigError::Invalid {
            name,
            reason: reason.to_owned(),
        };

        let currency = parsed("ORDERS_CURRENCY", "USD");
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(invalid("ORDERS_CURRENCY", "must be a three-letter ISO 4217 code such as USD"));
        }
        // A share of an amount: a decimal from 0 up to (not including) 1.
        let fraction = |name: &'static str, default: &str, example: &str| {
            parsed(name, default)
                .parse::<Decimal>()
                .ok()
                .filter(|rate| !rate.is_sign_negative() && *rate < Decimal::ONE)
                .ok_or_else(|| {
                    invalid(
                        name,
                        &format!("must be a decimal from 0 up to (not including) 1, such as {example}"),
                    )
                })
        };
        let tax_rate = fraction("ORDERS_TAX_RATE", "0", "0.08")?;
        let commission_rate = fraction("COMMISSION_RATE", "0.10", "0.10")?;
        let shipping_fee =
            Money::parse(&parsed("ORDERS_SHIPPING_FEE", "0")).map_err(|err| invalid("ORDERS_SHIPPING_FEE", &err.to_string()))?;
        // A whole number within its bounds.
        let whole = |name: &'static str, default: &str, range: std::ops::RangeInclusive<u64>, reason: &str| {
            parsed(name, default)
                .parse::<u64>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| invalid(name, reason))
        };
        let timeout_secs = whole(
            "PAYMENT_TIMEOUT_SECONDS",
            "900",
            1..=7 * 24 * 3600,
            "must be whole seconds from 1 to 604800",
        )?;
        let storage_attempts = whole("STORAGE_ATTEMPTS", "3", 1..=10, "must be from 1 to 10")?;
        let millis = |name: &'static str, default: &str| {
            whole(name, default, 50..=60_000, "must be whole milliseconds from 50 to 60000").map(Duration::from_millis)
        };
        let storage_timeouts = StorageTimeouts {
            connect: millis("STORAGE_CONNECT_TIMEOUT_MS", "1000")?,
            attempt: millis("STORAGE_ATTEMPT_TIMEOUT_MS", "2000")?,
            operation: millis("STORAGE_OPERATION_TIMEOUT_MS", "3000")?,
        };
        if storage_timeouts.attempt > storage_timeouts.operation {
            return Err(invalid(
                "STORAGE_ATTEMPT_TIMEOUT_MS",
                "must not be longer than STORAGE_OPERATION_TIMEOUT_MS",
            ));
        }
        let breaker = crate::breaker::BreakerSettings {
            failures: u32::try_from(whole("BREAKER_FAILURES", "10", 1..=1000, "must be from 1 to 1000")?).unwrap_or(10),
            cooldown: millis("BREAKER_COOLDOWN_MS", "5000")?,
        };
        let stuck_secs = whole(
            "STUCK_RESERVING_SECONDS",
            "120",
            1..=86_400,
            "must be whole seconds from 1 to 86400",
        )?;
        let cod_max_total = Money::parse(&parsed("COD_MAX_TOTAL", "500.00")).map_err(|err| invalid("COD_MAX_TOTAL", &err.to_string()))?;
        let order_number_prefix = parsed("ORDER_NUMBER_PREFIX", "ORD");
        if !crate::domain::numbering::is_prefix(&order_number_prefix) {
            return Err(invalid(
                "ORDER_NUMBER_PREFIX",
                "must be 1 to 8 upper-case letters or digits, such as ORD",
            ));
        }
        let return_window_days = whole("RETURN_WINDOW_DAYS", "30", 1..=365, "must be whole days from 1 to 365")?;
        let retention_days = whole("PERSONAL_DATA_RETENTION_DAYS", "365", 1..=3650, "must be whole days from 1 to 3650")?;
        let secret_id = |name: &str| lookup(name).filter(|text| !text.trim().is_empty());
        let stripe_api_base = web_address(
            "STRIPE_API_BASE",
            parsed("STRIPE_API_BASE", crate::adapters::stripe::DEFAULT_API_BASE),
        )?;
        let sign_in = sign_in_settings(&lookup)?;
        let shop_id = required("SHOP_ID")?;
        let stripe_publishable_key = lookup("STRIPE_PUBLISHABLE_KEY").filter(|key| !key.is_empty());
        if stripe_publishable_key.as_deref().is_some_and(|key| !is_publishable_key(key)) {
            return Err(invalid(
                "STRIPE_PUBLISHABLE_KEY",
                "must be a Stripe publishable key: pk_test_ or pk_live_ and at least 8 letters or digits",
            ));
        }
        #[cfg(feature = "chaos")]
        let faults = match lookup("ORDERS_FAULTS").filter(|spec| !spec.trim().is_empty()) {
            Some(spec) => Some(FaultPlan::parse(&spec).map_err(|err| invalid("ORDERS_FAULTS", &err.to_string()))?),
            None => None,
        };
        Ok(Self {
            orders_table: required("ORDERS_TABLE")?,
            inventory_table: required("INVENTORY_TABLE")?,
            reserve_stock_queue_url: required("RESERVE_STOCK_QUEUE_URL")?,
            event_bus_name: required("EVENT_BUS_NAME")?,
            batch_queue_url: required("BATCH_QUEUE_URL")?,
            refund_queue_url: required("REFUND_QUEUE_URL")?,
            commission_rate,
            pricing: PricingPolicy {
                currency,
                tax_rate,
                shipping_fee,
            },
            payment_timeout: Duration::from_secs(timeout_secs),
            storage_attempts: u32::try_from(storage_attempts).unwrap_or(3),
            storage_timeouts,
            breaker,
            contention_retry: RetryPolicy::default(),
            stuck_after: Duration::from_secs(stuck_secs),
            return_window: Duration::from_secs(return_window_days * 24 * 3600),
            personal_data_retention: Duration::from_secs(retention_days * 24 * 3600),
            cod_max_total,
            order_number_prefix,
            notification_sender: Email::parse(&parsed("NOTIFICATION_SENDER", "orders@example.com"))
                .map_err(|err| invalid("NOTIFICATION_SENDER", &err.to_string()))?,
            webhook_secret_id: secret_id(WEBHOOK_SECRET_ARN),
            stripe_key_id: secret_id(STRIPE_KEY_ARN),
            stripe_api_base,
            shop_id,
            stripe_publishable_key,
            sign_in,
            user_pool_id: lookup("USER_POOL_ID").filter(|id| !id.is_empty()),
            #[cfg(feature = "chaos")]
            call_log: lookup("ORDERS_CALL_LOG")
                .filter(|path| !path.is_empty())
                .map(std::path::PathBuf::from),
            #[cfg(feature = "chaos")]
            faults,
        })
    }
}

/// The pages' sign-in: none while `PAGES_URL` is empty (the first deployment, before the API's
/// URL is known).
fn sign_in_settings(lookup: &impl Fn(&str) -> Option<String>) -> Result<Option<SignInSettings>, ConfigError> {
    let Some(pages_url) = lookup("PAGES_URL").filter(|url| !url.is_empty()) else {
        return Ok(None);
    };
    let pages_url = web_address("PAGES_URL", pages_url)?;
    if !pages_url.ends_with('/') {
        return Err(ConfigError::Invalid {
            name: "PAGES_URL",
            reason: "must end with a slash, as the app client's callback URL does".to_owned(),
        });
    }
    let needed = |name: &'static str| lookup(name).filter(|value| !value.is_empty()).ok_or(ConfigError::Missing(name));
    let base_url = web_address("SIGN_IN_URL", needed("SIGN_IN_URL")?)?.trim_end_matches('/').to_owned();
    let client_id = needed("USER_POOL_CLIENT_ID")?;
    if client_id.len() > 128 || !client_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(ConfigError::Invalid {
            name: "USER_POOL_CLIENT_ID",
            reason: "must be an app client id: letters, digits, - and _".to_owned(),
        });
    }
    Ok(Some(SignInSettings {
        base_url,
        client_id,
        pages_url,
    }))
}

/// An https:// address, or a loopback one for a local stack; nothing that could break out of a
/// JSON string or a header.
fn web_address(name: &'static str, value: String) -> Result<String, ConfigError> {
    let allowed = value.starts_with("https://") || value.starts_with("http://127.0.0.1:");
    if allowed
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\\' | b'<' | b'>' | b'\''))
    {
        Ok(value)
    } else {
        Err(ConfigError::Invalid {
            name,
            reason: "must be an https:// address (or a loopback one for a local stack)".to_owned(),
        })
    }
}

/// `pk_test_...` or `pk_live_...`, as the template's `StripePublishableKey` allows.
fn is_publishable_key(key: &str) -> bool {
    let rest = key.strip_prefix("pk_test_").or_else(|| key.strip_prefix("pk_live_"));
    rest.is_some_and(|rest| rest.len() >= 8 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    const BASE: [(&str, &str); 7] = [
        ("ORDERS_TABLE", "o"),
        ("INVENTORY_TABLE", "i"),
        ("RESERVE_STOCK_QUEUE_URL", "http://q"),
        ("EVENT_BUS_NAME", "orders"),
        ("BATCH_QUEUE_URL", "http://b"),
        ("REFUND_QUEUE_URL", "http://r"),
        ("SHOP_ID", "orders-prod"),
    ];

    #[test]
    fn the_pages_sign_in_only_once_they_know_their_url_and_then_need_the_sign_in_and_its_client() {
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = BASE.to_vec();
            pairs.extend_from_slice(extra);
            Config::from_lookup(lookup(&pairs))
        };
        assert_eq!(with(&[("PAGES_URL", "")]).unwrap().sign_in, None, "the first deployment");
        let cognito = [
            ("SIGN_IN_URL", "https://shop.auth.eu-west-1.amazoncognito.com/"),
            ("USER_POOL_CLIENT_ID", "4k2example"),
        ];
        let ready = with(&[cognito[0], cognito[1], ("PAGES_URL", "https://api.example.com/")]).unwrap();
        assert_eq!(
            ready.sign_in,
            Some(SignInSettings {
                base_url: "https://shop.auth.eu-west-1.amazoncognito.com".to_owned(),
                client_id: "4k2example".to_owned(),
                pages_url: "https://api.example.com/".to_owned(),
            })
        );
        let refused = |extra: &[(&'static str, &'static str)]| match with(extra) {
            Err(ConfigError::Invalid { name, .. }) => name,
            Err(ConfigError::Missing(name)) => name,
            Ok(_) => "accepted",
        };
        assert_eq!(refused(&[("PAGES_URL", "https://api.example.com/")]), "SIGN_IN_URL");
        assert_eq!(
            refused(&[cognito[0], cognito[1], ("PAGES_URL", "https://api.example.com")]),
            "PAGES_URL"
        );
        assert_eq!(
            refused(&[cognito[0], cognito[1], ("PAGES_URL", "http://api.example.com/")]),
            "PAGES_URL"
        );
        assert_eq!(
            refused(&[cognito[0], cognito[1], ("PAGES_URL", "https://x.example/\"a/")]),
            "PAGES_URL"
        );
        assert_eq!(
            refused(&[
                cognito[0],
                ("USER_POOL_CLIENT_ID", "a b"),
                ("PAGES_URL", "https://api.example.com/")
            ]),
            "USER_POOL_CLIENT_ID"
        );
    }

    #[test]
    fn stripe_is_reached_over_https_and_only_a_local_stack_names_a_loopback_address() {
        let with = |base: &str| {
            let mut pairs = BASE.to_vec();
            pairs.push(("STRIPE_API_BASE", base));
            Config::from_lookup(lookup(&pairs))
        };
        assert_eq!(
            Config::from_lookup(lookup(&BASE)).unwrap().stripe_api_base,
            "https://api.stripe.com"
        );
        assert!(with("http://127.0.0.1:8420").is_ok());
        for refused in ["http://api.stripe.com", "ftp://x", "http://10.0.0.1:8420", ""] {
            assert!(with(refused).is_err(), "{refused}");
        }
        let no_shop: Vec<_> = BASE.iter().copied().filter(|(name, _)| *name != "SHOP_ID").collect();
        assert!(Config::from_lookup(lookup(&no_shop)).is_err());
    }

    #[test]
    fn the_pages_take_only_a_publishable_key_never_a_secret_one() {
        let with = |key: &str| {
            let mut pairs = BASE.to_vec();
            pairs.push(("STRIPE_PUBLISHABLE_KEY", key));
            Config::from_lookup(lookup(&pairs)).map(|config| config.stripe_publishable_key)
        };
        assert_eq!(with("").unwrap(), None);
        assert_eq!(with("pk_live_51Abcdefgh").unwrap().as_deref(), Some("pk_live_51Abcdefgh"));
        for refused in [
            "sk_test_51Abcdefgh",
            "pk_test_short",
            "pk_test_51Abc\"><script>",
            "rk_live_51Abcdefgh",
        ] {
            assert!(with(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn defaults_apply_when_only_the_resources_are_named() {
        let config = Config::from_lookup(lookup(&BASE)).unwrap();
        assert_eq!(config.payment_timeout, Duration::from_secs(900));
        assert_eq!(config.pricing.currency, "USD");
        assert_eq!(config.storage_attempts, 3);
        assert_eq!(config.return_window, Duration::from_secs(30 * 24 * 3600));
        assert_eq!(config.personal_data_retention, Duration::from_secs(365 * 24 * 3600));
    }

    #[test]
    fn a_missing_table_is_named_in_the_error() {
        let err = Config::from_lookup(lookup(&BASE[1..])).unwrap_err();
        assert_eq!(err.to_string(), "environment variable ORDERS_TABLE is required but not set");
    }

    #[test]
    fn bad_values_are_refused_with_the_variable_name() {
        for (name, value) in [
            ("PAYMENT_TIMEOUT_SECONDS", "0"),
            ("ORDERS_TAX_RATE", "-0.1"),
            ("ORDERS_CURRENCY", "usd"),
            ("STORAGE_ATTEMPTS", "0"),
            ("RETURN_WINDOW_DAYS", "0"),
            ("PERSONAL_DATA_RETENTION_DAYS", "0"),
            ("NOTIFICATION_SENDER", "nobody"),
            ("COD_MAX_TOTAL", "-1"),
            ("ORDER_NUMBER_PREFIX", "ord-"),
            ("STORAGE_ATTEMPT_TIMEOUT_MS", "60000"),
            ("BREAKER_FAILURES", "0"),
            ("BREAKER_COOLDOWN_MS", "10"),
        ] {
            let mut pairs = BASE.to_vec();
            pairs.push((name, value));
            let err = Config::from_lookup(lookup(&pairs)).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[cfg(feature = "chaos")]
    #[test]
    fn a_bad_fault_plan_is_refused_in_chaos_builds() {
        let mut pairs = BASE.to_vec();
        pairs.push(("ORDERS_FAULTS", "x"));
        let err = Config::from_lookup(lookup(&pairs)).unwrap_err();
        assert!(err.to_string().contains("ORDERS_FAULTS"), "{err}");
    }
}
