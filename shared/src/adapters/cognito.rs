//! The user pool through Cognito's own API (`cognito-idp`: JSON 1.1, SigV4-signed), for the five
//! admin calls of binding a user to a seller. A small typed client of those calls over the HTTPS
//! client the Stripe adapter already uses, signed by the SDK's own signer: the SDK's Cognito
//! crate would add about two minutes to every clean build for five calls.

use std::time::SystemTime;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use serde_json::{json, Value};

use super::aws::StorageTimeouts;
use crate::auth::{SELLER_GROUP, SELLER_ID_CLAIM};
use crate::domain::contact::Email;
use crate::domain::SellerId;
use crate::ports::{PoolUser, StoreError, UserDirectory};

const SERVICE: &str = "cognito-idp";

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
    pub fn new(
        sdk: &aws_config::SdkConfig,
        timeouts: StorageTimeouts,
        #[cfg(feature = "chaos")] call_log: Option<std::path::PathBuf>,
    ) -> Result<Self, DirectorySetupError> {
        let region = sdk.region().ok_or(DirectorySetupError::NoRegion)?.to_string();
        let credentials = sdk.credentials_provider().ok_or(DirectorySetupError::NoCredentials)?;
        let endpoint = match sdk.endpoint_url() {
            Some(url) => url.to_owned(),
            None => format!("https://{SERVICE}.{region}.amazonaws.com/"),
        };
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.operation)
            .build()?;
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
    /// pool could not answer (throttled, 5xx, timed out: transient) or the call is broken.
    pub async fn call(&self, action: &'static str, body: Value) -> Result<Result<Value, CognitoError>, StoreError> {
        #[cfg(feature = "chaos")]
        if let Some(recorder) = &self.recorder {
            let pool = body["UserPoolId"].as_str().unwrap_or_default();
            recorder.record_outside_sdk(&format!("{SERVICE}:{action}"), pool);
        }
        let body = serde_json::to_vec(&body).map_err(|err| StoreError::Permanent(err.into()))?;
        let target = format!("AWSCognitoIdentityProviderService.{action}");
        let headers = [("content-type", "application/x-amz-json-1.1"), ("x-amz-target", target.as_str())];
        let signed = self.signed_headers(&headers, &body).await?;
        let mut request = self.http.post(&self.endpoint).body(body);
        for (name, value) in headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).chain(signed) {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|err| StoreError::Transient(err.into()))?;
        let status = response.status();
        let text = response.text().await.map_err(|err| StoreError::Transient(err.into()))?;
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(Ok(answer));
        }
        // `__type` is the error's shape name, sometimes behind its namespace and a `#`.
        let kind = answer["__type"].as_str().unwrap_or_default();
        let refusal = CognitoError {
            service: SERVICE,
            action,
            kind: kind.rsplit('#').next().unwrap_or(kind).to_owned(),
            message: answer["message"]
                .as_str()
                .or(answer["Message"].as_str())
                .unwrap_or(&text)
                .to_owned(),
        };
        match refusal.kind.as_str() {
            _ if status.is_server_error() => Err(StoreError::Transient(refusal.into())),
            "TooManyRequestsException" | "LimitExceededException" | "InternalErrorException" | "ThrottlingException" => {
                Err(StoreError::Transient(refusal.into()))
            }
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

    /// A call whose refusal is a failure too (the user was found a moment before).
    pub async fn expect_ok(&self, action: &'static str, body: Value) -> Result<Value, StoreError> {
        self.call(action, body)
            .await?
            .map_err(|refusal| StoreError::Permanent(refusal.into()))
    }
}

#[async_trait::async_trait]
impl UserDirectory for CognitoDirectory {
    async fn find_user(&self, email: &Email) -> Result<Option<PoolUser>, StoreError> {
        let answer = match self
            .api
            .call("AdminGetUser", json!({"UserPoolId": self.pool_id, "Username": email.as_str()}))
            .await?
        {
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
        };
        Ok(Some(PoolUser {
            email: email.clone(),
            seller_id: attribute(SELLER_ID_CLAIM).and_then(|id| SellerId::parse(id).ok()),
        }))
    }

    async fn make_seller(&self, email: &Email, seller: &SellerId) -> Result<(), StoreError> {
        let user = json!({"UserPoolId": self.pool_id, "Username": email.as_str()});
        let mut attributes = user.clone();
        attributes["UserAttributes"] = json!([{"Name": SELLER_ID_CLAIM, "Value": seller.as_str()}]);
        self.api.expect_ok("AdminUpdateUserAttributes", attributes).await?;
        let mut group = user;
        group["GroupName"] = json!(SELLER_GROUP);
        self.api.expect_ok("AdminAddUserToGroup", group).await?;
        Ok(())
    }

    async fn end_seller(&self, email: &Email) -> Result<(), StoreError> {
        let user = json!({"UserPoolId": self.pool_id, "Username": email.as_str()});
        let mut group = user.clone();
        group["GroupName"] = json!(SELLER_GROUP);
        self.api.expect_ok("AdminRemoveUserFromGroup", group).await?;
        let mut attributes = user.clone();
        attributes["UserAttributeNames"] = json!([SELLER_ID_CLAIM]);
        self.api.expect_ok("AdminDeleteUserAttributes", attributes).await?;
        self.api.expect_ok("AdminUserGlobalSignOut", user).await?;
        Ok(())
    }
}
