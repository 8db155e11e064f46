//! Each person's language: saved on their account (nchat's `/api/users/me/profile`, the browser
//! app's `/user/set-language`), taken from the sign-up request, and spoken by the mails Hearth
//! sends them.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Backend, Reply, TestApp, PASSWORD};
use crate::on_both_backends;

on_both_backends!(
    a_person_who_saved_german_gets_the_next_reset_mail_in_german,
    a_sign_up_gets_its_code_in_the_language_it_came_with,
    the_profile_language_round_trips_on_both_surfaces,
    language_changes_refuse_bad_input_and_strangers,
);

const PROFILE: &str = "/api/users/me/profile";

async fn profile(app: &TestApp, method: Method, token: Option<&str>, body: Option<Value>) -> Reply {
    let mut request = app.client.request(method, app.url(PROFILE));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    app.send(request).await
}

/// The language the profile shows (`None` when it has none), asserting nchat's success envelope.
async fn saved_language(app: &TestApp, token: &str) -> Option<String> {
    let reply = profile(app, Method::GET, Some(token), None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["success"], true, "{}", reply.text);
    assert_eq!(reply.body["profile"], reply.body["data"]["profile"], "data's fields are repeated at the top");
    reply.body["data"]["profile"]["language"].as_str().map(str::to_string)
}

fn link_in(body: &str) -> String {
    body.split_whitespace()
        .find(|w| w.starts_with("http") && w.contains("/user/reset-password?"))
        .unwrap_or_else(|| panic!("no reset link in {body}"))
        .to_string()
}

fn six_digits_in(body: &str) -> String {
    let code = body.split_whitespace().find(|w| w.len() == 6 && w.chars().all(|c| c.is_ascii_digit()));
    code.unwrap_or_else(|| panic!("no code in {body}")).to_string()
}

