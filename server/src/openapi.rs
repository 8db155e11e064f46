//! Hearth's OpenAPI 3 document (`/openapi.json`, `/openapi.yaml`) and Swagger UI (`/api-docs`).
//! Schemas come from the wire types (`utoipa::ToSchema`); operations from the table in `routes`,
//! because server functions cannot carry `#[utoipa::path]`. A new route is one `op(…)` line there.

use std::sync::OnceLock;

use app::api::{calls, chatcli, chats, nchat, tools, ws};
use axum::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Ref, RefOr, Required,
    ResponseBuilder,
};
use utoipa::ToSchema;

use crate::envelope::Surface;

/// How a route proves who calls.
#[derive(Clone, Copy, PartialEq)]
pub enum Auth {
    None,
    /// `Authorization: Bearer <access token>`.
    Bearer,
    /// ChatCLI: `session_token` in the body, or the Bearer header.
    SessionToken,
}

/// What a successful call answers.
#[derive(Clone, Copy)]
pub enum Reply {
    /// A named component, as is (ChatCLI).
    Plain(&'static str),
    /// nchat's `{success:true, data:<component>}`.
    Data(&'static str),
    /// nchat's envelope around data this document does not describe in detail.
    AnyData,
    /// Not JSON: the content type given.
    Raw(&'static str),
    /// A WebSocket upgrade (101); its frames are the `ClientFrame`/`ServerFrame`/`CallFrame` components.
    WebSocket,
}

/// One operation. `fields` lists the JSON body's (or for GET the query's) fields as
/// `name:type`, a trailing `?` on the name marking it optional; types: `str`, `int`, `bool`, `id`,
/// `[str]`, `[id]`, `obj`, `any`.
pub struct Op {
    pub method: HttpMethod,
    pub path: &'static str,
    pub surface: Surface,
    pub tag: &'static str,
    pub summary: &'static str,
    pub auth: Auth,
    pub fields: &'static str,
    pub status: u16,
    pub reply: Reply,
}

#[allow(clippy::too_many_arguments)]
const fn op(
    method: HttpMethod,
    path: &'static str,
    surface: Surface,
    tag: &'static str,
    summary: &'static str,
    auth: Auth,
    fields: &'static str,
    status: u16,
    reply: Reply,
) -> Op {
    Op { method, path, surface, tag, summary, auth, fields, status, reply }
}

/// Every route of both APIs.
pub fn routes() -> Vec<Op> {
    use Auth::{Bearer, None as Open, SessionToken};
    use HttpMethod::{Get, Post};
    use Reply::{Data, Plain, Raw, WebSocket};
    use Surface::{ChatCli as C, Nchat as N};
    const TOKEN: &str = "session_token?:str";
    vec![
        // ChatCLI: connection and accounts.
        op(
            Post,
            "/verify-connection",
            C,
            "ChatCLI accounts",
            "Check the server is reachable",
            Open,
            "",
            200,
            Plain("MessageReply"),
        ),
        op(
            Get,
            "/verify-connection",
            C,
            "ChatCLI accounts",
            "Check the server is reachable",
            Open,
            "",
            200,
            Plain("MessageReply"),
        ),
        op(
            Post,
            "/subscribe",
            C,
            "ChatCLI accounts",
            "Subscribe an address to news",
            Open,
            "email:str",
            200,
            Plain("MessageReply"),
        ),
        op(
            Get,
            "/subscribe",
            C,
            "ChatCLI accounts",
            "Subscribe an address to news",
            Open,
            "email:str",
            200,
            Plain("MessageReply"),
        ),
        op(
            Post,
            "/user/register",
            C,
            "ChatCLI accounts",
            "Create an account",
            Open,
            "username:str, password:str, email:str, invite_code?:str",
            201,
            Plain("MessageReply"),
        ),
        op(
            Post,
            "/user/verify-email",
            C,
            "ChatCLI accounts",
            "Confirm the mailed code",
            Open,
            "username:str, email_token:str",
            200,
            Plain("MessageReply"),
        ),
        op(
            Post,
            "/user/resend-verification",
            C,
            "ChatCLI accounts",
            "Mail a new code",
            Open,
            "username:str",
            200,
            Plain("MessageReply"),
        ),
        op(
            Post,
            "/user/login",
            C,
            "ChatCLI accounts",
            "Sign in",
            Open,
            "username:str, password:str",
            200,
            Plain("LoginReply"),
        ),
        op(
            Post,
            "/user/refresh-token",
            C,
            "ChatCLI accounts",
            "Trade a refresh token for new tokens",
            Open,
            "refresh_token:str",
            200,
            Plain("RefreshReply"),
        ),
        op(
            Post,
            "/user/profile",
            C,
            "ChatCLI accounts",
            "The caller's profile",
            SessionToken,
            TOKEN,
            200,
            Plain("ProfileReply"),
        ),
        op(
            Post,
            "/user/submit-profile",
            C,
            "ChatCLI accounts",
            "Change name or address, disable or delete the account",
            SessionToken,
            "session_token?:str, username?:str, email?:str, disable?:bool, delete?:bool",
            200,
            Plain("SubmitProfileReply"),
        ),
        op(
            Post,
            "/user/change-password",
            C,
            "ChatCLI accounts",
            "Change the password (ends every session)",
            SessionToken,
            "session_token?:str, current_password:str, new_password:str",
            200,
            Plain("MessageReply"),
        ),
        op(
            Post,
            "/user/logout",
            C,
            "ChatCLI accounts",
            "End this session",
            SessionToken,
            "session_token?:str, refresh_token?:str",
            200,
            Plain("MessageReply"),
        ),
        op(
            Post,
            "/user/logout-all",
            C,
            "ChatCLI accounts",
            "End every session",
            SessionToken,
            TOKEN,
            200,
            Plain("MessageReply"),
        ),
        op(
            Post,
            "/user/reset-password-request",
            C,
            "ChatCLI accounts",
            "Mail a reset link",
            Open,
            "username?:str, email?:str",
            200,
            Plain("MessageReply"),
        ),
        op(
            Post,
            "/user/reset-password",
            C,
            "ChatCLI accounts",
            "Set a new password with a reset link's token",
            Open,
            "username:str, token:str, password:str, confirm_password:str",
            200,
            Plain("MessageReply"),
        ),
        // ChatCLI: chats.
        op(
            Post,
            "/chat/fetch-chats",
            C,
            "ChatCLI chats",
            "The caller's chats",
            SessionToken,
            TOKEN,
            200,
            Plain("ChatList"),
        ),
        op(
            Post,
            "/chat/fetch-archived",
            C,
            "ChatCLI chats",
            "The caller's archived chats",
            SessionToken,
            TOKEN,
            200,
            Plain("ChatList"),
        ),
        op(
            Post,
            "/chat/create-chat",
            C,
            "ChatCLI chats",
            "Open (or un-archive) the chat with one person",
            SessionToken,
            "session_token?:str, receiver:str",
            201,
            Plain("ChatIdReply"),
        ),
        op(
            Post,
            "/chat/create-group",
            C,
            "ChatCLI chats",
            "Create a group",
            SessionToken,
            "session_token?:str, name:str, members?:[str]",
            201,
            Plain("ChatIdReply"),
        ),
        op(
            Post,
            "/chat/add-members",
            C,
            "ChatCLI chats",
            "Add people to a group",
            SessionToken,
            "session_token?:str, chatID:id, members:[str]",
            200,
            Plain("StatusReply"),
        ),
        op(
            Post,
            "/chat/remove-members",
            C,
            "ChatCLI chats",
            "Remove people from a group",
            SessionToken,
            "session_token?:str, chatID:id, members:[str]",
            200,
            Plain("StatusReply"),
        ),
        op(
            Post,
            "/chat/get-members",
            C,
            "ChatCLI chats",
            "A chat's members",
            SessionToken,
            "session_token?:str, chatID:id",
            200,
            Plain("MembersReply"),
        ),
        op(
            Post,
            "/chat/messages",
            C,
            "ChatCLI chats",
            "A page of a chat's messages, oldest first",
            SessionToken,
            "session_token?:str, chatID:id, limit?:int, before?:id, after?:id",
            200,
            Plain("MessagesReply"),
        ),
        op(
            Post,
            "/chat/post-message",
            C,
            "ChatCLI chats",
            "Post a message",
            SessionToken,
            "session_token?:str, chatID:id, text:str, nonce?:str",
            201,
            Plain("PostedReply"),
        ),
        op(
            Post,
            "/chat/mark-read",
            C,
            "ChatCLI chats",
            "Mark a chat read up to a message",
            SessionToken,
            "session_token?:str, chatID:id, messageID:id",
            200,
            Plain("StatusReply"),
        ),
        op(
            Post,
            "/chat/archive-chat",
            C,
            "ChatCLI chats",
            "Archive a chat",
            SessionToken,
            "session_token?:str, chatID:id",
            200,
            Plain("StatusReply"),
        ),
        op(
            Post,
            "/chat/unarchive-chat",
            C,
            "ChatCLI chats",
            "Un-archive a chat",
            SessionToken,
            "session_token?:str, chatID:id",
            200,
            Plain("StatusReply"),
        ),
        op(
            Post,
            "/chat/call-token",
            C,
            "Calls",
            "A LiveKit token for a call",
            SessionToken,
            "session_token?:str, call_id:str, chatID?:id",
            200,
            Plain("CallTokenReply"),
        ),
        // WebSockets.
        op(
            Get,
            "/ws",
            C,
            "WebSockets",
            "The live socket: send `auth` first (frames: ClientFrame in, ServerFrame out)",
            Open,
            "",
            101,
            WebSocket,
        ),
        op(Get, "/ws/call/{call_id}", C, "WebSockets", "A call's socket (frames: CallFrame)", Open, "", 101, WebSocket),
        op(Get, "/call/{call_id}", C, "WebSockets", "A call's socket, the reference's path", Open, "", 101, WebSocket),
        // nchat: auth.
        op(
            Post,
            "/api/auth/signup",
            N,
            "nchat auth",
            "Create an account (the first is the owner)",
            Open,
            "email:str, password:str, username:str, displayName?:str, inviteCode?:str",
            201,
            Data("AuthData"),
        ),
        op(
            Post,
            "/api/auth/signin",
            N,
            "nchat auth",
            "Sign in with e-mail or username",
            Open,
            "email:str, password:str",
            200,
            Data("AuthData"),
        ),
        op(
            Post,
            "/api/auth/refresh",
            N,
            "nchat auth",
            "Trade a refresh token for new tokens",
            Open,
            "refreshToken:str",
            200,
            Data("TokenData"),
        ),
        op(
            Post,
            "/api/auth/verify-password",
            N,
            "nchat auth",
            "Check the caller's password",
            Bearer,
            "password:str",
            200,
            Data("ValidData"),
        ),
        op(
            Post,
            "/api/auth/change-password",
            N,
            "nchat auth",
            "Change the password (ends every session)",
            Bearer,
            "currentPassword:str, newPassword:str",
            200,
            Data("MessageData"),
        ),
        op(
            Post,
            "/api/auth/verify-email",
            N,
            "nchat auth",
            "Confirm the mailed code",
            Open,
            "username?:str, email?:str, code:str",
            200,
            Data("NchatUser"),
        ),
        op(
            Post,
            "/api/auth/resend-verification",
            N,
            "nchat auth",
            "Mail a new code",
            Open,
            "username?:str, email?:str",
            200,
            Data("MessageData"),
        ),
        op(
            Post,
            "/api/auth/signout",
            N,
            "nchat auth",
            "End this session",
            Bearer,
            "refreshToken?:str",
            200,
            Data("MessageData"),
        ),
        op(
            Post,
            "/api/calls/token",
            N,
            "Calls",
            "A LiveKit token for a call",
            Bearer,
            "callId:str",
            200,
            Data("CallTokenData"),
        ),
        // nchat: utilities.
        op(
            Post,
            "/api/translate",
            N,
            "Utilities",
            "Translate text (LibreTranslate)",
            Bearer,
            "text:str, targetLanguage:str, sourceLanguage?:str",
            200,
            Data("TranslateData"),
        ),
        op(
            Get,
            "/api/gif",
            N,
            "Utilities",
            "Search GIFs (Giphy or Tenor)",
            Bearer,
            "q:str, limit?:int",
            200,
            Data("GifData"),
        ),
        op(
            Get,
            "/api/link-preview",
            N,
            "Utilities",
            "Title, description, image and site name of a public page",
            Bearer,
            "url:str",
            200,
            Data("LinkPreviewData"),
        ),
        op(
            Post,
            "/api/save-svg",
            N,
            "Utilities",
            "Store a sanitised SVG logo (admins)",
            Bearer,
            "svg:str, filename:str",
            201,
            Data("SavedLogoData"),
        ),
        op(Get, "/api/logos/{name}", N, "Utilities", "A saved logo", Open, "", 200, Raw("image/svg+xml")),
    ]
    .into_iter()
    .chain(other_routes())
    .collect()
}

/// Routes whose wire types have no schema yet: described with their fields, answered as any data.
fn other_routes() -> Vec<Op> {
    use Auth::{Bearer, None as Open};
    use HttpMethod::{Delete, Get, Head, Patch, Post, Put};
    use Reply::{AnyData, Raw};
    use Surface::Nchat as N;
    const AUDIT_FILTER: &str = "action?:str, category?:str, actor?:str, from?:str, to?:str";
    vec![
        op(Get, "/api/health", N, "Operations", "Liveness", Open, "", 200, AnyData),
        op(Get, "/api/ready", N, "Operations", "Readiness (503 when not ready)", Open, "", 200, Raw("application/json")),
        op(Head, "/api/ready", N, "Operations", "Readiness (503 when not ready)", Open, "", 200, Raw("application/json")),
        op(Get, "/api/metrics", N, "Operations", "Prometheus metrics", Open, "", 200, Raw("text/plain")),
        op(Get, "/api/config", N, "Configuration", "The app configuration", Open, "history?:str", 200, AnyData),
        op(Post, "/api/config", N, "Configuration", "Replace the configuration (admins)", Bearer, "", 200, AnyData),
        op(Patch, "/api/config", N, "Configuration", "Change part of the configuration (admins)", Bearer, "", 200, AnyData),
        op(Get, "/api/audit", N, "Audit", "Query the audit log", Bearer, "page?:str, limit?:str, action?:str, category?:str, actor?:str, from?:str, to?:str", 200, AnyData),
        op(Post, "/api/audit", N, "Audit", "Add an audit entry", Bearer, "category:str, action:str, severity?:str, description:str, success?:bool, metadata?:obj, actor?:any", 201, AnyData),
        op(Delete, "/api/audit", N, "Audit", "Delete audit entries (admins)", Bearer, AUDIT_FILTER, 200, AnyData),
        op(Get, "/api/audit/export", N, "Audit", "Export the audit log (admins)", Bearer, "", 200, Raw("application/octet-stream")),
        op(Get, "/api/upload", N, "Uploads", "Upload service status", Open, "", 200, AnyData),
        op(Post, "/api/upload", N, "Uploads", "Start an upload: a presigned URL to PUT the bytes to", Bearer, "filename:str, contentType:str, size:int, channelId?:id, messageId?:id", 201, AnyData),
        op(Put, "/api/upload/{file_id}", N, "Uploads", "The file's bytes, to the presigned URL", Open, "", 200, AnyData),
        op(Post, "/api/upload/complete", N, "Uploads", "Finish an upload", Bearer, "fileId:str, chatID?:id, channelId?:id, text?:str", 200, AnyData),
        op(Get, "/api/files/{file_id}", N, "Uploads", "Download a file", Bearer, "", 200, Raw("application/octet-stream")),
        op(Get, "/api/search", N, "Search", "Quick search", Bearer, "q?:str, limit?:int, offset?:int", 200, AnyData),
        op(Post, "/api/search", N, "Search", "Search with filters", Bearer, "query:str, types?:[str], channelIds?:[id], dateFrom?:any, dateTo?:any, sortBy?:str, sortOrder?:str, limit?:int, offset?:int", 200, AnyData),
        op(Post, "/api/webhooks", N, "Webhooks", "Create a webhook for a chat", Bearer, "chatId:id, name:str", 201, AnyData),
        op(Get, "/api/webhooks", N, "Webhooks", "A chat's webhooks", Bearer, "chatId:id", 200, AnyData),
        op(Post, "/api/webhooks/revoke", N, "Webhooks", "Revoke a webhook", Bearer, "id:id", 200, AnyData),
        op(Delete, "/api/webhooks/{id}", N, "Webhooks", "Delete a webhook", Bearer, "", 200, AnyData),
        op(Get, "/api/webhook/{id}", N, "Webhooks", "A webhook's info (token as ?token=)", Open, "token?:str", 200, AnyData),
        op(Post, "/api/webhook/{id}", N, "Webhooks", "Post through a webhook (token as ?token=)", Open, "content:str, username?:str, avatar_url?:str", 200, AnyData),
        op(Get, "/api/webhook/{id}/{token}", N, "Webhooks", "A webhook's info", Open, "", 200, AnyData),
        op(Post, "/api/webhook/{id}/{token}", N, "Webhooks", "Post through a webhook", Open, "content:str, username?:str, avatar_url?:str", 200, AnyData),
    ]
}

fn schema_of(kind: &str) -> RefOr<Schema> {
    match kind {
        "str" => ObjectBuilder::new().schema_type(Type::String).into(),
        "int" => ObjectBuilder::new().schema_type(Type::Integer).into(),
        "bool" => ObjectBuilder::new().schema_type(Type::Boolean).into(),
        "id" => <app::api::ids::Id as utoipa::PartialSchema>::schema(),
        "obj" => ObjectBuilder::new().schema_type(Type::Object).into(),
        _ => match kind.strip_prefix('[').and_then(|k| k.strip_suffix(']')) {
            Some(inner) => ArrayBuilder::new().items(schema_of(inner)).into(),
            None => ObjectBuilder::new().schema_type(SchemaType::AnyValue).into(),
        },
    }
}

/// `(name, type, required)` of each field in an `Op::fields` list.
fn fields(list: &str) -> impl Iterator<Item = (&str, &str, bool)> {
    list.split(',').map(str::trim).filter(|f| !f.is_empty()).map(|field| {
        let (name, kind) = field.split_once(':').unwrap_or((field, "any"));
        match name.strip_suffix('?') {
            Some(name) => (name, kind, false),
            None => (name, kind, true),
        }
    })
}

fn body_schema(list: &str) -> RefOr<Schema> {
    let mut object = ObjectBuilder::new().schema_type(Type::Object);
    for (name, kind, required) in fields(list) {
        object = object.property(name, schema_of(kind));
        if required {
            object = object.required(name);
        }
    }
    object.into()
}

fn component(name: &str) -> RefOr<Schema> {
    Ref::from_schema_name(name).into()
}

fn json(schema: RefOr<Schema>) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(schema)).build()
}

fn success(data: RefOr<Schema>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("success", ObjectBuilder::new().schema_type(Type::Boolean))
        .property("data", data)
        .required("success")
        .required("data")
        .into()
}

fn operation(route: &Op) -> utoipa::openapi::path::Operation {
    let mut builder = OperationBuilder::new().tag(route.tag).summary(Some(route.summary));
    let verb = serde_json::to_value(&route.method).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
    let id = format!("{verb}{}", route.path.replace(['/', '-', '{', '}'], "_")).to_lowercase();
    builder = builder.operation_id(Some(id));
    if matches!(route.method, HttpMethod::Get | HttpMethod::Delete | HttpMethod::Head) {
        for (name, kind, required) in fields(route.fields) {
            let required = if required { Required::True } else { Required::False };
            builder = builder.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Query)
                    .required(required)
                    .schema(Some(schema_of(kind))),
            );
        }
    } else if route.method == HttpMethod::Put {
        let bytes = ContentBuilder::new()
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Binary))),
            ))
            .build();
        builder =
            builder.request_body(Some(RequestBodyBuilder::new().content("application/octet-stream", bytes).build()));
    } else {
        let body = RequestBodyBuilder::new().content("application/json", json(body_schema(route.fields)));
        builder = builder.request_body(Some(body.required(Some(Required::True)).build()));
    }
    for segment in route.path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')) {
        builder = builder.parameter(
            ParameterBuilder::new()
                .name(segment)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(schema_of("str"))),
        );
    }
    let ok = ResponseBuilder::new().description("Success");
    let ok = match route.reply {
        Reply::Plain(name) => ok.content("application/json", json(component(name))),
        Reply::Data(name) => ok.content("application/json", json(success(component(name)))),
        Reply::AnyData => ok.content("application/json", json(success(schema_of("any")))),
        Reply::Raw(kind) => ok.content(kind, ContentBuilder::new().build()),
        Reply::WebSocket => ResponseBuilder::new().description("Switching Protocols to a WebSocket"),
    };
    builder = builder.response(route.status.to_string(), ok.build());
    let error = match route.surface {
        Surface::ChatCli => "ChatCliError",
        Surface::Nchat => "NchatError",
    };
    builder = builder.response(
        "default",
        ResponseBuilder::new()
            .description("An error, in the surface's envelope")
            .content("application/json", json(component(error))),
    );
    match route.auth {
        Auth::Bearer => builder = builder.security(SecurityRequirement::new("bearerAuth", Vec::<String>::new())),
        Auth::SessionToken => {
            builder = builder
                .security(SecurityRequirement::new("bearerAuth", Vec::<String>::new()))
                .security(SecurityRequirement::default());
        }
        Auth::None => {}
    }
    builder.build()
}

