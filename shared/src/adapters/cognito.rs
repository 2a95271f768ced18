//! The user pool through Cognito's own API (`cognito-idp`: JSON 1.1, SigV4-signed), for the six
//! admin calls of binding a user to a seller. A small typed client of those calls over the HTTPS
//! client the Stripe adapter already uses, signed by the SDK's own signer: the SDK's Cognito
//! crate would add about two minutes to every clean build for five calls.

use std::time::SystemTime;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use serde_json::{json, Value};

use crate::auth::{SELLER_GROUP, SELLER_ID_CLAIM};
use crate::domain::contact::Email;
use crate::domain::SellerId;
use crate::ports::{PoolChange, PoolUser, StoreError, UserDirectory};

const SERVICE: &str = "cognito-idp";
/// Tries of a call the pool did not answer (throttled, 5xx, timed out), the first included;
/// the later ones wait `BACKOFF` times 2, 4, ...
const ATTEMPTS: u32 = 3;
const BACKOFF: std::time::Duration = std::time::Duration::from_millis(25);

/// An error's shape name as the JSON protocol sends it, without its namespace
/// (`aws.cognito#UserNotFoundException`) or trailing details (`UserNotFoundException:http://...`).
fn error_kind(raw: &str) -> &str {
    let name = raw.rsplit('#').next().unwrap_or(raw);
    name.split(':').next().unwrap_or(name)
}

/// How the pool says a user is: may they act for a seller?
fn trusted(user: &Value, attribute: impl Fn(&str) -> Option<String>) -> bool {
    let enabled = user["Enabled"].as_bool().unwrap_or(true);
    // Self sign-ups the user never confirmed stay UNCONFIRMED; an admin's own are
    // FORCE_CHANGE_PASSWORD until their first sign-in.
    let status = matches!(
        user["UserStatus"].as_str(),
        Some("CONFIRMED" | "FORCE_CHANGE_PASSWORD" | "RESET_REQUIRED")
    );
    enabled && status && attribute("email_verified").as_deref() == Some("true")
}

/// Why the pool refused a call: its error type (`UserNotFoundException`) and message.
#[derive(Debug, thiserror::Error)]
#[error("{service} {action}: {kind}: {message}")]
pub struct CognitoError {
    service: &'static str,
    action: &'static str,
    pub kind: String,
    message: String,
}

/// Cognito's API, signed with the SDK settings' credentials.
#[derive(Clone)]
pub struct CognitoApi {
    http: reqwest::Client,
    /// `https://cognito-idp.<region>.amazonaws.com/`, or the local stack's emulator.
    endpoint: String,
    region: String,
    credentials: SharedCredentialsProvider,
    /// Where each call is recorded for the IAM parity check (chaos builds only).
    #[cfg(feature = "chaos")]
    recorder: Option<crate::calls::CallRecorder>,
}

/// The user pool of this deployment, through Cognito's API.
#[derive(Debug, Clone)]
pub struct CognitoDirectory {
    pub api: CognitoApi,
    pub pool_id: String,
}

impl std::fmt::Debug for CognitoApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CognitoApi")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .finish()
    }
}

/// What the directory cannot be built without, found at cold start.
#[derive(Debug, thiserror::Error)]
pub enum DirectorySetupError {
    #[error("the AWS settings name no region")]
    NoRegion,
    #[error("the AWS settings carry no credentials")]
    NoCredentials,
    #[error("the HTTPS client cannot be built: {0}")]
    Client(#[from] reqwest::Error),
}

impl CognitoApi {
    /// `connect` and `timeout` bound each attempt (a call makes up to `ATTEMPTS`).
    pub fn new(
        sdk: &aws_config::SdkConfig,
        connect: std::time::Duration,
        timeout: std::time::Duration,
        #[cfg(feature = "chaos")] call_log: Option<std::path::PathBuf>,
    ) -> Result<Self, DirectorySetupError> {
        let region = sdk.region().ok_or(DirectorySetupError::NoRegion)?.to_string();
        let credentials = sdk.credentials_provider().ok_or(DirectorySetupError::NoCredentials)?;
        let endpoint = match sdk.endpoint_url() {
            Some(url) => url.to_owned(),
            None => format!("https://{SERVICE}.{region}.amazonaws.com/"),
        };
        let http = reqwest::Client::builder().connect_timeout(connect).timeout(timeout).build()?;
        Ok(Self {
            http,
            endpoint,
            region,
            credentials,
            #[cfg(feature = "chaos")]
            recorder: call_log.map(crate::calls::CallRecorder::to),
        })
    }

