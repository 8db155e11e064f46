//! Issue 7's authorization matrix: every route of both REST surfaces, every axum route and page,
//! and every WebSocket client frame, tried as each of nine personas, each answer checked against
//! the rules (README, chatcli-wire.md, nchat-notes.md and the issues' texts).
//!
//! The table is complete by construction: the test fails, naming the route, when a registered
//! server function, an axum route in server/src, a page, an operation of `/openapi.json` or a
//! `ClientFrame` type (read from the OpenAPI components, which are derived from the enum) has no
//! row, and when a row names something that does not exist.
//!
//! The fixture: one group created by `creator`, with `insider`, `guest`, `moderator`, `admin` and
//! `owner` in it (plus the helper accounts `ringer` and `victim`); `outsider` is a member of the
//! server but not of the group. `revoked` holds a session that has been logged out. Staff are in
//! the group on purpose: their role powers (removing members, deleting others' messages,
//! managing webhooks) only apply to chats they are in; strangers to a chat are the `outsider`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{spawn_app_with, Backend, Reply, TestApp, PASSWORD};
use crate::on_both_backends;
use crate::upstream_standin::{self, StandIn, GIF_KEY, TRANSLATE_KEY};
use crate::ws_client::{Ended, WsClient};

on_both_backends!(authorization_matrix);

/// A second password, for the cells that change one.
const OTHER_PASSWORD: &str = "Batt3ry-staple";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
const WAIT: Duration = Duration::from_secs(5);
/// Words only the group's name and its ringer's messages contain.
const GROUP_MARKER: &str = "Matrixgroup";

/// The nine callers, in the order of each row's expectation string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum P {
    Anonymous,
    Revoked,
    Guest,
    Outsider,
    Insider,
    Creator,
    Moderator,
    Admin,
    Owner,
}

const PERSONAS: [P; 9] =
    [P::Anonymous, P::Revoked, P::Guest, P::Outsider, P::Insider, P::Creator, P::Moderator, P::Admin, P::Owner];

// Expectations, one letter per persona in `PERSONAS` order: `o` allowed (2xx, 101, or the frame's
// success), `u` 401 (WebSocket: close 1008), `f` 403 (WebSocket: an `error` frame that refuses, or
// `call_error` ACCESS_DENIED), `n` 404 (WebSocket: "Chat not found." / "Message not found.").
/// Anyone: no session needed, and a session (even a dead one) sent along changes nothing.
const PUBLIC: &str = "ooooooooo";
/// Any live session.
const SIGNED_IN: &str = "uuooooooo";
/// Optional sign-in (nchat's search): no token is anonymous, a dead one is refused.
const OPTIONAL: &str = "ouooooooo";
/// Members of the chat, guests included (reading); strangers are told it does not exist.
const READ: &str = "uuonooooo";
/// Members of the chat who may write (guests read only).
const WRITE: &str = "uufnooooo";
/// Any live session but a guest's (creating things).
const CREATE: &str = "uufoooooo";
/// Admins and the owner.
const ADMIN: &str = "uufffffoo";
/// Admins and the owner; everyone else 403, with or without a token (nchat's config history).
const ADMIN_ELSE_403: &str = "fffffffoo";
/// A group's webhooks: its creator, and admins (strangers: 404).
const MANAGE_GROUP: &str = "uufnfofoo";
/// Removing someone else from a group: its creator and moderators and up.
const REMOVE_OTHER: &str = "uufnfoooo";
/// Editing someone else's message: nobody.
const EDIT_OTHERS: &str = "uufnfffff";
/// Deleting someone else's message: moderators and up.
const DELETE_OTHERS: &str = "uufnffooo";
/// Ringing a chat: its members, not guests; strangers get ACCESS_DENIED (403).
const RING: &str = "uuffooooo";
/// Answering, declining, hanging up, joining or getting a token for a call: members of its chat,
/// guests included; strangers get ACCESS_DENIED (403).
const CALL_MEMBER: &str = "uuofooooo";
/// Another person's audit entries (the creator's): that person and admins.
const CREATORS_AUDIT: &str = "uufffofoo";

