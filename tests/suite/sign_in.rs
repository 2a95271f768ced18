//! Signing in as the pages do: the settings document names the hosted sign-in, and the local
//! runner's stand-in for Cognito's hosted UI speaks its protocol (authorization code with PKCE,
//! refresh, revocation, sign-out), so the tokens it issues are the ones the API accepts.

use orders_local::sign_in::{s256_challenge, LOCAL_CLIENT_ID};
use orders_tests::{service, Setup};
use reqwest::{redirect::Policy, Method, StatusCode};
use serde_json::Value;

const VERIFIER: &str = "a-verifier-of-forty-three-or-more-characters-long";

fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

/// The authorize request the pages make, with a person's choice on the sign-in page.
fn authorize_form<'a>(pages_url: &'a str, challenge: &'a str, choice: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("response_type", "code"),
        ("client_id", LOCAL_CLIENT_ID),
        ("redirect_uri", pages_url),
        ("state", "st4te"),
        ("scope", "openid email profile"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    form.extend_from_slice(choice);
    form
}

/// Signs in on the page and returns the code the browser is sent back with.
async fn code_for(base: &str, pages_url: &str, challenge: &str, choice: &[(&str, &str)]) -> String {
    let answer = browser()
        .post(format!("{base}/oauth2/authorize"))
        .form(&authorize_form(pages_url, challenge, choice))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER, "{:?}", answer.text().await);
    let location = reqwest::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(pages_url), "back to the pages: {location}");
    let query: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(query["state"], "st4te", "the state comes back");
    query["code"].clone()
}

async fn token_call(base: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let answer = browser().post(format!("{base}/oauth2/token")).form(form).send().await.unwrap();
    (answer.status(), answer.json().await.unwrap_or(Value::Null))
}