    /// One signed call: the answer's JSON, the pool's refusal, or a storage error when the
    /// pool could not answer (throttled, 5xx, timed out: transient, after `ATTEMPTS` tries) or
    /// answered what is not JSON.
    pub async fn call(&self, action: &'static str, body: Value) -> Result<Result<Value, CognitoError>, StoreError> {
        #[cfg(feature = "chaos")]
        if let Some(recorder) = &self.recorder {
            let pool = body["UserPoolId"].as_str().unwrap_or_default();
            recorder.record_outside_sdk(&format!("{SERVICE}:{action}"), pool);
        }
        let body = serde_json::to_vec(&body).map_err(|err| StoreError::Permanent(err.into()))?;
        let mut attempt = 1;
        loop {
            match self.attempt(action, &body).await {
                Err(StoreError::Transient(err)) if attempt < ATTEMPTS => {
                    tracing::warn!(action, attempt, error = %err, "the user pool did not answer; trying again");
                    tokio::time::sleep(BACKOFF * 2u32.pow(attempt)).await;
                    attempt += 1;
                }
                answered => return answered,
            }
        }
    }

    async fn attempt(&self, action: &'static str, body: &[u8]) -> Result<Result<Value, CognitoError>, StoreError> {
        let target = format!("AWSCognitoIdentityProviderService.{action}");
        let headers = [("content-type", "application/x-amz-json-1.1"), ("x-amz-target", target.as_str())];
        let signed = self.signed_headers(&headers, body).await?;
        let mut request = self.http.post(&self.endpoint).body(body.to_vec());
        for (name, value) in headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).chain(signed) {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|err| StoreError::Transient(err.into()))?;
        let status = response.status();
        let header_kind = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let text = response.text().await.map_err(|err| StoreError::Transient(err.into()))?;
        let answer: Option<Value> = serde_json::from_str(&text).ok();
        if status.is_success() {
            return answer
                .map(Ok)
                .ok_or_else(|| StoreError::Permanent(format!("{SERVICE} {action} answered {status} with what is not JSON").into()));
        }
        let answer = answer.unwrap_or(Value::Null);
        let kind = header_kind
            .as_deref()
            .or(answer["__type"].as_str())
            .or(answer["code"].as_str())
            .map(error_kind)
            .unwrap_or_default();
        let refusal = CognitoError {
            service: SERVICE,
            action,
            kind: kind.to_owned(),
            message: answer["message"]
                .as_str()
                .or(answer["Message"].as_str())
                .unwrap_or(&text)
                .to_owned(),
        };
        match refusal.kind.as_str() {
            _ if status.is_server_error() => Err(StoreError::Transient(refusal.into())),
            "TooManyRequestsException" | "InternalErrorException" | "ThrottlingException" => Err(StoreError::Transient(refusal.into())),
            _ => Ok(Err(refusal)),
        }
    }

    /// The SigV4 headers of a request with these headers and body, signed now.
    async fn signed_headers(&self, headers: &[(&str, &str)], body: &[u8]) -> Result<Vec<(String, String)>, StoreError> {
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|err| StoreError::Transient(err.into()))?;
        let identity = credentials.into();
        let failed = |err: Box<dyn std::error::Error + Send + Sync>| StoreError::Permanent(err);
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(SERVICE)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|err| failed(err.into()))?
            .into();
        let signable = SignableRequest::new("POST", &self.endpoint, headers.iter().copied(), SignableBody::Bytes(body))
            .map_err(|err| failed(err.into()))?;
        let (instructions, _) = sign(signable, &params).map_err(|err| failed(err.into()))?.into_parts();
        Ok(instructions
            .headers()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect())
    }

    /// A call whose refusal is a fault too (the local stack's provisioning and tests).
    pub async fn expect_ok(&self, action: &'static str, body: Value) -> Result<Value, StoreError> {
        self.call(action, body)
            .await?
            .map_err(|refusal| StoreError::Permanent(refusal.into()))
    }
}