#[derive(Debug, Clone, Copy)]
enum Act {
    // ChatCLI: connection and accounts.
    VerifyConnection(bool),
    Subscribe(bool),
    Register,
    VerifyEmail,
    ResendVerification,
    Login,
    RefreshToken,
    ResetRequest,
    ResetPassword,
    Profile,
    SubmitProfile,
    SavedLanguage,
    SetLanguage,
    ChangePassword,
    Logout,
    LogoutAll,
    // ChatCLI: chats.
    FetchChats,
    FetchArchived,
    CreateChat,
    CreateGroup,
    AddMembers,
    RemoveMembers,
    GetMembers,
    Messages,
    PostMessage,
    AddReaction,
    RemoveReaction,
    PinMessage,
    UnpinMessage,
    Pins,
    MessageHistory,
    SaveMessage,
    UnsaveMessage,
    SavedMessages,
    MarkRead,
    Archive,
    Unarchive,
    CallToken,
    // nchat: auth.
    Signup,
    Signin,
    Refresh,
    VerifyPassword,
    NchatChangePassword,
    NchatVerifyEmail,
    NchatResend,
    Signout,
    NchatCallToken,
    // nchat: one message.
    ReactionsGet,
    ReactionsPost,
    ReactionsDelete,
    ReactionsPatch,
    PinGet,
    PinPost,
    PinDelete,
    HistoryGet,
    SaveGet,
    SavePost,
    SaveDelete,
    SavedList,
    // nchat: the caller's profile.
    ProfileGet,
    ProfilePatch,
    // nchat: platform.
    Health,
    Ready(bool),
    Metrics,
    ConfigGet,
    ConfigHistory,
    ConfigReplace,
    ConfigPatch,
    AuditList,
    AuditOfCreator,
    AuditCreate,
    AuditDelete,
    AuditExport,
    AuditExportPost,
    UploadStatus,
    UploadBegin,
    UploadPut,
    UploadComplete,
    FileDownload,
    SearchGet,
    SearchPost,
    WebhookCreate,
    WebhookList,
    WebhookRevoke,
    WebhookDelete,
    WebhookInfoQuery,
    WebhookPostQuery,
    WebhookInfoPath,
    WebhookPostPath,
    Translate,
    Gif,
    LinkPreview,
    SaveSvg,
    Logo,
    /// A page or static document, by GET (`{id}` becomes the group's id).
    Page(&'static str),
    /// The catalogue's own server function: a language's strings, for the browser app.
    Catalogue,
    /// `GET /ws`: the upgrade, then `auth`.
    LiveSocket,
    /// A call socket under this prefix (`/ws/call`, `/call`), for the chat's ringing call.
    CallSocket(&'static str),
    Frame(FrameAct),
}

#[derive(Debug, Clone, Copy)]
enum FrameAct {
    Auth,
    JoinIdle,
    JoinChat,
    LeaveChat,
    PostMsg,
    AddReaction,
    RemoveReaction,
    Pin,
    Unpin,
    EditOwn,
    EditOthers,
    DeleteOwn,
    DeleteOthers,
    Typing,
    ChatCreated,
    CallInvite,
    CallAccept,
    CallDecline,
    CallEnd,
}

struct Row {
    /// An HTTP method, or `WS` for a client frame (then `path` is the frame's type).
    method: &'static str,
    path: &'static str,
    /// What this row tries, when a route has several rows.
    variant: &'static str,
    expect: &'static str,
    act: Act,
}

const fn row(method: &'static str, path: &'static str, expect: &'static str, act: Act) -> Row {
    Row { method, path, variant: "", expect, act }
}

const fn variant(method: &'static str, path: &'static str, what: &'static str, expect: &'static str, act: Act) -> Row {
    Row { method, path, variant: what, expect, act }
}

const fn frame(kind: &'static str, expect: &'static str, act: FrameAct) -> Row {
    Row { method: "WS", path: kind, variant: "", expect, act: Act::Frame(act) }
}

/// The table. Rows that end sessions or change passwords come last; each of their cells signs
/// the persona in again, so the order only keeps the fixture simple.
fn table() -> Vec<Row> {
    use Act::*;
    use FrameAct as F;
    vec![
        // ChatCLI: connection and accounts (credentials in the body, not a session).
        row("GET", "/verify-connection", PUBLIC, VerifyConnection(true)),
        row("POST", "/verify-connection", PUBLIC, VerifyConnection(false)),
        row("GET", "/subscribe", PUBLIC, Subscribe(true)),
        row("POST", "/subscribe", PUBLIC, Subscribe(false)),
        row("POST", "/user/register", PUBLIC, Register),
        row("POST", "/user/verify-email", PUBLIC, VerifyEmail),
        row("POST", "/user/resend-verification", PUBLIC, ResendVerification),
        row("POST", "/user/login", PUBLIC, Login),
        // The refresh token is the credential: none (anonymous) or a revoked session's is 401.
        row("POST", "/user/refresh-token", SIGNED_IN, RefreshToken),
        row("POST", "/user/reset-password-request", PUBLIC, ResetRequest),
        row("POST", "/user/reset-password", PUBLIC, ResetPassword),
        row("POST", "/user/profile", SIGNED_IN, Profile),
        row("POST", "/user/submit-profile", SIGNED_IN, SubmitProfile),
        row("POST", "/user/language", SIGNED_IN, SavedLanguage),
        row("POST", "/user/set-language", SIGNED_IN, SetLanguage),
        // ChatCLI: chats.
        row("POST", "/chat/fetch-chats", SIGNED_IN, FetchChats),
        row("POST", "/chat/fetch-archived", SIGNED_IN, FetchArchived),
        row("POST", "/chat/create-chat", CREATE, CreateChat),
        row("POST", "/chat/create-group", CREATE, CreateGroup),
        row("POST", "/chat/add-members", WRITE, AddMembers),
        variant("POST", "/chat/remove-members", "someone else", REMOVE_OTHER, RemoveMembers),
        row("POST", "/chat/get-members", READ, GetMembers),
        row("POST", "/chat/messages", READ, Messages),
        row("POST", "/chat/post-message", WRITE, PostMessage),
        row("POST", "/chat/add-reaction", WRITE, AddReaction),
        row("POST", "/chat/remove-reaction", WRITE, RemoveReaction),
        row("POST", "/chat/pin-message", WRITE, PinMessage),
        row("POST", "/chat/unpin-message", WRITE, UnpinMessage),
        row("POST", "/chat/pins", READ, Pins),
        row("POST", "/chat/message-history", READ, MessageHistory),
        // Saving is for oneself: guests too.
        row("POST", "/chat/save-message", READ, SaveMessage),
        row("POST", "/chat/unsave-message", READ, UnsaveMessage),
        row("POST", "/chat/saved-messages", SIGNED_IN, SavedMessages),
        row("POST", "/chat/mark-read", READ, MarkRead),
        // Archiving files the chat away in one's own list: reading, not writing.
        row("POST", "/chat/archive-chat", READ, Archive),
        row("POST", "/chat/unarchive-chat", READ, Unarchive),
        row("POST", "/chat/call-token", CALL_MEMBER, CallToken),
        // nchat: auth.
        row("POST", "/api/auth/signup", PUBLIC, Signup),
        row("POST", "/api/auth/signin", PUBLIC, Signin),
        row("POST", "/api/auth/refresh", SIGNED_IN, Refresh),
        row("POST", "/api/auth/verify-password", SIGNED_IN, VerifyPassword),
        row("POST", "/api/auth/verify-email", PUBLIC, NchatVerifyEmail),
        row("POST", "/api/auth/resend-verification", PUBLIC, NchatResend),
        row("POST", "/api/calls/token", CALL_MEMBER, NchatCallToken),
        // nchat: a message of the group (strangers: 404, as for the chat).
        row("GET", "/api/messages/{id}/reactions", READ, ReactionsGet),
        row("POST", "/api/messages/{id}/reactions", WRITE, ReactionsPost),
        row("DELETE", "/api/messages/{id}/reactions", WRITE, ReactionsDelete),
        row("PATCH", "/api/messages/{id}/reactions", WRITE, ReactionsPatch),
        row("GET", "/api/messages/{id}/pin", READ, PinGet),
        row("POST", "/api/messages/{id}/pin", WRITE, PinPost),
        row("DELETE", "/api/messages/{id}/pin", WRITE, PinDelete),
        row("GET", "/api/messages/{id}/history", READ, HistoryGet),
        row("GET", "/api/messages/{id}/save", READ, SaveGet),
        row("POST", "/api/messages/{id}/save", READ, SavePost),
        row("DELETE", "/api/messages/{id}/save", READ, SaveDelete),
        row("GET", "/api/saved-messages", SIGNED_IN, SavedList),
        // nchat: one's own profile.
        row("GET", "/api/users/me/profile", SIGNED_IN, ProfileGet),
        row("PATCH", "/api/users/me/profile", SIGNED_IN, ProfilePatch),
        // nchat: operations and configuration.
        row("GET", "/api/health", PUBLIC, Health),
        row("GET", "/api/ready", PUBLIC, Ready(false)),
        row("HEAD", "/api/ready", PUBLIC, Ready(true)),
        row("GET", "/api/metrics", PUBLIC, Metrics),
        row("GET", "/api/config", PUBLIC, ConfigGet),
        variant("GET", "/api/config", "?history=true", ADMIN_ELSE_403, ConfigHistory),
        row("POST", "/api/config", ADMIN, ConfigReplace),
        row("PATCH", "/api/config", ADMIN, ConfigPatch),
        // Audit: one's own entries, admins everyone's.
        variant("GET", "/api/audit", "own entries", SIGNED_IN, AuditList),
        variant("GET", "/api/audit", "?actor=<the creator>", CREATORS_AUDIT, AuditOfCreator),
        row("POST", "/api/audit", SIGNED_IN, AuditCreate),
        row("DELETE", "/api/audit", ADMIN, AuditDelete),
        row("GET", "/api/audit/export", ADMIN, AuditExport),
        row("POST", "/api/audit/export", ADMIN, AuditExportPost),
        // Uploads: the presigned URL is the PUT's credential, whoever sends it.
        row("GET", "/api/upload", PUBLIC, UploadStatus),
        variant("POST", "/api/upload", "for the group", WRITE, UploadBegin),
        row("PUT", "/api/upload/{file_id}", PUBLIC, UploadPut),
        variant("POST", "/api/upload/complete", "own file, into the group", WRITE, UploadComplete),
        variant("GET", "/api/files/{file_id}", "a file in the group", READ, FileDownload),
        // Search: optional sign-in (results are limited to the caller's chats; anonymous: none).
        row("GET", "/api/search", OPTIONAL, SearchGet),
        row("POST", "/api/search", OPTIONAL, SearchPost),
        // Webhooks: managed by the group's creator and admins; the hook's token is its credential.
        row("POST", "/api/webhooks", MANAGE_GROUP, WebhookCreate),
        row("GET", "/api/webhooks", MANAGE_GROUP, WebhookList),
        row("POST", "/api/webhooks/revoke", MANAGE_GROUP, WebhookRevoke),
        row("DELETE", "/api/webhooks/{id}", MANAGE_GROUP, WebhookDelete),
        row("GET", "/api/webhook/{id}", PUBLIC, WebhookInfoQuery),
        row("POST", "/api/webhook/{id}", PUBLIC, WebhookPostQuery),
        row("GET", "/api/webhook/{id}/{token}", PUBLIC, WebhookInfoPath),
        row("POST", "/api/webhook/{id}/{token}", PUBLIC, WebhookPostPath),
        // Integrations: anyone, as the guide's table says (HEARTH_ANONYMOUS_TOOLS=off: SIGNED_IN,
        // checked in tools.rs); callers without a token count under their own lower limit.
        row("POST", "/api/translate", PUBLIC, Translate),
        row("GET", "/api/gif", PUBLIC, Gif),
        row("GET", "/api/link-preview", PUBLIC, LinkPreview),
        row("POST", "/api/save-svg", ADMIN, SaveSvg),
        row("GET", "/api/logos/{name}", PUBLIC, Logo),
        // Pages and documents.
        row("GET", "/", PUBLIC, Page("/")),
        row("GET", "/user/reset-password", PUBLIC, Page("/user/reset-password")),
        row("GET", "/chat", PUBLIC, Page("/chat")),
        row("GET", "/chat/{id}", PUBLIC, Page("/chat/{id}")),
        row("GET", "/pkg/hearth.css", PUBLIC, Page("/pkg/hearth.css")),
        row("GET", "/openapi.yaml", PUBLIC, Page("/openapi.yaml")),
        row("GET", "/openapi.json", PUBLIC, Page("/openapi.json")),
        row("GET", "/api-docs", PUBLIC, Page("/api-docs")),
        row("POST", CATALOGUE_ROW, PUBLIC, Catalogue),
        // WebSockets: the upgrade is open to all, the `auth` frame decides.
        row("GET", "/ws", SIGNED_IN, LiveSocket),
        row("GET", "/ws/call/{call_id}", CALL_MEMBER, CallSocket("/ws/call")),
        row("GET", "/call/{call_id}", CALL_MEMBER, CallSocket("/call")),
        frame("auth", SIGNED_IN, F::Auth),
        frame("join_idle", SIGNED_IN, F::JoinIdle),
        frame("join_chat", READ, F::JoinChat),
        frame("leave_chat", READ, F::LeaveChat),
        frame("post_msg", WRITE, F::PostMsg),
        frame("add_reaction", WRITE, F::AddReaction),
        frame("remove_reaction", WRITE, F::RemoveReaction),
        frame("pin_message", WRITE, F::Pin),
        frame("unpin_message", WRITE, F::Unpin),
        Row { variant: "own message", ..frame("edit_msg", WRITE, F::EditOwn) },
        Row { variant: "someone else's message", ..frame("edit_msg", EDIT_OTHERS, F::EditOthers) },
        Row { variant: "own message", ..frame("delete_msg", WRITE, F::DeleteOwn) },
        Row { variant: "someone else's message", ..frame("delete_msg", DELETE_OTHERS, F::DeleteOthers) },
        frame("typing", READ, F::Typing),
        frame("chat_created", READ, F::ChatCreated),
        frame("call_invite", RING, F::CallInvite),
        frame("call_accept", CALL_MEMBER, F::CallAccept),
        frame("call_decline", CALL_MEMBER, F::CallDecline),
        frame("call_end", CALL_MEMBER, F::CallEnd),
        // Last: these end sessions or change passwords (each allowed cell signs in again).
        row("POST", "/user/change-password", SIGNED_IN, ChangePassword),
        row("POST", "/api/auth/change-password", SIGNED_IN, NchatChangePassword),
        row("POST", "/user/logout", SIGNED_IN, Logout),
        row("POST", "/api/auth/signout", SIGNED_IN, Signout),
        row("POST", "/user/logout-all", SIGNED_IN, LogoutAll),
    ]
}

/// What a cell got, in the table's letters (or why it is none of them).
#[derive(Debug, Clone, PartialEq)]
enum Got {
    Allowed,
    Unauthorized,
    Forbidden,
    NotFound,
    Other(String),
}

impl Got {
    fn letter(&self) -> char {
        match self {
            Got::Allowed => 'o',
            Got::Unauthorized => 'u',
            Got::Forbidden => 'f',
            Got::NotFound => 'n',
            Got::Other(_) => '?',
        }
    }
}

fn describe(letter: char) -> &'static str {
    match letter {
        'o' => "allowed",
        'u' => "401 / close 1008",
        'f' => "403 / refusal",
        'n' => "404 / not found",
        _ => "something else",
    }
}

/// An HTTP answer read as a cell: a denial must come in the surface's documented envelope.
fn classify(path: &str, reply: &Reply, persona: P) -> Got {
    let status = reply.status.as_u16();
    let text: String = reply.text.chars().take(300).collect();
    if (200..300).contains(&status) {
        return Got::Allowed;
    }
    let got = match status {
        401 => Got::Unauthorized,
        403 => Got::Forbidden,
        404 => Got::NotFound,
        _ => return Got::Other(format!("{status} {text}")),
    };
    let body = &reply.body;
    if path.starts_with("/api/") {
        // 401: the guide's UNAUTHORIZED ("authentication required") without a token, and
        // INVALID_TOKEN ("invalid or expired") for a revoked one. The refresh route's credential
        // is the refresh token in its body: a missing one is an invalid one.
        let codes: &[&str] = match got {
            Got::Unauthorized if persona == P::Anonymous && path != "/api/auth/refresh" => &["UNAUTHORIZED"],
            Got::Unauthorized => &["INVALID_TOKEN"],
            Got::Forbidden => &["FORBIDDEN"],
            _ => &["NOT_FOUND"],
        };
        let code = body["code"].as_str().unwrap_or_default();
        let envelope = body["success"] == false
            && codes.contains(&code)
            && body["errorCode"] == code
            && body["error"].as_str().is_some_and(|e| !e.is_empty());
        if !envelope {
            return Got::Other(format!("{status} without nchat's {codes:?} envelope: {text}"));
        }
    } else {
        let message = body["message"].as_str().unwrap_or_default();
        let envelope = body["status"] == "error" && !message.is_empty();
        let session = got != Got::Unauthorized
            || message == "Invalid or expired session token."
            || message == "Invalid or expired refresh token.";
        if !envelope || !session {
            return Got::Other(format!("{status} without ChatCLI's error envelope: {text}"));
        }
    }
    got
}

/// A frame that refuses, read as a cell.
fn classify_refusal(frame: &Value) -> Option<Got> {
    match frame["type"].as_str() {
        Some("error") => {
            let message = frame["message"].as_str().unwrap_or_default();
            Some(if message == "Chat not found." || message == "Message not found." {
                Got::NotFound
            } else if message.starts_with("Invalid ")
                || message.starts_with("Unknown frame")
                || message.starts_with("Frames must")
                || message.starts_with("Something went wrong")
            {
                Got::Other(format!("a bad-frame error, not a refusal: {frame}"))
            } else {
                Got::Forbidden
            })
        }
        Some("call_error") => Some(match frame["code"].as_str() {
            Some("ACCESS_DENIED") => Got::Forbidden,
            _ => Got::Other(format!("{frame}")),
        }),
        _ => None,
    }
}

struct Account {
    name: String,
    email: String,
    id: i64,
    password: Mutex<String>,
    access: Mutex<String>,
    refresh: Mutex<String>,
}

impl Account {
    fn access(&self) -> String {
        self.access.lock().expect("lock").clone()
    }
    fn refresh(&self) -> String {
        self.refresh.lock().expect("lock").clone()
    }
    fn password(&self) -> String {
        self.password.lock().expect("lock").clone()
    }
    fn set_tokens(&self, access: &str, refresh: &str) {
        *self.access.lock().expect("lock") = access.to_string();
        *self.refresh.lock().expect("lock") = refresh.to_string();
    }
}

fn user_id(access: &str) -> i64 {
    let token = jsonwebtoken::dangerous::insecure_decode::<Value>(access).expect("an access token");
    token.claims["sub"].as_str().and_then(|s| s.parse().ok()).expect("sub")
}

struct World {
    app: TestApp,
    standin: StandIn,
    personas: HashMap<P, Account>,
    ringer: Account,
    spare: Account,
    resetme: Account,
    victim: String,
    pending: String,
    group: i64,
    /// Each persona's own message in the group (edit) and another (delete).
    own_messages: HashMap<P, (i64, i64)>,
    /// Each persona's uploaded, unattached file.
    files: HashMap<P, String>,
    /// A file attached to a message in the group.
    attached: String,
    /// A message by `ringer` in the group.
    others_message: i64,
    /// A webhook of the group: (id, token).
    hook: (String, String),
    logo: String,
    seq: AtomicUsize,
}

impl World {
    fn next(&self) -> usize {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    fn account(&self, p: P) -> Option<&Account> {
        self.personas.get(&p)
    }

    /// The access token a persona presents (anonymous: none; revoked: a logged-out session's).
    fn token(&self, p: P) -> Option<String> {
        self.account(p).map(Account::access)
    }

    async fn chatcli(&self, p: P, path: &str, mut body: Value) -> Reply {
        match self.token(p) {
            Some(token) => body["session_token"] = json!(token),
            // An empty object is "Invalid JSON format." (400) before anything else, as the
            // reference answers; anonymous callers of token-only routes send an empty token.
            None if body.as_object().is_some_and(|fields| fields.is_empty()) => body["session_token"] = json!(""),
            None => {}
        }
        self.app.post(path, body).await
    }

    /// A request with the persona's access token as `Authorization: Bearer`, if it has one.
    async fn bearer(&self, p: P, method: Method, path_or_url: &str, body: Option<Value>) -> Reply {
        let url = if path_or_url.starts_with("http") { path_or_url.to_string() } else { self.app.url(path_or_url) };
        let mut request = self.app.client.request(method, url);
        if let Some(token) = self.token(p) {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.app.send(request).await
    }

    async fn as_account(&self, account: &Account, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut request = self.app.client.request(method, self.app.url(path)).bearer_auth(account.access());
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.app.send(request).await
    }

    /// Signs the account in again (after a cell ended its sessions).
    async fn sign_in_again(&self, account: &Account) {
        let reply =
            self.app.post("/user/login", json!({"username": account.name, "password": account.password()})).await;
        assert_eq!(reply.status, 200, "signing {} in again: {}", account.name, reply.text);
        account.set_tokens(reply.field("access_token"), reply.field("refresh_token"));
    }

    /// Credentials a persona signs in with: its own, or (anonymous) the spare account's.
    fn credentials(&self, p: P) -> &Account {
        self.account(p).unwrap_or(&self.spare)
    }

    /// A new account waiting for its e-mail code: (username, code).
    async fn unverified(&self) -> (String, String) {
        let name = format!("fresh{}", self.next());
        let email = self.app.register(&name).await;
        let code = self.app.mail.verification_code(&email).await;
        (name, code)
    }

    /// A reset link's token for `resetme`, from a new mail.
    async fn reset_token(&self) -> String {
        let before = self.app.mail.count_to(&self.resetme.email);
        let reply = self.app.post("/user/reset-password-request", json!({"username": self.resetme.name})).await;
        assert_eq!(reply.status, 200, "reset request: {}", reply.text);
        for _ in 0..200 {
            if self.app.mail.count_to(&self.resetme.email) > before {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let link = self.app.mail.reset_link(&self.resetme.email).await;
        let query = link.split_once('?').map(|(_, q)| q).unwrap_or_default();
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).expect("reset link query");
        pairs.into_iter().find(|(k, _)| k == "token").map(|(_, v)| v).expect("token in the reset link")
    }

    /// `victim` in the group (true) or not (false), by its creator.
    async fn victim_in_group(&self, inside: bool) {
        let creator = &self.personas[&P::Creator];
        let listed =
            self.app.post("/chat/get-members", json!({"session_token": creator.access(), "chatID": self.group})).await;
        let members = listed.body["members"].as_array().cloned().unwrap_or_default();
        if members.iter().any(|m| m == self.victim.as_str()) == inside {
            return;
        }
        let path = if inside { "/chat/add-members" } else { "/chat/remove-members" };
        let body = json!({"session_token": creator.access(), "chatID": self.group, "members": [self.victim]});
        let reply = self.app.post(path, body).await;
        assert!(reply.status.is_success(), "{path} victim: {}", reply.text);
    }

    /// A new upload announced by `account` (optionally for the group): (fileId, uploadUrl).
    async fn announce(&self, account: &Account, for_group: bool) -> (String, String) {
        let mut body = json!({"filename": "dot.png", "contentType": "image/png", "size": PNG.len()});
        if for_group {
            body["channelId"] = json!(self.group.to_string());
        }
        let reply = self.as_account(account, Method::POST, "/api/upload", Some(body)).await;
        assert_eq!(reply.status, 201, "announce an upload: {}", reply.text);
        let data = &reply.body["data"];
        (data["fileId"].as_str().expect("fileId").into(), data["uploadUrl"].as_str().expect("uploadUrl").into())
    }

    async fn put_bytes(&self, url: &str, token: Option<String>) -> Reply {
        let mut request = self.app.client.put(url).header("content-type", "image/png").body(PNG.to_vec());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        self.app.send(request).await
    }

    /// A new webhook of the group, by the owner: (id, token).
    async fn new_hook(&self) -> (String, String) {
        let owner = &self.personas[&P::Owner];
        let body = json!({"chatId": self.group, "name": format!("hook{}", self.next())});
        let reply = self.as_account(owner, Method::POST, "/api/webhooks", Some(body)).await;
        assert_eq!(reply.status, 201, "create a webhook: {}", reply.text);
        let data = &reply.body["data"];
        (data["id"].as_str().expect("id").into(), data["token"].as_str().expect("token").into())
    }

    async fn ringer_posts(&self) -> i64 {
        self.app.post_message(&self.ringer.access(), self.group, &format!("{GROUP_MARKER} news")).await
    }

    /// `ringer` rings the group: its socket (kept for hanging up) and the call's id.
    async fn ring(&self) -> (WsClient, String) {
        let (mut socket, _) = WsClient::signed_in(&self.app, &self.ringer.access()).await;
        socket.send(json!({"type": "call_invite", "chatID": self.group})).await;
        loop {
            let frame = socket.recv().await;
            match frame["type"].as_str() {
                Some("call_invite") => return (socket, frame["call_id"].as_str().expect("call_id").to_string()),
                Some("call_error") => panic!("the fixture could not ring: {frame}"),
                _ => {}
            }
        }
    }

    /// Ends the ringer's call (whatever the cell did to it) and waits until that is done.
    async fn hang_up(&self, mut socket: WsClient) {
        socket.send(json!({"type": "call_end", "chatID": self.group})).await;
        barrier(&mut socket).await;
        socket.close().await;
    }
}

/// Waits until the server has handled every frame sent before on this socket (frames on one
/// socket are handled in order; an unknown type is always answered) and returns what came first.
async fn barrier(socket: &mut WsClient) -> Vec<Value> {
    socket.send(json!({"type": "test-barrier"})).await;
    let mut seen = Vec::new();
    loop {
        let frame = socket.recv().await;
        if frame["type"] == "error" && frame["message"] == "Unknown frame type \"test-barrier\"." {
            return seen;
        }
        seen.push(frame);
    }
}

/// How the socket ended: a 1008 close is the WebSocket's 401.
async fn closed_for_auth(socket: &mut WsClient) -> Got {
    match socket.ended(WAIT).await {
        Some(Ended::Closed { code: 1008, .. }) => Got::Unauthorized,
        other => Got::Other(format!("expected close 1008, got {other:?}")),
    }
}

impl World {
    /// One client frame as persona `p`: anonymous sends it first (no `auth`), revoked
    /// authenticates with its dead session; the others authenticate, send it, and read what
    /// comes back before a barrier. `success` names a frame an allowed cell must receive;
    /// `cleanup` is sent after an allowed one.
    async fn frame_cell(&self, p: P, frame_in: Value, success: Option<&str>, cleanup: Option<Value>) -> Got {
        let is_auth = frame_in["type"] == "auth";
        match p {
            P::Anonymous => {
                let mut socket = WsClient::connect(&self.app).await;
                let first = if is_auth { json!({"type": "auth", "token": ""}) } else { frame_in };
                socket.send(first).await;
                return closed_for_auth(&mut socket).await;
            }
            P::Revoked => {
                let mut socket = WsClient::connect(&self.app).await;
                socket.send(json!({"type": "auth", "token": self.token(p)})).await;
                return closed_for_auth(&mut socket).await;
            }
            _ => {}
        }
        let token = self.token(p).expect("a signed-in persona");
        let mut socket = WsClient::connect(&self.app).await;
        socket.send(json!({"type": "auth", "token": token})).await;
        let ack = socket.recv().await;
        if ack["type"] != "auth_ack" {
            return Got::Other(format!("auth answered {ack}"));
        }
        if is_auth {
            socket.close().await;
            return Got::Allowed;
        }
        socket.send(frame_in).await;
        let frames = barrier(&mut socket).await;
        let got = match frames.iter().find_map(classify_refusal) {
            Some(refusal) => refusal,
            None => match success {
                Some(kind) if !frames.iter().any(|f| f["type"] == kind) => {
                    Got::Other(format!("no {kind} frame; got {frames:?}"))
                }
                _ => Got::Allowed,
            },
        };
        if got == Got::Allowed {
            if let Some(cleanup) = cleanup {
                socket.send(cleanup).await;
                barrier(&mut socket).await;
            }
        }
        socket.close().await;
        got
    }

    /// A call socket for `call_id` as persona `p`: admitted (a non-JSON frame then gets
    /// `call_error` BAD_FRAME from the relay), or refused (`call_ws_error`, then close 1008).
    async fn call_socket_cell(&self, p: P, prefix: &str, call_id: &str) -> Got {
        let mut socket = WsClient::connect_to(&self.app, &format!("{prefix}/{call_id}")).await;
        match p {
            P::Anonymous => {
                socket.send(json!({"type": "join_idle"})).await;
                return closed_for_auth(&mut socket).await;
            }
            P::Revoked => {
                socket.send(json!({"type": "auth", "token": self.token(p)})).await;
                return closed_for_auth(&mut socket).await;
            }
            _ => {}
        }
        socket.send(json!({"type": "auth", "token": self.token(p)})).await;
        socket.send_raw(Message::Text("sync".into())).await;
        let got = match socket.try_recv(WAIT).await {
            Some(f) if f["type"] == "call_error" && f["code"] == "BAD_FRAME" => Got::Allowed,
            Some(f) if f["type"] == "call_ws_error" && f["code"] == "ACCESS_DENIED" => match socket.ended(WAIT).await {
                Some(Ended::Closed { code: 1008, .. }) => Got::Forbidden,
                other => Got::Other(format!("refused without close 1008: {other:?}")),
            },
            other => Got::Other(format!("call socket answered {other:?}")),
        };
        socket.close().await;
        got
    }

    async fn perform(&self, act: Act, p: P) -> Got {
        match act {
            Act::Frame(f) => return self.perform_frame(f, p).await,
            Act::LiveSocket => return self.frame_cell(p, json!({"type": "auth"}), None, None).await,
            Act::CallSocket(prefix) => {
                let (ringer, call_id) = self.ring().await;
                let got = self.call_socket_cell(p, prefix, &call_id).await;
                self.hang_up(ringer).await;
                return got;
            }
            _ => {}
        }
        let (path, reply) = self.perform_http(act, p).await;
        let got = classify(&path, &reply, p);
        // Allowed to list or search is not allowed to see: the group stays hidden from a
        // stranger and from an anonymous searcher, and shows for a member (so the check can fail).
        if got == Got::Allowed && matches!(act, Act::SearchGet | Act::SearchPost | Act::FetchChats) {
            // The search echoes its query: look at what it found.
            let listed = match act {
                Act::FetchChats => &reply.body,
                Act::SearchGet => &reply.body["data"]["items"],
                _ => &reply.body["data"]["results"],
            };
            let shown = listed.to_string().contains(GROUP_MARKER);
            match p {
                P::Outsider | P::Anonymous if shown => {
                    return Got::Other(format!("shows the group to a stranger: {}", reply.text))
                }
                P::Insider if !shown => return Got::Other(format!("hides the group from a member: {}", reply.text)),
                _ => {}
            }
        }
        // A profile answered is the caller's own, never someone else's.
        if got == Got::Allowed && matches!(act, Act::ProfileGet | Act::ProfilePatch) {
            let own = self.account(p).map(|account| account.id.to_string());
            if reply.body["data"]["profile"]["id"].as_str().map(str::to_string) != own {
                return Got::Other(format!("answers a profile not the caller's: {}", reply.text));
            }
        }
        got
    }

    async fn perform_frame(&self, f: FrameAct, p: P) -> Got {
        let group = self.group;
        let own =
            |i: usize| self.own_messages.get(&p).map(|m| if i == 0 { m.0 } else { m.1 }).unwrap_or(self.others_message);
        match f {
            FrameAct::Auth => self.frame_cell(p, json!({"type": "auth"}), None, None).await,
            FrameAct::JoinIdle => self.frame_cell(p, json!({"type": "join_idle"}), None, None).await,
            FrameAct::JoinChat => self.frame_cell(p, json!({"type": "join_chat", "chatID": group}), None, None).await,
            FrameAct::LeaveChat => self.frame_cell(p, json!({"type": "leave_chat", "chatID": group}), None, None).await,
            FrameAct::PostMsg => {
                let frame =
                    json!({"type": "post_msg", "chatID": group, "text": "hi", "nonce": format!("n{}", self.next())});
                self.frame_cell(p, frame, Some("ack"), None).await
            }
            FrameAct::AddReaction | FrameAct::RemoveReaction => {
                let kind = if matches!(f, FrameAct::AddReaction) { "add_reaction" } else { "remove_reaction" };
                let frame = json!({"type": kind, "chatID": group, "messageID": self.others_message, "emoji": "👍"});
                self.frame_cell(p, frame, None, None).await
            }
            FrameAct::Pin | FrameAct::Unpin => {
                let kind = if matches!(f, FrameAct::Pin) { "pin_message" } else { "unpin_message" };
                let frame = json!({"type": kind, "chatID": group, "messageID": self.others_message});
                self.frame_cell(p, frame, None, None).await
            }
            FrameAct::EditOwn => {
                let frame = json!({"type": "edit_msg", "chatID": group, "messageID": own(0), "text": "edited"});
                self.frame_cell(p, frame, None, None).await
            }
            FrameAct::EditOthers => {
                let frame =
                    json!({"type": "edit_msg", "chatID": group, "messageID": self.others_message, "text": "edited"});
                self.frame_cell(p, frame, None, None).await
            }
            FrameAct::DeleteOwn => {
                let frame = json!({"type": "delete_msg", "chatID": group, "messageID": own(1)});
                self.frame_cell(p, frame, None, None).await
            }
            FrameAct::DeleteOthers => {
                let message = self.ringer_posts().await;
                let frame = json!({"type": "delete_msg", "chatID": group, "messageID": message});
                self.frame_cell(p, frame, None, None).await
            }
            FrameAct::Typing => self.frame_cell(p, json!({"type": "typing", "chatID": group}), None, None).await,
            FrameAct::ChatCreated => {
                self.frame_cell(p, json!({"type": "chat_created", "chatID": group}), None, None).await
            }
            FrameAct::CallInvite => {
                let frame = json!({"type": "call_invite", "chatID": group});
                let cleanup = json!({"type": "call_end", "chatID": group});
                self.frame_cell(p, frame, Some("call_invite"), Some(cleanup)).await
            }
            FrameAct::CallAccept | FrameAct::CallDecline | FrameAct::CallEnd => {
                let (ringer, call_id) = self.ring().await;
                let frame = match f {
                    FrameAct::CallAccept => json!({"type": "call_accept", "chatID": group, "call_id": call_id}),
                    FrameAct::CallDecline => json!({"type": "call_decline", "chatID": group}),
                    _ => json!({"type": "call_end", "chatID": group}),
                };
                let got = self.frame_cell(p, frame, None, None).await;
                self.hang_up(ringer).await;
                got
            }
        }
    }

    /// The HTTP cells: the path the answer is read for, and the answer.
    async fn perform_http(&self, act: Act, p: P) -> (String, Reply) {
        use Act::*;
        let group = self.group;
        let n = self.next();
        let path = |s: &str| s.to_string();
        match act {
            VerifyConnection(get) => {
                let method = if get { Method::GET } else { Method::POST };
                let body = (!get).then(|| json!({"version": "electron_app"}));
                (path("/verify-connection"), self.bearer(p, method, "/verify-connection", body).await)
            }
            Subscribe(get) => {
                let email = format!("news{n}@example.org");
                let reply = if get {
                    self.bearer(p, Method::GET, &format!("/subscribe?email={email}"), None).await
                } else {
                    self.bearer(p, Method::POST, "/subscribe", Some(json!({"email": email}))).await
                };
                (path("/subscribe"), reply)
            }
            Register => {
                let name = format!("reg{n}");
                let body = json!({"username": name, "password": PASSWORD, "email": format!("{name}@example.org")});
                (path("/user/register"), self.bearer(p, Method::POST, "/user/register", Some(body)).await)
            }
            VerifyEmail => {
                let (name, code) = self.unverified().await;
                let body = json!({"username": name, "email_token": code});
                (path("/user/verify-email"), self.bearer(p, Method::POST, "/user/verify-email", Some(body)).await)
            }
            ResendVerification => {
                let body = json!({"username": self.pending});
                let reply = self.bearer(p, Method::POST, "/user/resend-verification", Some(body)).await;
                (path("/user/resend-verification"), reply)
            }
            Login => {
                let account = self.credentials(p);
                let body = json!({"username": account.name, "password": account.password()});
                (path("/user/login"), self.bearer(p, Method::POST, "/user/login", Some(body)).await)
            }
            RefreshToken => {
                let refresh = self.account(p).map(Account::refresh).unwrap_or_default();
                let reply = self.app.post("/user/refresh-token", json!({"refresh_token": refresh})).await;
                if reply.status.is_success() && p != P::Revoked {
                    self.personas[&p].set_tokens(reply.field("access_token"), reply.field("refresh_token"));
                }
                (path("/user/refresh-token"), reply)
            }
            ResetRequest => {
                let body = json!({"username": self.resetme.name});
                let reply = self.bearer(p, Method::POST, "/user/reset-password-request", Some(body)).await;
                (path("/user/reset-password-request"), reply)
            }
            ResetPassword => {
                let token = self.reset_token().await;
                let body = json!({"token": token, "username": self.resetme.name, "password": PASSWORD,
                    "confirm_password": PASSWORD});
                (path("/user/reset-password"), self.bearer(p, Method::POST, "/user/reset-password", Some(body)).await)
            }
            Profile => (path("/user/profile"), self.chatcli(p, "/user/profile", json!({})).await),
            SavedLanguage => (path("/user/language"), self.chatcli(p, "/user/language", json!({})).await),
            // English, which the personas' mails are already in: the cells change nothing else.
            SetLanguage => {
                let body = json!({"language": "en"});
                (path("/user/set-language"), self.chatcli(p, "/user/set-language", body).await)
            }
            ProfileGet => {
                (path("/api/users/me/profile"), self.bearer(p, Method::GET, "/api/users/me/profile", None).await)
            }
            ProfilePatch => {
                let body = json!({"language": "en-GB"});
                (
                    path("/api/users/me/profile"),
                    self.bearer(p, Method::PATCH, "/api/users/me/profile", Some(body)).await,
                )
            }
            SubmitProfile => {
                let body = json!({"email": format!("moved{n}@example.org")});
                (path("/user/submit-profile"), self.chatcli(p, "/user/submit-profile", body).await)
            }
            ChangePassword | NchatChangePassword => {
                let current = self.account(p).map(Account::password).unwrap_or_else(|| PASSWORD.into());
                let new = if current == PASSWORD { OTHER_PASSWORD } else { PASSWORD };
                let (route, reply) = if matches!(act, ChangePassword) {
                    let body = json!({"current_password": current, "new_password": new});
                    ("/user/change-password", self.chatcli(p, "/user/change-password", body).await)
                } else {
                    let body = json!({"currentPassword": current, "newPassword": new});
                    (
                        "/api/auth/change-password",
                        self.bearer(p, Method::POST, "/api/auth/change-password", Some(body)).await,
                    )
                };
                if reply.status.is_success() && p != P::Revoked {
                    let account = &self.personas[&p];
                    *account.password.lock().expect("lock") = new.to_string();
                    self.sign_in_again(account).await;
                }
                (path(route), reply)
            }
            Logout | Signout | LogoutAll => {
                let refresh = self.account(p).map(Account::refresh);
                let (route, reply) = match act {
                    Logout => {
                        ("/user/logout", self.chatcli(p, "/user/logout", json!({"refresh_token": refresh})).await)
                    }
                    Signout => (
                        "/api/auth/signout",
                        self.bearer(p, Method::POST, "/api/auth/signout", Some(json!({"refreshToken": refresh}))).await,
                    ),
                    _ => ("/user/logout-all", self.chatcli(p, "/user/logout-all", json!({})).await),
                };
                if reply.status.is_success() && p != P::Revoked {
                    self.sign_in_again(&self.personas[&p]).await;
                }
                (path(route), reply)
            }
            FetchChats => (path("/chat/fetch-chats"), self.chatcli(p, "/chat/fetch-chats", json!({})).await),
            FetchArchived => (path("/chat/fetch-archived"), self.chatcli(p, "/chat/fetch-archived", json!({})).await),
            CreateChat => {
                let body = json!({"receiver": self.spare.name});
                (path("/chat/create-chat"), self.chatcli(p, "/chat/create-chat", body).await)
            }
            CreateGroup => {
                let body = json!({"name": format!("Group {n}"), "members": []});
                (path("/chat/create-group"), self.chatcli(p, "/chat/create-group", body).await)
            }
            AddMembers => {
                self.victim_in_group(false).await;
                let body = json!({"chatID": group, "members": [self.victim]});
                (path("/chat/add-members"), self.chatcli(p, "/chat/add-members", body).await)
            }
            RemoveMembers => {
                self.victim_in_group(true).await;
                let body = json!({"chatID": group, "members": [self.victim]});
                (path("/chat/remove-members"), self.chatcli(p, "/chat/remove-members", body).await)
            }
            GetMembers => {
                (path("/chat/get-members"), self.chatcli(p, "/chat/get-members", json!({"chatID": group})).await)
            }
            Messages => (path("/chat/messages"), self.chatcli(p, "/chat/messages", json!({"chatID": group})).await),
            PostMessage => {
                let body = json!({"chatID": group, "text": format!("post {n}")});
                (path("/chat/post-message"), self.chatcli(p, "/chat/post-message", body).await)
            }
            AddReaction | RemoveReaction => {
                let route = if matches!(act, AddReaction) { "/chat/add-reaction" } else { "/chat/remove-reaction" };
                let body = json!({"chatID": group, "messageID": self.others_message, "emoji": "🎉"});
                (path(route), self.chatcli(p, route, body).await)
            }
            PinMessage | UnpinMessage | Pins | MessageHistory => {
                let route = match act {
                    PinMessage => "/chat/pin-message",
                    UnpinMessage => "/chat/unpin-message",
                    Pins => "/chat/pins",
                    _ => "/chat/message-history",
                };
                let body = json!({"chatID": group, "messageID": self.others_message});
                (path(route), self.chatcli(p, route, body).await)
            }
            SaveMessage | UnsaveMessage | SavedMessages => {
                let route = match act {
                    SaveMessage => "/chat/save-message",
                    UnsaveMessage => "/chat/unsave-message",
                    _ => "/chat/saved-messages",
                };
                let body = json!({"chatID": group, "messageID": self.others_message});
                (path(route), self.chatcli(p, route, body).await)
            }
            SaveGet | SavePost | SaveDelete | SavedList => {
                let at = format!("/api/messages/{}/save", self.others_message);
                let (method, at, row) = match act {
                    SaveGet => (Method::GET, at, "/api/messages/{id}/save"),
                    // Saved first, so the DELETE that follows finds something to forget; a POST
                    // of what is saved already is 409, so each POST cell forgets it first.
                    SavePost => {
                        self.bearer(p, Method::DELETE, &at, None).await;
                        (Method::POST, at, "/api/messages/{id}/save")
                    }
                    SaveDelete => {
                        self.bearer(p, Method::POST, &at, Some(json!({}))).await;
                        (Method::DELETE, at, "/api/messages/{id}/save")
                    }
                    _ => (Method::GET, "/api/saved-messages".to_string(), "/api/saved-messages"),
                };
                let body = (method == Method::POST).then(|| json!({}));
                (path(row), self.bearer(p, method, &at, body).await)
            }
            PinGet | PinPost | PinDelete | HistoryGet => {
                let id = self.others_message;
                let (method, at, row) = match act {
                    PinGet => (Method::GET, format!("/api/messages/{id}/pin"), "/api/messages/{id}/pin"),
                    PinPost => (Method::POST, format!("/api/messages/{id}/pin"), "/api/messages/{id}/pin"),
                    PinDelete => (Method::DELETE, format!("/api/messages/{id}/pin"), "/api/messages/{id}/pin"),
                    _ => (Method::GET, format!("/api/messages/{id}/history"), "/api/messages/{id}/history"),
                };
                let body = (method != Method::GET).then(|| json!({}));
                (path(row), self.bearer(p, method, &at, body).await)
            }
            ReactionsGet | ReactionsPost | ReactionsDelete | ReactionsPatch => {
                let at = format!("/api/messages/{}/reactions", self.others_message);
                let (method, body) = match act {
                    ReactionsGet => (Method::GET, None),
                    ReactionsPost => (Method::POST, Some(json!({"emoji": "🚀"}))),
                    ReactionsDelete => (Method::DELETE, Some(json!({"emoji": "🚀"}))),
                    _ => (Method::PATCH, Some(json!({"emoji": "👀"}))),
                };
                (path("/api/messages/{id}/reactions"), self.bearer(p, method, &at, body).await)
            }
            MarkRead => {
                let body = json!({"chatID": group, "messageID": self.others_message});
                (path("/chat/mark-read"), self.chatcli(p, "/chat/mark-read", body).await)
            }
            Archive => {
                (path("/chat/archive-chat"), self.chatcli(p, "/chat/archive-chat", json!({"chatID": group})).await)
            }
            Unarchive => {
                let reply = self.chatcli(p, "/chat/unarchive-chat", json!({"chatID": group})).await;
                (path("/chat/unarchive-chat"), reply)
            }
            CallToken | NchatCallToken => {
                let (ringer, call_id) = self.ring().await;
                let answer = if matches!(act, CallToken) {
                    let body = json!({"call_id": call_id, "chatID": group});
                    ("/chat/call-token", self.chatcli(p, "/chat/call-token", body).await)
                } else {
                    let body = json!({"callId": call_id});
                    ("/api/calls/token", self.bearer(p, Method::POST, "/api/calls/token", Some(body)).await)
                };
                self.hang_up(ringer).await;
                (path(answer.0), answer.1)
            }
            Signup => {
                let name = format!("sign{n}");
                let body = json!({"username": name, "password": PASSWORD, "email": format!("{name}@example.org")});
                (path("/api/auth/signup"), self.bearer(p, Method::POST, "/api/auth/signup", Some(body)).await)
            }
            Signin => {
                let account = self.credentials(p);
                let body = json!({"email": account.email, "password": account.password()});
                (path("/api/auth/signin"), self.bearer(p, Method::POST, "/api/auth/signin", Some(body)).await)
            }
            Refresh => {
                // Without an account, a token that is none (an empty one is a 400, nchat's answer).
                let refresh = self.account(p).map(Account::refresh).unwrap_or_else(|| "no-such-token".into());
                let reply = self.app.post("/api/auth/refresh", json!({"refreshToken": refresh})).await;
                if reply.status.is_success() && p != P::Revoked {
                    let data = &reply.body["data"];
                    let (access, refresh) = (data["accessToken"].as_str(), data["refreshToken"].as_str());
                    self.personas[&p].set_tokens(access.expect("accessToken"), refresh.expect("refreshToken"));
                }
                (path("/api/auth/refresh"), reply)
            }
            VerifyPassword => {
                let password = self.account(p).map(Account::password).unwrap_or_else(|| PASSWORD.into());
                let body = json!({"password": password});
                let reply = self.bearer(p, Method::POST, "/api/auth/verify-password", Some(body)).await;
                (path("/api/auth/verify-password"), reply)
            }
            NchatVerifyEmail => {
                let (name, code) = self.unverified().await;
                let body = json!({"username": name, "code": code});
                (
                    path("/api/auth/verify-email"),
                    self.bearer(p, Method::POST, "/api/auth/verify-email", Some(body)).await,
                )
            }
            NchatResend => {
                let body = json!({"username": self.pending});
                let reply = self.bearer(p, Method::POST, "/api/auth/resend-verification", Some(body)).await;
                (path("/api/auth/resend-verification"), reply)
            }
            Health => (path("/api/health"), self.bearer(p, Method::GET, "/api/health", None).await),
            Ready(head) => {
                let method = if head { Method::HEAD } else { Method::GET };
                (path("/api/ready"), self.bearer(p, method, "/api/ready", None).await)
            }
            Metrics => (path("/api/metrics"), self.bearer(p, Method::GET, "/api/metrics", None).await),
            ConfigGet => (path("/api/config"), self.bearer(p, Method::GET, "/api/config", None).await),
            ConfigHistory => (path("/api/config"), self.bearer(p, Method::GET, "/api/config?history=true", None).await),
            ConfigReplace => {
                let body = json!({"features": {"threads": true}});
                (path("/api/config"), self.bearer(p, Method::POST, "/api/config", Some(body)).await)
            }
            ConfigPatch => {
                let body = json!({"branding": {"appName": format!("Den {n}")}});
                (path("/api/config"), self.bearer(p, Method::PATCH, "/api/config", Some(body)).await)
            }
            AuditList => (path("/api/audit"), self.bearer(p, Method::GET, "/api/audit", None).await),
            AuditOfCreator => {
                let creator = self.personas[&P::Creator].id;
                (path("/api/audit"), self.bearer(p, Method::GET, &format!("/api/audit?actor={creator}"), None).await)
            }
            AuditCreate => {
                let body = json!({"category": "user", "action": "matrix.check", "description": "A matrix cell."});
                (path("/api/audit"), self.bearer(p, Method::POST, "/api/audit", Some(body)).await)
            }
            AuditDelete => {
                let reply = self.bearer(p, Method::DELETE, "/api/audit?action=matrix.nothing", None).await;
                (path("/api/audit"), reply)
            }
            AuditExport => {
                (path("/api/audit/export"), self.bearer(p, Method::GET, "/api/audit/export?format=csv", None).await)
            }
            AuditExportPost => {
                let body = json!({"format": "csv", "filters": {"action": ["matrix.nothing"]}});
                (path("/api/audit/export"), self.bearer(p, Method::POST, "/api/audit/export", Some(body)).await)
            }
            UploadStatus => (path("/api/upload"), self.bearer(p, Method::GET, "/api/upload", None).await),
            UploadBegin => {
                let body = json!({"filename": "dot.png", "contentType": "image/png", "size": PNG.len(),
                    "channelId": group.to_string()});
                (path("/api/upload"), self.bearer(p, Method::POST, "/api/upload", Some(body)).await)
            }
            UploadPut => {
                let (_, url) = self.announce(&self.personas[&P::Creator], false).await;
                (path("/api/upload/x"), self.put_bytes(&url, self.token(p)).await)
            }
            UploadComplete => {
                let file = self.files.get(&p).unwrap_or(&self.files[&P::Creator]);
                let body = json!({"fileId": file, "chatID": group});
                (path("/api/upload/complete"), self.bearer(p, Method::POST, "/api/upload/complete", Some(body)).await)
            }
            FileDownload => {
                let reply = self.bearer(p, Method::GET, &format!("/api/files/{}", self.attached), None).await;
                (path("/api/files/x"), reply)
            }
            SearchGet => {
                (path("/api/search"), self.bearer(p, Method::GET, &format!("/api/search?q={GROUP_MARKER}"), None).await)
            }
            SearchPost => {
                let body = json!({"query": GROUP_MARKER});
                (path("/api/search"), self.bearer(p, Method::POST, "/api/search", Some(body)).await)
            }
            WebhookCreate => {
                let body = json!({"chatId": group, "name": format!("hook{n}")});
                (path("/api/webhooks"), self.bearer(p, Method::POST, "/api/webhooks", Some(body)).await)
            }
            WebhookList => (
                path("/api/webhooks"),
                self.bearer(p, Method::GET, &format!("/api/webhooks?chatId={group}"), None).await,
            ),
            WebhookRevoke => {
                let (id, _) = self.new_hook().await;
                let body = json!({"id": id});
                (path("/api/webhooks/revoke"), self.bearer(p, Method::POST, "/api/webhooks/revoke", Some(body)).await)
            }
            WebhookDelete => {
                let (id, _) = self.new_hook().await;
                (path("/api/webhooks/x"), self.bearer(p, Method::DELETE, &format!("/api/webhooks/{id}"), None).await)
            }
            WebhookInfoQuery | WebhookPostQuery | WebhookInfoPath | WebhookPostPath => {
                let (id, token) = &self.hook;
                let body = json!({"content": format!("hook post {n}")});
                let reply = match act {
                    WebhookInfoQuery => {
                        self.bearer(p, Method::GET, &format!("/api/webhook/{id}?token={token}"), None).await
                    }
                    WebhookPostQuery => {
                        self.bearer(p, Method::POST, &format!("/api/webhook/{id}?token={token}"), Some(body)).await
                    }
                    WebhookInfoPath => self.bearer(p, Method::GET, &format!("/api/webhook/{id}/{token}"), None).await,
                    _ => self.bearer(p, Method::POST, &format!("/api/webhook/{id}/{token}"), Some(body)).await,
                };
                (path("/api/webhook/x"), reply)
            }
            Translate => {
                let body = json!({"text": "Hello", "targetLanguage": "es"});
                (path("/api/translate"), self.bearer(p, Method::POST, "/api/translate", Some(body)).await)
            }
            Gif => (path("/api/gif"), self.bearer(p, Method::GET, "/api/gif?q=cat", None).await),
            LinkPreview => {
                let url = format!("/api/link-preview?url={}", self.standin.url("/page"));
                (path("/api/link-preview"), self.bearer(p, Method::GET, &url, None).await)
            }
            SaveSvg => {
                let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\"><rect width=\"1\" height=\"1\"/></svg>";
                let body = json!({"svg": svg, "filename": format!("matrix{n}.svg")});
                (path("/api/save-svg"), self.bearer(p, Method::POST, "/api/save-svg", Some(body)).await)
            }
            Logo => {
                (path("/api/logos/x"), self.bearer(p, Method::GET, &format!("/api/logos/{}", self.logo), None).await)
            }
            Page(page) => {
                let target = page.replace("{id}", &group.to_string());
                let mut reply = self.bearer(p, Method::GET, &target, None).await;
                // Swagger UI's entry answers with a redirect to its page: that is its success.
                if reply.status.is_redirection() && page == "/api-docs" {
                    reply.status = reqwest::StatusCode::OK;
                }
                (path(page), reply)
            }
            Catalogue => {
                let request = self
                    .app
                    .client
                    .post(self.app.url(&catalogue_path()))
                    .form(&[("locale", "de"), ("translations_id", "")]);
                let request = match self.token(p) {
                    Some(token) => request.bearer_auth(token),
                    None => request,
                };
                (catalogue_path(), self.app.send(request).await)
            }
            LiveSocket | CallSocket(_) | Frame(_) => unreachable!("not an HTTP cell"),
        }
    }
}

/// Signs up the fixture's accounts and builds the group, messages, files and webhook.
async fn world(backend: Backend) -> World {
    let standin = upstream_standin::start().await;
    let base = standin.url("");
    let app = spawn_app_with(backend, move |config| {
        config.integrations.translate_url = Some(base.clone());
        config.integrations.translate_api_key = Some(TRANSLATE_KEY.into());
        config.integrations.gif_api_key = Some(GIF_KEY.into());
        config.integrations.gif_api_url = Some(base);
        config.integrations.link_preview_allow_private = true;
    })
    .await;
    let mut made = HashMap::new();
    // The first account is the server's owner.
    for name in [
        "owner",
        "creator",
        "insider",
        "outsider",
        "guest",
        "moderator",
        "admin",
        "revoked",
        "ringer",
        "victim",
        "spare",
        "resetme",
    ] {
        let tokens = app.signed_in(name).await;
        let account = Account {
            name: name.to_string(),
            email: format!("{name}@example.org"),
            id: user_id(&tokens.access),
            password: Mutex::new(PASSWORD.into()),
            access: Mutex::new(tokens.access),
            refresh: Mutex::new(tokens.refresh),
        };
        made.insert(name, account);
    }
    let pending = "pending".to_string();
    app.register(&pending).await;
    for (name, role) in [("moderator", "moderator"), ("admin", "admin")] {
        let output = app.hearth_command(&["user", "set-role", name, role]);
        assert!(output.status.success(), "set-role {name}: {}", String::from_utf8_lossy(&output.stderr));
    }
    let mut take = |name: &str| made.remove(name).expect("made");
    let personas: HashMap<P, Account> = [
        (P::Revoked, take("revoked")),
        (P::Guest, take("guest")),
        (P::Outsider, take("outsider")),
        (P::Insider, take("insider")),
        (P::Creator, take("creator")),
        (P::Moderator, take("moderator")),
        (P::Admin, take("admin")),
        (P::Owner, take("owner")),
    ]
    .into_iter()
    .collect();
    let (ringer, victim, spare, resetme) = (take("ringer"), take("victim"), take("spare"), take("resetme"));
    let group = app
        .create_group(
            &personas[&P::Creator].access(),
            GROUP_MARKER,
            &["insider", "guest", "moderator", "admin", "owner", "ringer", "victim"],
        )
        .await;
    let mut world = World {
        app,
        standin,
        personas,
        ringer,
        spare,
        resetme,
        victim: victim.name.clone(),
        pending,
        group,
        own_messages: HashMap::new(),
        files: HashMap::new(),
        attached: String::new(),
        others_message: 0,
        hook: (String::new(), String::new()),
        logo: String::new(),
        seq: AtomicUsize::new(0),
    };
    // Before the guest becomes one: its own messages and an uploaded file, like everyone's.
    for p in [P::Guest, P::Insider, P::Creator, P::Moderator, P::Admin, P::Owner] {
        let access = world.personas[&p].access();
        let edit = world.app.post_message(&access, group, "mine to edit").await;
        let delete = world.app.post_message(&access, group, "mine to delete").await;
        world.own_messages.insert(p, (edit, delete));
    }
    for p in [P::Guest, P::Outsider, P::Insider, P::Creator, P::Moderator, P::Admin, P::Owner] {
        let (file, url) = world.announce(&world.personas[&p], false).await;
        let put = world.put_bytes(&url, None).await;
        assert_eq!(put.status, 200, "upload: {}", put.text);
        world.files.insert(p, file);
    }
    let (file, url) = world.announce(&world.ringer, true).await;
    assert_eq!(world.put_bytes(&url, None).await.status, 200);
    let body = json!({"fileId": file, "chatID": group});
    let done = world.as_account(&world.ringer, Method::POST, "/api/upload/complete", Some(body)).await;
    assert_eq!(done.status, 200, "complete: {}", done.text);
    world.attached = file;
    world.others_message = world.ringer_posts().await;
    world.hook = world.new_hook().await;
    let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\"><circle r=\"1\"/></svg>";
    let owner = &world.personas[&P::Owner];
    let saved = world
        .as_account(owner, Method::POST, "/api/save-svg", Some(json!({"svg": svg, "filename": "matrix.svg"})))
        .await;
    assert_eq!(saved.status, 200, "save-svg: {}", saved.text);
    world.logo = saved.body["data"]["filename"].as_str().expect("filename").to_string();
    let output = world.app.hearth_command(&["user", "set-role", "guest", "guest"]);
    assert!(output.status.success(), "set-role guest: {}", String::from_utf8_lossy(&output.stderr));
    // The revoked persona's session ends.
    let revoked = &world.personas[&P::Revoked];
    let body = json!({"session_token": revoked.access(), "refresh_token": revoked.refresh()});
    let out = world.app.post("/user/logout", body).await;
    assert_eq!(out.status, 200, "logout: {}", out.text);
    assert_eq!(world.app.profile(&revoked.access()).await.status, 401);
    world
}

/// `METHOD path` of every route the server has, from every source that names routes.
/// The catalogue's route ends in a hash the crate picks; its row names it by its prefix.
const CATALOGUE_ROW: &str = "/api/i18n_request_translations{hash}";

fn catalogue_path() -> String {
    leptos::server_fn::axum::server_fn_paths()
        .find(|(path, _)| path.starts_with(app::locale::CATALOGUE_ROUTE_PREFIX))
        .map(|(path, _)| path.to_string())
        .expect("the catalogue's server function is registered")
}

async fn routes_that_exist(app: &TestApp) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut found = BTreeSet::new();
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        let path = if path.starts_with(app::locale::CATALOGUE_ROUTE_PREFIX) { CATALOGUE_ROW } else { path };
        found.insert(format!("{} {path}", method.as_str()));
    }
    for (method, path) in axum_routes() {
        found.insert(format!("{method} {path}"));
    }
    for path in page_routes() {
        found.insert(format!("GET {path}"));
    }
    let doc = app.get("/openapi.json").await;
    assert_eq!(doc.status, 200, "{}", doc.text);
    for (path, item) in doc.body["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            found.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    // Swagger UI's router (merged whole): its page, and the document it serves.
    for extra in ["/api-docs", "/openapi.json"] {
        let reply = app.get(extra).await;
        assert!(reply.status.is_success() || reply.status.is_redirection(), "{extra}: {}", reply.status);
        found.insert(format!("GET {extra}"));
    }
    let schemas = &doc.body["components"]["schemas"];
    let mut frames = BTreeSet::new();
    frame_types(&schemas["ClientFrame"], schemas, &mut frames, 0);
    assert!(frames.len() >= 5, "could not read the ClientFrame types from the OpenAPI document: {frames:?}");
    (found, frames.into_iter().map(|t| format!("WS {t}")).collect())
}

/// The `type` values a frame schema allows (following `$ref`s into the components).
fn frame_types(schema: &Value, schemas: &Value, out: &mut BTreeSet<String>, depth: usize) {
    if depth > 8 {
        return;
    }
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or_default();
        frame_types(&schemas[name], schemas, out, depth + 1);
    }
    if let Some(values) = schema["properties"]["type"]["enum"].as_array() {
        out.extend(values.iter().filter_map(Value::as_str).map(str::to_string));
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        for part in schema[key].as_array().into_iter().flatten() {
            frame_types(part, schemas, out, depth + 1);
        }
    }
}

/// The axum routes registered in server/src (`.route("path", get(…).post(…))`), read from the
/// source, so a new one is seen without anyone listing it here.
fn axum_routes() -> Vec<(String, String)> {
    let mut sources = Vec::new();
    let mut folders = vec![std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("server/src").flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                sources.push(std::fs::read_to_string(&path).expect("source"));
            }
        }
    }
    let mut routes = Vec::new();
    for source in sources {
        let mut rest = source.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            // The call's arguments, up to its closing parenthesis.
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map(|(i, _)| i)
                .expect("a closed .route(");
            let args = &rest[..end];
            let (first, handler) = args.split_once(',').expect(".route(path, handler)");
            let first = first.trim();
            let path = if let Some(literal) = first.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                literal.to_string()
            } else if first.ends_with("logos::ROUTE") {
                hearth::logos::ROUTE.to_string()
            } else {
                panic!("the matrix cannot read the route path {first:?}: teach axum_routes() its value");
            };
            let bytes = handler.as_bytes();
            for method in ["get", "post", "put", "delete", "patch", "head"] {
                let mut from = 0;
                while let Some(i) = handler[from..].find(&format!("{method}(")) {
                    let at = from + i;
                    let before = if at == 0 { b' ' } else { bytes[at - 1] };
                    if !(before.is_ascii_alphanumeric() || before == b'_' || before == b':') {
                        routes.push((method.to_uppercase(), path.clone()));
                    }
                    from = at + method.len();
                }
            }
        }
    }
    assert!(!routes.is_empty(), "no axum routes found in server/src");
    routes
}

