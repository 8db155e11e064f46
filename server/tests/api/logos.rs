//! `/api/save-svg` and `/api/logos/{name}`: admins only, sanitised on the way in, served as an
//! image that cannot run anything.

use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with, Backend};
use crate::on_both_backends;

on_both_backends!(svg_logos_are_sanitised_and_served_safely, saving_logos_needs_an_admin);

const DIRTY: &str = r##"<?xml version="1.0"?><?xml-stylesheet href="https://evil.example/x.css"?>
<!DOCTYPE svg [<!ENTITY boom "boom">]>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 10 10" onload="alert(1)">
  <script>alert(document.cookie)</script>
  <foreignObject><iframe src="https://evil.example"></iframe></foreignObject>
  <defs><linearGradient id="g"><stop offset="0" stop-color="#f00"/></linearGradient></defs>
  <rect id="r" width="10" height="10" fill="url(#g)" onclick="steal()" style="background:url(https://evil.example/t.png)"/>
  <use xlink:href="https://evil.example/sprite.svg#icon"/><use href="#r"/>
  <a href="javascript:alert(1)"><text>link</text></a><text x="1" y="5">Hi &amp; bye</text>
  <image href="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4="/>
</svg>"##;

async fn svg_logos_are_sanitised_and_served_safely(backend: Backend) {
    let app = spawn_app_with(backend, |config| config.body_limit_bytes = 1024 * 1024).await;
    let owner = app.signed_in("owner").await.access;
    let reply =
        app.post_bearer("/api/save-svg", &owner, json!({"svg": DIRTY, "filename": "../../etc/Brand Logo.svg"})).await;
    // nchat's handler answers 200 with the saved file's `path`.
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["data"]["filename"], "BrandLogo.svg");
    let url = reply.body["data"]["url"].as_str().expect("url").to_string();
    assert_eq!(url, "/api/logos/BrandLogo.svg");
    assert_eq!(reply.body["data"]["path"], url);

    let served = app.client.get(app.url(&url)).send().await.expect("logo");
    assert_eq!(served.status(), 200);
    let header = |name: &str| served.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert_eq!(header("content-type"), "image/svg+xml");
    assert_eq!(header("content-security-policy"), "default-src 'none'; style-src 'unsafe-inline'");
    assert_eq!(header("x-content-type-options"), "nosniff");
    let svg = served.text().await.expect("body");
    for bad in [
        "script",
        "foreignobject",
        "iframe",
        "onload",
        "onclick",
        "evil",
        "javascript",
        "data:",
        "<!doctype",
        "entity",
        "<?",
        "<image",
        "<a ",
    ] {
        assert!(!svg.to_lowercase().contains(bad), "{bad:?} survived: {svg}");
    }
    for kept in [r##"fill="url(#g)""##, r##"<use href="#r"/>"##, "Hi &amp; bye", "<linearGradient id=\"g\">"] {
        assert!(svg.contains(kept), "{kept:?} lost: {svg}");
    }

    app.get("/api/logos/nope.svg").await.assert_nchat_error(404, "NOT_FOUND");
    app.get("/api/logos/..%2Fjwt-secret").await.assert_nchat_error(404, "NOT_FOUND");

    for bad in ["not svg at all", "<html><body/></html>", "<svg><g></svg>", "<svg>&undefined;</svg>"] {
        app.post_bearer("/api/save-svg", &owner, json!({"svg": bad, "filename": "x.svg"}))
            .await
            .assert_nchat_error(400, "VALIDATION_ERROR");
    }
    for name in ["../..", "../.svg", "logo", "logo.png", ""] {
        let reply = app.post_bearer("/api/save-svg", &owner, json!({"svg": "<svg/>", "filename": name})).await;
        reply.assert_nchat_error(400, "VALIDATION_ERROR");
        assert_eq!(reply.body["details"]["field"], "filename", "{}", reply.text);
    }
    app.post_bearer("/api/save-svg", &owner, json!({"svg": "<svg/>"})).await.assert_nchat_error(400, "BAD_REQUEST");
    let huge = format!("<svg>{}</svg>", " ".repeat(600 * 1024));
    app.post_bearer("/api/save-svg", &owner, json!({"svg": huge, "filename": "big.svg"}))
        .await
        .assert_nchat_error(413, "FILE_TOO_LARGE");
    app.stop().await;
}

async fn saving_logos_needs_an_admin(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = json!({"svg": "<svg xmlns=\"http://www.w3.org/2000/svg\"/>", "filename": "logo.svg"});
    app.post("/api/save-svg", body.clone()).await.assert_nchat_error(401, "UNAUTHORIZED");
    let _owner = app.signed_in("owner").await;
    let member = app.signed_in("member").await.access;
    app.post_bearer("/api/save-svg", &member, body.clone()).await.assert_nchat_error(403, "FORBIDDEN");
    let output = app.hearth_command(&["user", "set-role", "member", "admin"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let reply = app.post_bearer("/api/save-svg", &member, body).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["data"]["path"], "/api/logos/logo.svg");
    app.stop().await;
}