impl CognitoDirectory {
    /// A change of one user: `UserNotFoundException` says the user is gone, any other refusal
    /// is a fault.
    async fn change(&self, action: &'static str, body: Value) -> Result<PoolChange, StoreError> {
        match self.api.call(action, body).await? {
            Ok(_) => Ok(PoolChange::Done),
            Err(refusal) if refusal.kind == "UserNotFoundException" => Ok(PoolChange::UserGone),
            Err(refusal) => Err(StoreError::Permanent(refusal.into())),
        }
    }

    fn user(&self, user_id: &str) -> Value {
        json!({"UserPoolId": self.pool_id, "Username": user_id})
    }
}

#[async_trait::async_trait]
impl UserDirectory for CognitoDirectory {
    async fn find_user(&self, email_or_id: &str) -> Result<Option<PoolUser>, StoreError> {
        let answer = match self.api.call("AdminGetUser", self.user(email_or_id)).await? {
            Ok(answer) => answer,
            Err(refusal) if refusal.kind == "UserNotFoundException" => return Ok(None),
            Err(refusal) => return Err(StoreError::Permanent(refusal.into())),
        };
        let attribute = |name: &str| {
            answer["UserAttributes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|attribute| attribute["Name"] == name)
                .and_then(|attribute| attribute["Value"].as_str())
                .map(str::to_owned)
        };
        let user_id = answer["Username"]
            .as_str()
            .ok_or_else(|| StoreError::Permanent("AdminGetUser answered no Username".into()))?
            .to_owned();
        Ok(Some(PoolUser {
            user_id,
            email: attribute("email").and_then(|email| Email::parse(&email).ok()),
            trusted: trusted(&answer, attribute),
            seller_id: attribute(SELLER_ID_CLAIM).and_then(|id| SellerId::parse(&id).ok()),
        }))
    }

    async fn make_seller(&self, user_id: &str, seller: &SellerId) -> Result<PoolChange, StoreError> {
        let mut attributes = self.user(user_id);
        attributes["UserAttributes"] = json!([{"Name": SELLER_ID_CLAIM, "Value": seller.as_str()}]);
        if self.change("AdminUpdateUserAttributes", attributes).await? == PoolChange::UserGone {
            return Ok(PoolChange::UserGone);
        }
        let mut group = self.user(user_id);
        group["GroupName"] = json!(SELLER_GROUP);
        self.change("AdminAddUserToGroup", group).await
    }

    async fn end_seller(&self, user_id: &str) -> Result<PoolChange, StoreError> {
        let mut group = self.user(user_id);
        group["GroupName"] = json!(SELLER_GROUP);
        if self.change("AdminRemoveUserFromGroup", group).await? == PoolChange::UserGone {
            return Ok(PoolChange::UserGone);
        }
        let mut attributes = self.user(user_id);
        attributes["UserAttributeNames"] = json!([SELLER_ID_CLAIM]);
        self.change("AdminDeleteUserAttributes", attributes).await?;
        self.change("AdminUserGlobalSignOut", self.user(user_id)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_kind_is_read_without_its_namespace_or_details() {
        assert_eq!(error_kind("UserNotFoundException"), "UserNotFoundException");
        assert_eq!(error_kind("com.amazonaws.cognito#UserNotFoundException"), "UserNotFoundException");
        assert_eq!(
            error_kind("UserNotFoundException:http://internal.amazon.com/coral/com.amazonaws.cognito/"),
            "UserNotFoundException"
        );
    }

    #[test]
    fn only_an_enabled_user_with_a_verified_email_and_a_confirmed_or_admin_made_account_is_trusted() {
        let user = |enabled: bool, status: &str| json!({"Enabled": enabled, "UserStatus": status});
        let verified = |name: &str| (name == "email_verified").then(|| "true".to_owned());
        let unverified = |_: &str| Some("false".to_owned());
        assert!(trusted(&user(true, "CONFIRMED"), verified));
        assert!(trusted(&user(true, "FORCE_CHANGE_PASSWORD"), verified));
        assert!(!trusted(&user(true, "UNCONFIRMED"), verified), "a self sign-up never confirmed");
        assert!(!trusted(&user(false, "CONFIRMED"), verified), "a disabled user");
        assert!(!trusted(&user(true, "CONFIRMED"), unverified), "an email not proven");
    }
}