/// Adds `T` and every schema it refers to.
fn add<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    schemas.push((T::name().into(), T::schema()));
    T::schemas(schemas);
}

fn error_envelopes() -> Vec<(String, RefOr<Schema>)> {
    let string = || ObjectBuilder::new().schema_type(Type::String);
    let chatcli = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("ChatCLI's error envelope"))
        .property("status", ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["error"])))
        .property("message", string())
        .property("code", string())
        .required("status")
        .required("message");
    let nchat = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some("nchat's error envelope; `code` and `errorCode` are the same"))
        .property("success", ObjectBuilder::new().schema_type(Type::Boolean).enum_values(Some([false])))
        .property("error", string())
        .property("code", string())
        .property("errorCode", string())
        .property("details", ObjectBuilder::new().schema_type(Type::Object))
        .required("success")
        .required("error")
        .required("code");
    vec![("ChatCliError".into(), chatcli.into()), ("NchatError".into(), nchat.into())]
}

pub fn document() -> OpenApi {
    let mut paths = Paths::new();
    for route in routes() {
        paths.add_path_operation(route.path, vec![route.method.clone()], operation(&route));
    }
    let mut schemas = error_envelopes();
    add::<chatcli::MessageReply>(&mut schemas);
    add::<chatcli::LoginReply>(&mut schemas);
    add::<chatcli::RefreshReply>(&mut schemas);
    add::<chatcli::ProfileReply>(&mut schemas);
    add::<chatcli::SubmitProfileReply>(&mut schemas);
    add::<chats::ChatList>(&mut schemas);
    add::<chats::ChatIdReply>(&mut schemas);
    add::<chats::MembersReply>(&mut schemas);
    add::<chats::MessagesReply>(&mut schemas);
    add::<chats::PostedReply>(&mut schemas);
    add::<chats::StatusReply>(&mut schemas);
    add::<calls::CallTokenReply>(&mut schemas);
    add::<calls::CallTokenData>(&mut schemas);
    add::<calls::CallFrame>(&mut schemas);
    add::<ws::ClientFrame>(&mut schemas);
    add::<ws::ServerFrame>(&mut schemas);
    add::<nchat::AuthData>(&mut schemas);
    add::<nchat::TokenData>(&mut schemas);
    add::<nchat::ValidData>(&mut schemas);
    add::<nchat::MessageData>(&mut schemas);
    add::<nchat::NchatUser>(&mut schemas);
    add::<tools::TranslateData>(&mut schemas);
    add::<tools::GifData>(&mut schemas);
    add::<tools::LinkPreviewData>(&mut schemas);
    add::<tools::SavedLogoData>(&mut schemas);
    let bearer = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build();
    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas)
        .security_scheme("bearerAuth", SecurityScheme::Http(bearer))
        .build();
    let info = InfoBuilder::new()
        .title("Hearth")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some("The ChatCLI API (`/verify-connection`, `/subscribe`, `/user/*`, `/chat/*`, `/ws`) and the nchat API (`/api/*`) of one Hearth server."))
        .build();
    OpenApiBuilder::new().info(info).paths(paths).components(Some(components)).build()
}