/// The app's pages (Leptos routes), in axum's `{param}` form; an optional last segment gives both.
fn page_routes() -> Vec<String> {
    let mut pages = Vec::new();
    for listing in leptos_axum::generate_route_list(app::ui::App) {
        let path = listing.path().to_string();
        let mut plain = Vec::new();
        let mut optional = false;
        for segment in path.split('/').filter(|s| !s.is_empty()) {
            let segment = segment.trim_start_matches(':').trim_start_matches('{').trim_end_matches('}');
            let (name, maybe) = match segment.strip_suffix('?') {
                Some(name) => (name, true),
                None => (segment, false),
            };
            let is_param = path.contains(&format!(":{segment}")) || path.contains(&format!("{{{segment}}}")) || maybe;
            if maybe {
                optional = true;
            }
            plain.push(if is_param { format!("{{{name}}}") } else { name.to_string() });
        }
        pages.push(format!("/{}", plain.join("/")));
        if optional {
            plain.pop();
            pages.push(format!("/{}", plain.join("/")));
        }
    }
    pages
}

async fn authorization_matrix(backend: Backend) {
    let started = Instant::now();
    let world = world(backend).await;
    let setup = started.elapsed();
    let table = table();

    // Completeness: every route and frame has a row, and every row names something real.
    let (routes, frames) = routes_that_exist(&world.app).await;
    let keys: BTreeSet<String> = table.iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    let exists: BTreeSet<String> = routes.union(&frames).cloned().collect();
    let missing: Vec<&String> = exists.difference(&keys).collect();
    let unknown: Vec<&String> = keys.difference(&exists).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "routes or frames without a row in the authorization matrix: {missing:#?}\n\
         rows of the matrix for routes or frames that do not exist: {unknown:#?}"
    );
    for row in &table {
        assert_eq!(row.expect.chars().count(), PERSONAS.len(), "{} {}: one letter per persona", row.method, row.path);
        assert!(row.expect.chars().all(|c| "oufn".contains(c)), "{} {}: letters o, u, f, n", row.method, row.path);
    }

    let mut failures = Vec::new();
    let mut cells = 0;
    let mut per_answer: BTreeMap<char, usize> = BTreeMap::new();
    for row in &table {
        for (p, want) in PERSONAS.iter().zip(row.expect.chars()) {
            let got = world.perform(row.act, *p).await;
            cells += 1;
            *per_answer.entry(want).or_default() += 1;
            if got.letter() != want {
                let detail = match &got {
                    Got::Other(why) => why.clone(),
                    other => format!("{other:?}"),
                };
                failures.push(format!(
                    "{} {}{}{} as {p:?}: expected {}, got {detail}",
                    row.method,
                    row.path,
                    if row.variant.is_empty() { "" } else { " — " },
                    row.variant,
                    describe(want),
                ));
            }
        }
    }
    println!(
        "authorization matrix ({backend:?}): {} rows ({} routes and frames) × {} personas = {cells} cells checked \
         ({} allowed, {} 401, {} 403, {} 404) in {:.1?} (fixture {:.1?})",
        table.len(),
        keys.len(),
        PERSONAS.len(),
        per_answer.get(&'o').unwrap_or(&0),
        per_answer.get(&'u').unwrap_or(&0),
        per_answer.get(&'f').unwrap_or(&0),
        per_answer.get(&'n').unwrap_or(&0),
        started.elapsed(),
        setup,
    );
    assert!(
        failures.is_empty(),
        "{} of {cells} cells disagree with the rules:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let World { app, .. } = world;
    app.stop().await;
}
