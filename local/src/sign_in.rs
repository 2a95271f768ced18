//! The local stand-in for Cognito's hosted UI (local only, never deployed): the same OAuth 2.0
//! endpoints, so the pages run one sign-in code path here and in AWS.
//!
//! - `GET /oauth2/authorize` shows a page to choose a user and a role (customer, admin, or seller
//!   with a seller id); `POST` sends the browser back to the pages with a one-time code.
//! - `POST /oauth2/token` trades the code and its PKCE verifier (S256) for the local ID, access
//!   and refresh tokens, and a refresh token for new ID and access tokens.
//! - `POST /oauth2/revoke` ends a refresh token; `GET /logout` sends the browser back.
//!
//! Answers and errors are shaped as Cognito's (`{"error": "invalid_grant"}`).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use base64::Engine;
use http::StatusCode;
use orders_shared::domain::{SellerId, UserId};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use orders_shared::adapters::cognito::CognitoDirectory;
use orders_shared::domain::contact::Email;
use orders_shared::ports::{StoreError, UserDirectory};

use crate::html::{escape, page};
use crate::token;

/// The app client the local pages sign in as (the template's `UserPoolClient` in AWS).
pub const LOCAL_CLIENT_ID: &str = "orders-local";
/// How long an ID token lasts: an hour, as the template's app client sets it.
pub const ID_TOKEN_SECONDS: i64 = 3600;
/// How long a code may wait to be traded, as Cognito's.
const CODE_LIFETIME: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Customer,
    Admin,
    Seller,
}

impl Role {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "customer" => Some(Self::Customer),
            "admin" => Some(Self::Admin),
            "seller" => Some(Self::Seller),
            _ => None,
        }
    }

    fn groups(self) -> &'static [&'static str] {
        match self {
            Self::Customer => &[],
            Self::Admin => &[orders_shared::auth::ADMIN_GROUP],
            Self::Seller => &[orders_shared::auth::SELLER_GROUP],
        }
    }
}

/// Who signed in, as a code or a refresh token remembers it.
#[derive(Debug, Clone)]
struct Person {
    user: UserId,
    role: Role,
    seller: Option<SellerId>,
    /// The user pool made them the seller's (an admin bound them), not the page's choice: a
    /// refresh asks the pool again, as Cognito's does.
    seller_from_pool: bool,
}

#[derive(Debug)]
struct PendingCode {
    person: Person,
    redirect_uri: String,
    challenge: String,
    issued: Instant,
}

#[derive(Default)]
struct Sessions {
    codes: HashMap<String, PendingCode>,
    refresh_tokens: HashMap<String, Person>,
    /// Everyone who signed in, offered on the page.
    users: BTreeSet<String>,
}

#[derive(Clone)]
pub struct LocalSignIn {
    jwt_secret: String,
    /// The pages' URL: the one callback and sign-out URL of the local app client.
    pages_url: String,
    sessions: Arc<Mutex<Sessions>>,
    /// The deployment's user pool in moto: everyone who signs in is a user of it (signed up on
    /// their first sign-in), and a user an admin bound to a seller signs in as that seller.
    pool: Option<CognitoDirectory>,
}

impl LocalSignIn {
    pub fn new(jwt_secret: String, pages_url: String, pool: Option<CognitoDirectory>) -> Self {
        Self {
            jwt_secret,
            pages_url,
            sessions: Arc::default(),
            pool,
        }
    }

    /// The seller the pool binds the user to, signing them up first if the pool does not know
    /// them yet (as the hosted UI's sign-up and its email confirmation would). No pool, or a user
    /// name that makes no address: no binding.
    async fn pool_seller(&self, user: &UserId) -> Result<Option<SellerId>, StoreError> {
        let (Some(pool), Ok(email)) = (&self.pool, Email::parse(&token::local_email(user.as_str()).to_lowercase())) else {
            return Ok(None);
        };
        let signed_up = pool
            .api
            .call(
                "AdminCreateUser",
                json!({
                    "UserPoolId": pool.pool_id,
                    "Username": email.as_str(),
                    "MessageAction": "SUPPRESS",
                    "UserAttributes": [{"Name": "email", "Value": email.as_str()}, {"Name": "email_verified", "Value": "true"}],
                }),
            )
            .await?;
        match signed_up {
            Ok(_) => {
                // Confirmed, as a person who chose their password on the hosted page is.
                let password = format!("Local-{}", uuid::Uuid::new_v4().simple());
                pool.api
                    .expect_ok(
                        "AdminSetUserPassword",
                        json!({"UserPoolId": pool.pool_id, "Username": email.as_str(), "Password": password, "Permanent": true}),
                    )
                    .await?;
            }
            Err(refusal) if refusal.kind == "UsernameExistsException" => {}
            Err(refusal) => return Err(StoreError::Permanent(refusal.into())),
        }
        Ok(pool.find_user(email.as_str()).await?.and_then(|found| found.seller_id))
    }