/// The document, built once.
pub fn cached() -> &'static OpenApi {
    static DOCUMENT: OnceLock<OpenApi> = OnceLock::new();
    DOCUMENT.get_or_init(document)
}

pub async fn yaml_handler() -> Response {
    match cached().to_yaml() {
        Ok(text) => ([(CONTENT_TYPE, "application/yaml")], text).into_response(),
        Err(_) => http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Swagger UI's page at `/api-docs/` (its files are compiled in: the `vendored` feature); it also
/// serves the document itself at `/openapi.json`.
pub fn swagger_ui() -> utoipa_swagger_ui::SwaggerUi {
    utoipa_swagger_ui::SwaggerUi::new("/api-docs").url("/openapi.json", cached().clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_operation_is_listed_once_with_known_field_types() {
        let mut seen = std::collections::HashSet::new();
        for route in routes() {
            let method = serde_json::to_string(&route.method).unwrap_or_default();
            assert!(seen.insert(format!("{method} {}", route.path)), "{method} {} listed twice", route.path);
            for (name, kind, _) in fields(route.fields) {
                let known = ["str", "int", "bool", "id", "obj", "any", "[str]", "[id]"];
                assert!(known.contains(&kind), "{} field {name}: unknown type {kind}", route.path);
            }
        }
    }
}