fn claims(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_traded_with_its_pkce_verifier_gives_tokens_the_api_accepts_refreshes_until_revoked_and_works_once() {
    let service = service(Setup::default()).await;
    let base = service.base_url();
    let settings: Value = reqwest::get(format!("{base}/config.json")).await.unwrap().json().await.unwrap();
    let sign_in = &settings["sign_in"];
    let pages_url = sign_in["redirect_uri"].as_str().unwrap().to_owned();
    assert_eq!(pages_url, format!("{base}/"));
    assert_eq!(sign_in["client_id"], LOCAL_CLIENT_ID);
    assert_eq!(sign_in["token_url"], format!("{base}/oauth2/token"));
    assert_eq!(sign_in["authorize_url"], format!("{base}/oauth2/authorize"));

    // The sign-in page is shown for the pages' own request.
    let challenge = s256_challenge(VERIFIER);
    let page = browser()
        .get(format!("{base}/oauth2/authorize"))
        .query(&authorize_form(&pages_url, &challenge, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains(r#"name="code_challenge" value=""#));

    let code = code_for(&base, &pages_url, &challenge, &[("username", "carol"), ("role", "customer")]).await;
    // A wrong verifier is refused, and the code is spent by the attempt.
    let trade = |verifier: &'static str, code: String| {
        let (base, pages_url) = (base.clone(), pages_url.clone());
        async move {
            token_call(
                &base,
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", LOCAL_CLIENT_ID),
                    ("code", &code),
                    ("redirect_uri", &pages_url),
                    ("code_verifier", verifier),
                ],
            )
            .await
        }
    };
    let (status, body) = trade("not-the-verifier-that-made-the-challenge-at-all", code.clone()).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let (status, _) = trade(VERIFIER, code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a code works once, even after a failed trade");

    let code = code_for(&base, &pages_url, &challenge, &[("username", "carol"), ("role", "customer")]).await;
    let (status, tokens) = trade(VERIFIER, code.clone()).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    let id_token = tokens["id_token"].as_str().unwrap();
    assert_eq!(claims(id_token)["sub"], "carol");
    assert_eq!(claims(id_token)["token_use"], "id");
    assert_eq!(claims(tokens["access_token"].as_str().unwrap())["token_use"], "access");
    let (status, _) = trade(VERIFIER, code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the same code cannot be traded twice");

    let my_orders = |token: String| {
        let base = base.clone();
        async move {
            reqwest::Client::new()
                .get(format!("{base}/api/v1/orders"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(my_orders(id_token.to_owned()).await, StatusCode::OK);

    // A refresh gives a new ID token and keeps the refresh token; revoked, it gives nothing.
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    let refresh = [
        ("grant_type", "refresh_token"),
        ("client_id", LOCAL_CLIENT_ID),
        ("refresh_token", refresh_token),
    ];
    let (status, refreshed) = token_call(&base, &refresh).await;
    assert_eq!(status, StatusCode::OK);
    assert!(refreshed.get("refresh_token").is_none(), "Cognito keeps the refresh token");
    assert_eq!(claims(refreshed["id_token"].as_str().unwrap())["sub"], "carol");
    assert_eq!(my_orders(refreshed["id_token"].as_str().unwrap().to_owned()).await, StatusCode::OK);
    let revoked = browser()
        .post(format!("{base}/oauth2/revoke"))
        .form(&[("token", refresh_token), ("client_id", LOCAL_CLIENT_ID)])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    let (status, body) = token_call(&base, &refresh).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seller_and_an_admin_sign_in_with_their_role_and_the_sign_in_refuses_what_cognito_refuses() {
    let service = service(Setup::default()).await;
    let base = service.base_url();
    let pages_url = format!("{base}/");
    let challenge = s256_challenge(VERIFIER);
    let signed_in = |choice: Vec<(&'static str, &'static str)>| {
        let (base, pages_url, challenge) = (base.clone(), pages_url.clone(), challenge.clone());
        async move {
            let code = code_for(&base, &pages_url, &challenge, &choice).await;
            let (_, tokens) = token_call(
                &base,
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", LOCAL_CLIENT_ID),
                    ("code", &code),
                    ("redirect_uri", &pages_url),
                    ("code_verifier", VERIFIER),
                ],
            )
            .await;
            claims(tokens["id_token"].as_str().unwrap())
        }
    };
    let seller = signed_in(vec![("username", "sam"), ("role", "seller"), ("seller_id", "seller-7")]).await;
    assert_eq!(seller["cognito:groups"], serde_json::json!(["seller"]));
    assert_eq!(seller["custom:seller_id"], "seller-7");
    let admin = signed_in(vec![("username", "ada"), ("role", "admin")]).await;
    assert_eq!(admin["cognito:groups"], serde_json::json!(["admin"]));
    assert_eq!(admin["email"], "ada@example.com");

    // A seller without a seller id is asked again, not signed in.
    let again = browser()
        .post(format!("{base}/oauth2/authorize"))
        .form(&authorize_form(&pages_url, &challenge, &[("username", "sam"), ("role", "seller")]))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert!(again.text().await.unwrap().contains("A seller signs in with their seller id."));

    // A way back that is not the app client's callback URL gets an error page, never a redirect.
    let elsewhere = browser()
        .get(format!("{base}/oauth2/authorize"))
        .query(&authorize_form("https://attacker.example/", &challenge, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::BAD_REQUEST);
    // Without PKCE the browser goes back with an error, as Cognito sends it.
    let mut without_pkce = authorize_form(&pages_url, &challenge, &[]);
    without_pkce.retain(|(name, _)| *name != "code_challenge");
    let refused = browser()
        .get(format!("{base}/oauth2/authorize"))
        .query(&without_pkce)
        .send()
        .await
        .unwrap();
    let location = refused.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&pages_url) && location.contains("error=invalid_request"),
        "{location}"
    );
    // Another client, a grant type it does not know.
    let (status, body) = token_call(&base, &[("grant_type", "password"), ("client_id", LOCAL_CLIENT_ID)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
    );
    let (_, body) = token_call(&base, &[("grant_type", "refresh_token"), ("client_id", "other")]).await;
    assert_eq!(body["error"], "invalid_client");

    // Sign-out sends the browser back only to the registered page.
    let out = browser()
        .get(format!("{base}/logout"))
        .query(&[("client_id", LOCAL_CLIENT_ID), ("logout_uri", &pages_url)])
        .send()
        .await
        .unwrap();
    assert_eq!(out.headers()["location"], pages_url.as_str());
    let out = browser()
        .get(format!("{base}/logout"))
        .query(&[("client_id", LOCAL_CLIENT_ID), ("logout_uri", "https://attacker.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::BAD_REQUEST);
}

/// Signs in on the page with `choice` and trades the code: the token endpoint's answer.
async fn tokens_for(base: &str, choice: &[(&str, &str)]) -> Value {
    let pages_url = format!("{base}/");
    let code = code_for(base, &pages_url, &s256_challenge(VERIFIER), choice).await;
    let (status, tokens) = token_call(
        base,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", LOCAL_CLIENT_ID),
            ("code", &code),
            ("redirect_uri", &pages_url),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_binds_a_user_of_the_pool_to_a_seller_who_then_signs_in_as_that_seller_until_let_go() {
    use orders_tests::Api;
    use serde_json::json;

    let service = service(Setup::default()).await;
    let base = service.base_url();
    let admin = Api::admin(&service);
    let pool = &service.clients.cognito;
    let pool_id = service.deployment.user_pools["UserPool"].clone();
    let in_pool = |email: &'static str| {
        let pool_id = pool_id.clone();
        async move {
            let user = pool
                .expect_ok("AdminGetUser", json!({"UserPoolId": pool_id, "Username": email}))
                .await
                .unwrap();
            let seller_id = user["UserAttributes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|attribute| attribute["Name"] == "custom:seller_id")
                .map(|attribute| attribute["Value"].clone());
            let groups = pool
                .expect_ok("AdminListGroupsForUser", json!({"UserPoolId": pool_id, "Username": email}))
                .await
                .unwrap();
            let groups: Vec<Value> = groups["Groups"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["GroupName"].clone())
                .collect();
            (seller_id, groups)
        }
    };
    let create = |email: &'static str, verified: &'static str| {
        let pool_id = pool_id.clone();
        async move {
            let user = json!({"UserPoolId": pool_id, "Username": email, "MessageAction": "SUPPRESS",
                "UserAttributes": [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": verified}]});
            pool.expect_ok("AdminCreateUser", user).await.unwrap();
        }
    };
    let bind = |seller: &'static str, email: &'static str| {
        let admin = admin.clone();
        async move {
            admin
                .send(
                    Method::POST,
                    &format!("/api/v1/sellers/{seller}/users"),
                    Some(json!({ "email": email })),
                    &[],
                )
                .await
        }
    };
    let let_go = |path: &'static str| {
        let admin = admin.clone();
        async move { admin.send(Method::DELETE, path, None, &[]).await }
    };
    let refresh = |token: String| {
        let base = base.clone();
        async move {
            token_call(
                &base,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", LOCAL_CLIENT_ID),
                    ("refresh_token", token.as_str()),
                ],
            )
            .await
        }
    };

    // Vera signs up as a customer, as anyone does on the hosted page.
    let signed_up = tokens_for(&base, &[("username", "vera"), ("role", "customer")]).await;
    assert_eq!(claims(signed_up["id_token"].as_str().unwrap()).get("custom:seller_id"), None);
    assert_eq!(in_pool("vera@example.com").await, (None, vec![]));

    // The admin binds her to seller-2: the pool says so, and the seller lists her by her pool id.
    let bound = bind("seller-2", "vera@example.com").await;
    assert_eq!(bound.status, StatusCode::OK, "{bound:?}");
    let users = bound.body["users"].as_array().unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["email"], "vera@example.com");
    assert_eq!(users[0]["bound_by"], "admin:shop-admin");
    assert!(users[0]["user_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(in_pool("vera@example.com").await, (Some(json!("seller-2")), vec![json!("seller")]));
    let again = bind("seller-2", "vera@example.com").await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["users"].as_array().unwrap().len(), 1, "binding again changes nothing");
    // A binding interrupted after the list was written (the pool not yet told) is completed by
    // binding again.
    pool.expect_ok(
        "AdminRemoveUserFromGroup",
        json!({"UserPoolId": pool_id, "Username": "vera@example.com", "GroupName": "seller"}),
    )
    .await
    .unwrap();
    assert_eq!(in_pool("vera@example.com").await.1, Vec::<Value>::new());
    let completed = bind("seller-2", "vera@example.com").await;
    assert_eq!(completed.status, StatusCode::OK);
    assert_eq!(in_pool("vera@example.com").await, (Some(json!("seller-2")), vec![json!("seller")]));

    // What cannot be bound is refused, with nothing changed.
    create("eve@example.com", "false").await;
    for (path, body, status, code) in [
        (
            "/api/v1/sellers/seller-1/users",
            json!({"email": "vera@example.com"}),
            409,
            "USER_OF_ANOTHER_SELLER",
        ),
        (
            "/api/v1/sellers/seller-2/users",
            json!({"email": "nobody@example.com"}),
            404,
            "USER_NOT_FOUND",
        ),
        (
            "/api/v1/sellers/seller-2/users",
            json!({"email": "eve@example.com"}),
            409,
            "USER_NOT_VERIFIED",
        ),
        (
            "/api/v1/sellers/seller-9/users",
            json!({"email": "vera@example.com"}),
            404,
            "SELLER_NOT_FOUND",
        ),
        (
            "/api/v1/sellers/seller-2/users",
            json!({"email": "not an address"}),
            422,
            "VALIDATION_FAILED",
        ),
        (
            "/api/v1/sellers/seller-2/users",
            json!({"email": format!("{}@example.com", "a".repeat(120))}),
            422,
            "VALIDATION_FAILED",
        ),
        (
            "/api/v1/sellers/seller-2/users",
            json!({"email": "vera@example.com", "role": "admin"}),
            422,
            "VALIDATION_FAILED",
        ),
        ("/api/v1/sellers/seller-2/users", json!({}), 422, "VALIDATION_FAILED"),
    ] {
        let refused = admin.send(Method::POST, path, Some(body), &[]).await;
        assert_eq!((refused.status.as_u16(), refused.code()), (status, code), "{path}: {refused:?}");
    }
    let customer = Api::customer(&service, "mallory");
    let forbidden = customer
        .send(
            Method::POST,
            "/api/v1/sellers/seller-2/users",
            Some(json!({"email": "mallory@example.com"})),
            &[],
        )
        .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert_eq!(in_pool("vera@example.com").await, (Some(json!("seller-2")), vec![json!("seller")]));
    assert_eq!(in_pool("eve@example.com").await, (None, vec![]));

    // The session she had as a customer refreshes into seller-2's, as Cognito's refresh does.
    let (status, refreshed) = refresh(signed_up["refresh_token"].as_str().unwrap().to_owned()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(claims(refreshed["id_token"].as_str().unwrap())["custom:seller_id"], "seller-2");
    // A new sign-in makes her seller-2's, whatever she picks on the page: the pool decides.
    let tokens = tokens_for(&base, &[("username", "vera"), ("role", "customer")]).await;
    let seller = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(seller["custom:seller_id"], "seller-2");
    assert_eq!(seller["cognito:groups"], json!(["seller"]));
    let vera = Api::with_token(&service, tokens["id_token"].as_str().unwrap());
    assert_eq!(vera.get("/api/v1/sellers/seller-2/orders").await.status, StatusCode::OK);
    assert_eq!(vera.get("/api/v1/sellers/seller-1/orders").await.status, StatusCode::FORBIDDEN);
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(refresh(refresh_token.clone()).await.0, StatusCode::OK, "refreshed while bound");

    // Let go, by her email in any case: out of the group, the attribute gone, her refresh
    // refused, the seller's list empty.
    let removed = let_go("/api/v1/sellers/seller-2/users/VERA@example.com").await;
    assert_eq!(removed.status, StatusCode::OK, "{removed:?}");
    assert_eq!(removed.body["users"], json!([]));
    assert_eq!(in_pool("vera@example.com").await, (None, vec![]));
    let (status, body) = refresh(refresh_token).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let twice = let_go("/api/v1/sellers/seller-2/users/vera@example.com").await;
    assert_eq!((twice.status, twice.code()), (StatusCode::NOT_FOUND, "USER_NOT_BOUND"));
    let after = tokens_for(&base, &[("username", "vera"), ("role", "customer")]).await;
    assert_eq!(
        claims(after["id_token"].as_str().unwrap()).get("custom:seller_id"),
        None,
        "a customer again"
    );
    // Free again, she may act for another seller.
    let moved = bind("seller-1", "vera@example.com").await;
    assert_eq!(moved.status, StatusCode::OK, "{moved:?}");

    // An address with a plus, in the path as the pages encode it.
    create("rita+shop@example.com", "true").await;
    let rita = bind("seller-2", "rita+shop@example.com").await;
    assert_eq!(rita.status, StatusCode::OK, "{rita:?}");
    assert_eq!(in_pool("rita+shop@example.com").await.0, Some(json!("seller-2")));
    let gone = let_go("/api/v1/sellers/seller-2/users/rita%2Bshop%40example.com").await;
    assert_eq!((gone.status, gone.body["users"].clone()), (StatusCode::OK, json!([])), "{gone:?}");
    assert_eq!(in_pool("rita+shop@example.com").await, (None, vec![]));

    // A binding the list lost (an admin's command in the pool, or an interrupted write) can
    // still be ended through the API.
    create("otto@example.com", "true").await;
    pool.expect_ok(
        "AdminUpdateUserAttributes",
        json!({"UserPoolId": pool_id, "Username": "otto@example.com", "UserAttributes": [{"Name": "custom:seller_id", "Value": "seller-2"}]}),
    )
    .await
    .unwrap();
    pool.expect_ok(
        "AdminAddUserToGroup",
        json!({"UserPoolId": pool_id, "Username": "otto@example.com", "GroupName": "seller"}),
    )
    .await
    .unwrap();
    let unlisted = let_go("/api/v1/sellers/seller-2/users/otto@example.com").await;
    assert_eq!(unlisted.status, StatusCode::OK, "{unlisted:?}");
    assert_eq!(in_pool("otto@example.com").await, (None, vec![]));

    // The changes are in the seller's audit trail, by the admin.
    let trail = orders_tests::eventually(std::time::Duration::from_secs(15), || async {
        let entries = admin.get("/api/v1/audit/sellers/seller-2").await.body["entries"].clone();
        let users: Vec<Value> = entries
            .as_array()?
            .iter()
            .flat_map(|entry| entry["changes"].as_array().cloned().unwrap_or_default())
            .filter(|change| change["field"] == "users")
            .collect();
        (users.len() == 4).then_some(users)
    })
    .await;
    assert_eq!(trail[0], json!({"field": "users", "before": "rita+shop@example.com", "after": ""}));
    assert_eq!(trail[3]["after"], "vera@example.com");
}