async fn a_person_who_saved_german_gets_the_next_reset_mail_in_german(backend: Backend) {
    let app = spawn_app(backend).await;
    let anna = app.signed_in("anna").await;
    let reply = profile(&app, Method::PATCH, Some(&anna.access), Some(json!({"language": "de"}))).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["data"]["profile"]["language"], "de");

    let reply = app.post("/user/reset-password-request", json!({"username": "anna"})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let mail = app.mail.wait_for("anna@example.org", "Dein Hearth-Passwort zurücksetzen").await;
    assert_eq!(mail.subject, "Dein Hearth-Passwort zurücksetzen");
    assert!(
        mail.body.starts_with("Jemand möchte das Passwort des Hearth-Kontos „anna“ zurücksetzen.\n\n")
            && mail.body.contains("(er ist 60 Minuten lang gültig):\n")
            && mail.body.contains("Warst du das nicht, ignoriere diese E-Mail einfach"),
        "{}",
        mail.body
    );
    // The German mail's link works like the English one.
    let link = link_in(&mail.body);
    let query = link.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let token = query.split('&').find_map(|pair| pair.strip_prefix("token=")).expect("a token");
    let body =
        json!({"token": token, "username": "anna", "password": "N3w-password!", "confirm_password": "N3w-password!"});
    assert_eq!(app.post("/user/reset-password", body).await.status, 200);

    // A new address is confirmed in the saved language too (here Spanish, saved by the browser's route).
    let anna = app.login("anna", "N3w-password!").await;
    let reply = app.post("/user/set-language", json!({"session_token": anna.access, "language": "es"})).await;
    assert_eq!(reply.body, json!({"message": "Language saved.", "language": "es"}), "{}", reply.text);
    let reply =
        app.post("/user/submit-profile", json!({"session_token": anna.access, "email": "ana@example.org"})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let mail =
        app.mail.wait_for("ana@example.org", "Tu código de verificación de Hearth para tu nueva dirección").await;
    assert!(mail.body.contains("para que ana@example.org pase a ser la dirección de tu cuenta de Hearth «anna»"));
    assert!(mail.body.contains("Es válido durante 5 minutos."), "{}", mail.body);
    let code = six_digits_in(&mail.body);
    let reply = app.post("/user/verify-email", json!({"username": "anna", "email_token": code})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    app.stop().await;
}

async fn a_sign_up_gets_its_code_in_the_language_it_came_with(backend: Backend) {
    let app = spawn_app(backend).await;
    // nchat: Accept-Language, by q-value (French is preferred over English here).
    let body = json!({"email": "zoe@example.org", "password": PASSWORD, "username": "zoe"});
    let request = app.client.post(app.url("/api/auth/signup")).header("accept-language", "en;q=0.5, fr-CA").json(&body);
    let reply = app.send(request).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let mail = app.mail.wait_for("zoe@example.org", "Votre code de vérification Hearth").await;
    let code = six_digits_in(&mail.body);
    assert_eq!(mail.subject, format!("Votre code de vérification Hearth : {code}"));
    assert_eq!(
        mail.body.trim_end(),
        format!(
            "Votre code de vérification Hearth est le suivant : {code}\n\nIl est valable 5 minutes. \
             Si vous ne l’avez pas demandé, ignorez simplement ce message."
        )
    );
    // The code confirms the account, and the language is saved on it.
    let reply = app.post("/api/auth/verify-email", json!({"username": "zoe", "code": code})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let signin = app.post("/api/auth/signin", json!({"email": "zoe", "password": PASSWORD})).await;
    assert_eq!(
        saved_language(&app, signin.body["data"]["accessToken"].as_str().expect("a token")).await.as_deref(),
        Some("fr")
    );

    // ChatCLI: the pages' cookie wins over Accept-Language; Arabic, right to left.
    let body = json!({"username": "omar", "password": PASSWORD, "email": "omar@example.org"});
    let request = app
        .client
        .post(app.url("/user/register"))
        .header("cookie", "theme=dark; hearth_locale=ar")
        .header("accept-language", "de")
        .json(&body);
    assert_eq!(app.send(request).await.status, 201);
    let mail = app.mail.wait_for("omar@example.org", "رمز التحقق الخاص بك في Hearth").await;
    assert!(mail.body.contains("يبقى الرمز صالحًا لمدة 5 دقائق."), "{}", mail.body);

    // No language asked for: English, as before, and none saved.
    app.register("liam").await;
    let mail = app.mail.wait_for("liam@example.org", "Your Hearth verification code").await;
    assert!(mail.body.contains("It is valid for 5 minutes."), "{}", mail.body);
    app.stop().await;
}

async fn the_profile_language_round_trips_on_both_surfaces(backend: Backend) {
    let app = spawn_app(backend).await;
    let mia = app.signed_in("mia").await;
    assert_eq!(saved_language(&app, &mia.access).await, None);
    let browser = app.post("/user/language", json!({"session_token": mia.access})).await;
    assert_eq!(browser.body, json!({"language": null}), "{}", browser.text);
    let reply = profile(&app, Method::GET, Some(&mia.access), None).await;
    let shown = &reply.body["data"]["profile"];
    assert_eq!(shown["username"], "mia");
    assert_eq!(shown["email"], "mia@example.org");
    assert_eq!(shown["emailVerified"], true);

    // A regional tag saves its catalogue language.
    let reply = profile(&app, Method::PATCH, Some(&mia.access), Some(json!({"language": "de-AT"}))).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["profile"]["language"], "de");
    assert_eq!(saved_language(&app, &mia.access).await.as_deref(), Some("de"));

    // Nothing said, null, or only fields Hearth does not keep: the language stays.
    for body in [json!({}), json!({"language": null}), json!({"bio": "Hi", "timezone": "Europe/Berlin"})] {
        let reply = profile(&app, Method::PATCH, Some(&mia.access), Some(body.clone())).await;
        assert_eq!(reply.status, 200, "{body}: {}", reply.text);
        assert_eq!(reply.body["data"]["profile"]["language"], "de", "{body}");
    }

    // The browser app's routes and nchat's read and write the same account.
    let browser = app.post("/user/language", json!({"session_token": mia.access})).await;
    assert_eq!(browser.body, json!({"language": "de"}), "{}", browser.text);
    let reply = app.post("/user/set-language", json!({"session_token": mia.access, "language": "AR"})).await;
    assert_eq!(reply.body, json!({"message": "Language saved.", "language": "ar"}), "{}", reply.text);
    assert_eq!(saved_language(&app, &mia.access).await.as_deref(), Some("ar"));
    // The browser may send its token as a Bearer header too.
    let reply = app.post_bearer("/user/set-language", &mia.access, json!({"language": "fr"})).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(saved_language(&app, &mia.access).await.as_deref(), Some("fr"));
    app.stop().await;
}

async fn language_changes_refuse_bad_input_and_strangers(backend: Backend) {
    let app = spawn_app(backend).await;
    let ivo = app.signed_in("ivo").await;
    let patch = |body: Value| profile(&app, Method::PATCH, Some(&ivo.access), Some(body));

    // nchat: a wrong type or an unknown language is VALIDATION_ERROR naming the field.
    for body in
        [json!({"language": 5}), json!({"language": ["de"]}), json!({"language": "xx"}), json!({"language": ""})]
    {
        let reply = patch(body.clone()).await;
        reply.assert_nchat_error(400, "VALIDATION_ERROR");
        assert_eq!(reply.body["details"]["field"], "language", "{body}: {}", reply.text);
    }
    let reply = patch(json!({"language": "klingon"})).await;
    assert_eq!(reply.body["error"], "Unknown language: choose one of en, de, fr, es, ar.");
    let not_an_object = app.client.patch(app.url(PROFILE)).bearer_auth(&ivo.access).body("[\"de\"]");
    app.send(not_an_object.header("content-type", "application/json")).await.assert_nchat_error(400, "BAD_REQUEST");
    // No token, or a made-up one.
    profile(&app, Method::GET, None, None).await.assert_nchat_error(401, "UNAUTHORIZED");
    profile(&app, Method::PATCH, None, Some(json!({"language": "de"}))).await.assert_nchat_error(401, "UNAUTHORIZED");
    profile(&app, Method::GET, Some("not-a-token"), None).await.assert_nchat_error(401, "INVALID_TOKEN");
    // Methods the route does not serve.
    profile(&app, Method::POST, Some(&ivo.access), Some(json!({"language": "de"})))
        .await
        .assert_nchat_error(405, "METHOD_NOT_ALLOWED");

    // ChatCLI: the same rules in its envelope.
    let set = |body: Value| app.post("/user/set-language", body);
    let reply = set(json!({"session_token": ivo.access, "language": "xx"})).await;
    reply.assert_chatcli_error(400, "Unknown language: choose one of en, de, fr, es, ar.");
    assert_eq!(reply.body["code"], "VALIDATION_ERROR");
    assert_eq!(reply.body["details"]["field"], "language");
    let reply = set(json!({"session_token": ivo.access, "language": 5})).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(reply.body["status"], "error");
    assert!(reply.field("message").contains("expected a string"), "{}", reply.text);
    set(json!({"session_token": ivo.access})).await.assert_chatcli_error(400, "Missing field: language.");
    set(json!({"language": "de"})).await.assert_chatcli_error(401, "Invalid or expired session token.");
    app.post("/user/language", json!({"session_token": ""}))
        .await
        .assert_chatcli_error(401, "Invalid or expired session token.");
    set(json!({"session_token": "forged", "language": "de"}))
        .await
        .assert_chatcli_error(401, "Invalid or expired session token.");

    // Nothing refused was saved.
    assert_eq!(saved_language(&app, &ivo.access).await, None);
    app.stop().await;
}