    pub fn router(self) -> axum::Router {
        axum::Router::new()
            .route("/oauth2/authorize", axum::routing::get(show).post(choose))
            .route("/oauth2/token", axum::routing::post(tokens))
            .route("/oauth2/revoke", axum::routing::post(revoke))
            .route("/logout", axum::routing::get(logout))
            .with_state(self)
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, Sessions> {
        self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn mint(&self, person: &Person, token_use: &str) -> Result<String, jsonwebtoken::errors::Error> {
        token::mint_as(
            &self.jwt_secret,
            person.user.as_str(),
            person.role.groups(),
            person.seller.as_ref().map(SellerId::as_str),
            ID_TOKEN_SECONDS,
            token_use,
        )
    }
}

/// What the pages send to the authorize endpoint (and the page posts back, with the choice).
#[derive(Debug, Deserialize)]
struct Authorize {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    scope: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    username: Option<String>,
    role: Option<String>,
    seller_id: Option<String>,
}

fn random_token() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

fn error_page(status: StatusCode, text: &str) -> Response {
    (status, page("Sign-in failed", &format!("<p>{}</p>", escape(text)))).into_response()
}

/// Where to send the browser with `pairs` added to the pages' URL.
fn back_to(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    match reqwest::Url::parse_with_params(redirect_uri, pairs) {
        Ok(url) => Redirect::to(url.as_str()).into_response(),
        Err(_) => error_page(StatusCode::BAD_REQUEST, "The redirect_uri is not a URL."),
    }
}

impl Authorize {
    /// The checks Cognito makes before it shows its page: an unknown client or a way back that
    /// is not registered gets an error page; anything else wrong goes back with an `error`.
    fn refusal(&self, sign_in: &LocalSignIn) -> Option<Response> {
        if self.client_id.as_deref() != Some(LOCAL_CLIENT_ID) {
            return Some(error_page(StatusCode::BAD_REQUEST, "Unknown client_id."));
        }
        let redirect_uri = self.redirect_uri.as_deref().unwrap_or_default();
        if redirect_uri != sign_in.pages_url {
            return Some(error_page(
                StatusCode::BAD_REQUEST,
                "The redirect_uri is not one of the app client's callback URLs.",
            ));
        }
        let state = self.state.as_deref().unwrap_or_default();
        let refuse = |description: &str| {
            back_to(
                redirect_uri,
                &[("error", "invalid_request"), ("error_description", description), ("state", state)],
            )
        };
        if self.response_type.as_deref() != Some("code") {
            return Some(refuse("response_type must be code"));
        }
        let challenge = self.code_challenge.as_deref().unwrap_or_default();
        if self.code_challenge_method.as_deref() != Some("S256") || challenge.len() != 43 {
            return Some(refuse("a PKCE code_challenge with the S256 method is required"));
        }
        if !self.scope.as_deref().unwrap_or_default().split(' ').any(|scope| scope == "openid") {
            return Some(refuse("the openid scope is required"));
        }
        None
    }

    /// The request's parameters, to post back with the choice.
    fn hidden_fields(&self) -> String {
        [
            ("response_type", &self.response_type),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("state", &self.state),
            ("scope", &self.scope),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
        ]
        .iter()
        .filter_map(|(name, value)| {
            value
                .as_deref()
                .map(|value| format!(r#"<input type="hidden" name="{name}" value="{}">"#, escape(value)))
        })
        .collect()
    }
}

fn chooser(sign_in: &LocalSignIn, request: &Authorize, problem: Option<&str>) -> Response {
    let users: String = sign_in
        .sessions()
        .users
        .iter()
        .map(|user| format!(r#"<option value="{}">"#, escape(user)))
        .collect();
    let role = request.role.as_deref().and_then(Role::parse).unwrap_or(Role::Customer);
    let radio = |value: &str, label: &str, this: Role| {
        format!(
            r#"<label><input type="radio" name="role" value="{value}"{}> {label}</label>"#,
            if role == this { " checked" } else { "" }
        )
    };
    let problem = problem
        .map(|text| format!(r#"<p role="alert"><strong>{}</strong></p>"#, escape(text)))
        .unwrap_or_default();
    page(
        "Sign in",
        &format!(
            r#"<p>Local only: this stands in for the hosted sign-in page of the shop's user pool. Choose who you are; there is no password. A user an admin bound to a seller signs in as that seller, whatever is chosen here.</p>
{problem}<form method="post" action="/oauth2/authorize">
{hidden}
<label for="username">User name</label>
<input id="username" name="username" list="users" required pattern="[A-Za-z0-9._@:+\-]{{1,128}}" autocomplete="username" value="{user}">
<datalist id="users">{users}</datalist>
<fieldset><legend>Role</legend>
{customer}
{admin}
{seller_role}
</fieldset>
<label for="seller_id">Seller id (sellers only)</label>
<input id="seller_id" name="seller_id" value="{seller}">
<p><button type="submit">Sign in</button></p>
</form>"#,
            hidden = request.hidden_fields(),
            user = escape(request.username.as_deref().unwrap_or("alice")),
            seller = escape(request.seller_id.as_deref().unwrap_or_default()),
            customer = radio("customer", "Customer", Role::Customer),
            admin = radio("admin", "Shop admin", Role::Admin),
            seller_role = radio("seller", "Seller", Role::Seller),
        ),
    )
}

async fn show(State(sign_in): State<LocalSignIn>, Query(request): Query<Authorize>) -> Response {
    match request.refusal(&sign_in) {
        None => chooser(&sign_in, &request, None),
        Some(refused) => refused,
    }
}

async fn choose(State(sign_in): State<LocalSignIn>, Form(request): Form<Authorize>) -> Response {
    if let Some(refused) = request.refusal(&sign_in) {
        return refused;
    }
    let user = match UserId::parse(request.username.as_deref().unwrap_or_default().trim()) {
        Ok(user) => user,
        Err(_) => return chooser(&sign_in, &request, Some("Choose a user name: letters, digits and . _ @ : + -")),
    };
    let Some(role) = request.role.as_deref().and_then(Role::parse) else {
        return chooser(&sign_in, &request, Some("Choose a role."));
    };
    let seller = match (role, request.seller_id.as_deref().map(str::trim).unwrap_or_default()) {
        (Role::Seller, id) => match SellerId::parse(id) {
            Ok(seller) => Some(seller),
            Err(_) => return chooser(&sign_in, &request, Some("A seller signs in with their seller id.")),
        },
        _ => None,
    };
    // The pool, not the page, says which seller a bound user acts for.
    let person = match sign_in.pool_seller(&user).await {
        Ok(Some(bound)) => Person {
            user,
            role: Role::Seller,
            seller: Some(bound),
            seller_from_pool: true,
        },
        Ok(None) => Person {
            user,
            role,
            seller,
            seller_from_pool: false,
        },
        Err(err) => {
            tracing::error!(error = %err, "the user pool cannot be read");
            return chooser(&sign_in, &request, Some("The user pool cannot be reached; try again."));
        }
    };
    let code = random_token();
    let redirect_uri = request.redirect_uri.clone().unwrap_or_default();
    {
        let mut sessions = sign_in.sessions();
        sessions.users.insert(person.user.as_str().to_owned());
        sessions.codes.retain(|_, pending| pending.issued.elapsed() < CODE_LIFETIME);
        sessions.codes.insert(
            code.clone(),
            PendingCode {
                person,
                redirect_uri: redirect_uri.clone(),
                challenge: request.code_challenge.clone().unwrap_or_default(),
                issued: Instant::now(),
            },
        );
    }
    back_to(
        &redirect_uri,
        &[("code", &code), ("state", request.state.as_deref().unwrap_or_default())],
    )
}

#[derive(Debug, Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
}

fn oauth_error(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response()
}

/// `BASE64URL(SHA256(verifier))`, as RFC 7636 computes an S256 challenge.
pub fn s256_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

async fn tokens(State(sign_in): State<LocalSignIn>, Form(request): Form<TokenRequest>) -> Response {
    if request.client_id.as_deref() != Some(LOCAL_CLIENT_ID) {
        return oauth_error("invalid_client");
    }
    let (person, refresh_token) = match request.grant_type.as_deref() {
        Some("authorization_code") => {
            // A code is used once, whatever the outcome.
            let Some(pending) = request.code.as_deref().and_then(|code| sign_in.sessions().codes.remove(code)) else {
                return oauth_error("invalid_grant");
            };
            let verifier = request.code_verifier.as_deref().unwrap_or_default();
            if pending.issued.elapsed() >= CODE_LIFETIME
                || request.redirect_uri.as_deref() != Some(pending.redirect_uri.as_str())
                || s256_challenge(verifier) != pending.challenge
            {
                return oauth_error("invalid_grant");
            }
            let refresh_token = random_token();
            sign_in
                .sessions()
                .refresh_tokens
                .insert(refresh_token.clone(), pending.person.clone());
            (pending.person, Some(refresh_token))
        }
        // As Cognito: new ID and access tokens, the same refresh token kept.
        Some("refresh_token") => {
            let known = request
                .refresh_token
                .as_deref()
                .and_then(|token| sign_in.sessions().refresh_tokens.get(token).cloned());
            let Some(person) = known else {
                return oauth_error("invalid_grant");
            };
            // As Cognito's refresh: the pool is asked again. A seller it made and no longer
            // names was let go, their sessions ended; someone it now names is that seller.
            match (sign_in.pool_seller(&person.user).await, person.seller_from_pool) {
                (Ok(now), true) if now == person.seller => (person, None),
                (Ok(_), true) => {
                    if let Some(token) = request.refresh_token.as_deref() {
                        sign_in.sessions().refresh_tokens.remove(token);
                    }
                    return oauth_error("invalid_grant");
                }
                (Ok(Some(bound)), false) => {
                    let bound = Person {
                        role: Role::Seller,
                        seller: Some(bound),
                        seller_from_pool: true,
                        ..person
                    };
                    if let Some(token) = request.refresh_token.as_deref() {
                        sign_in.sessions().refresh_tokens.insert(token.to_owned(), bound.clone());
                    }
                    (bound, None)
                }
                (Ok(None), false) => (person, None),
                (Err(err), _) => {
                    tracing::error!(error = %err, "the user pool cannot be read");
                    return (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({ "error": "server_error" }))).into_response();
                }
            }
        }
        _ => return oauth_error("unsupported_grant_type"),
    };
    let (Ok(id_token), Ok(access_token)) = (sign_in.mint(&person, "id"), sign_in.mint(&person, "access")) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({ "error": "server_error" }))).into_response();
    };
    let mut body = json!({
        "id_token": id_token,
        "access_token": access_token,
        "expires_in": ID_TOKEN_SECONDS,
        "token_type": "Bearer",
    });
    if let Some(refresh_token) = refresh_token {
        body["refresh_token"] = json!(refresh_token);
    }
    Json(body).into_response()
}

#[derive(Debug, Deserialize)]
struct Revoke {
    token: Option<String>,
    client_id: Option<String>,
}

async fn revoke(State(sign_in): State<LocalSignIn>, Form(request): Form<Revoke>) -> Response {
    if request.client_id.as_deref() != Some(LOCAL_CLIENT_ID) {
        return oauth_error("invalid_client");
    }
    if let Some(token) = request.token {
        sign_in.sessions().refresh_tokens.remove(&token);
    }
    StatusCode::OK.into_response()
}

#[derive(Debug, Deserialize)]
struct Logout {
    client_id: Option<String>,
    logout_uri: Option<String>,
}

async fn logout(State(sign_in): State<LocalSignIn>, Query(request): Query<Logout>) -> Response {
    match (request.client_id.as_deref(), request.logout_uri) {
        (Some(LOCAL_CLIENT_ID), Some(uri)) if uri == sign_in.pages_url => Redirect::to(&uri).into_response(),
        _ => error_page(StatusCode::BAD_REQUEST, "Unknown client_id or a logout_uri that is not registered."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_rfc_7636s_example() {
        // RFC 7636, appendix B.
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
