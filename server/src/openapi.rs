//! Hearth's OpenAPI 3 document (`/openapi.json`, `/openapi.yaml`) and Swagger UI (`/api-docs`),
//! derived from the routes' own types. A server function's argument struct is its request (its
//! query, for GET) and its return type the reply, both deriving their schema; the method and path
//! come from the function itself. The registry in `routes` adds only what the types cannot say:
//! a tag, a summary, who may call, and a status other than 200. The axum routes (raw bytes, path
//! segments, sockets) name their types there too.

use std::sync::OnceLock;

use app::api::{
    app_config, audit, calls, chatcli, chats, files, health, messages, nchat, profile, search, tools, webhooks, ws,
};
use axum::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use http::Method;
use leptos::server_fn::{Protocol, ServerFn};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, KnownFormat, OpenApi, OpenApiBuilder, Paths, Ref, RefOr, Required,
    ResponseBuilder, SchemaFormat,
};
use utoipa::ToSchema;

use crate::envelope::{surface_of, Surface};

/// How a route proves who calls.
#[derive(Clone, Copy, PartialEq)]
pub enum Auth {
    None,
    /// `Authorization: Bearer <access token>`.
    Bearer,
    /// ChatCLI: `session_token` in the body, or the Bearer header.
    SessionToken,
    /// A Bearer token if the caller has one (nchat's "Optional"): without one, an anonymous call.
    OptionalBearer,
}

/// What a request carries.
enum Input {
    Nothing,
    /// A JSON body of this schema; for GET and DELETE, the query's parameters.
    Fields(Box<RefOr<Schema>>),
    /// Raw bytes (the presigned upload).
    Bytes,
}

/// What a successful call answers.
enum Output {
    Json(Box<RefOr<Schema>>),
    /// Not JSON: the content type given.
    Raw(&'static str),
    /// A WebSocket upgrade (101); its frames are the `ClientFrame`/`ServerFrame`/`CallFrame` components.
    WebSocket,
}

/// One operation of either API.
pub struct Route {
    pub method: Method,
    pub path: String,
    pub tag: &'static str,
    pub summary: &'static str,
    pub auth: Auth,
    pub status: u16,
    input: Input,
    output: Output,
    /// Components the request and reply schemas refer to.
    schemas: Vec<(String, RefOr<Schema>)>,
    /// `Fields` go in a JSON body whatever the method.
    json_body: bool,
}

impl Route {
    /// Answers 201 Created.
    fn created(mut self) -> Self {
        self.status = 201;
        self
    }

    pub fn surface(&self) -> Surface {
        surface_of(&self.method, &self.path).unwrap_or(Surface::ChatCli)
    }
}

/// A server function: its path, method, request and reply come from its type.
fn call<F>(tag: &'static str, summary: &'static str, auth: Auth) -> Route
where
    F: ServerFn + ToSchema,
    F::Output: ToSchema,
{
    let mut schemas = Vec::new();
    F::schemas(&mut schemas);
    let output = named::<F::Output>(&mut schemas);
    Route {
        method: F::Protocol::METHOD,
        path: F::PATH.to_string(),
        tag,
        summary,
        auth,
        status: 200,
        input: Input::Fields(Box::new(F::schema())),
        output: Output::Json(Box::new(output)),
        schemas,
        json_body: false,
    }
}

/// `T` as a component of the document, and a reference to it.
fn named<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) -> RefOr<Schema> {
    add::<T>(schemas);
    Ref::from_schema_name(T::name()).into()
}

/// An axum route: its types are named here.
fn axum_route(method: Method, path: &str, tag: &'static str, summary: &'static str, auth: Auth) -> Route {
    Route {
        method,
        path: path.to_string(),
        tag,
        summary,
        auth,
        status: 200,
        input: Input::Nothing,
        output: Output::Raw("application/json"),
        schemas: Vec::new(),
        json_body: false,
    }
}

impl Route {
    fn fields<T: ToSchema>(mut self) -> Self {
        T::schemas(&mut self.schemas);
        self.input = Input::Fields(Box::new(T::schema()));
        self
    }

    /// The fields travel as a JSON body even though the method is DELETE (nchat's audit deletion).
    fn json_body(mut self) -> Self {
        self.json_body = true;
        self
    }

    fn bytes(mut self) -> Self {
        self.input = Input::Bytes;
        self
    }

    fn replies<T: ToSchema>(mut self) -> Self {
        self.output = Output::Json(Box::new(named::<T>(&mut self.schemas)));
        self
    }

    fn raw(mut self, content_type: &'static str) -> Self {
        self.output = Output::Raw(content_type);
        self
    }

    fn websocket(mut self) -> Self {
        self.status = 101;
        self.output = Output::WebSocket;
        self
    }
}

/// Every server function is an API route but the catalogue's own (a language's strings for the
/// browser app, in the crate's codec, under a name the crate hashes); the authorization matrix
/// still has a row for it.
pub fn is_documented(server_fn_path: &str) -> bool {
    !server_fn_path.starts_with(app::locale::CATALOGUE_ROUTE_PREFIX)
}

/// Every route of both APIs.
pub fn routes() -> Vec<Route> {
    use Auth::{Bearer, None as Open, OptionalBearer, SessionToken as Token};
    const ACCOUNTS: &str = "ChatCLI accounts";
    const CHATS: &str = "ChatCLI chats";
    const SOCKETS: &str = "WebSockets";
    const AUTH: &str = "nchat auth";
    const PROFILE: &str = "nchat profile";
    const CALLS: &str = "Calls";
    const TOOLS: &str = "Utilities";
    const OPERATIONS: &str = "Operations";
    const CONFIG: &str = "Configuration";
    const AUDIT: &str = "Audit";
    const UPLOADS: &str = "Uploads";
    const SEARCH: &str = "Search";
    const WEBHOOKS: &str = "Webhooks";
    const MESSAGES: &str = "nchat messages";
    vec![
        call::<chatcli::VerifyConnection>(ACCOUNTS, "Check the server is reachable", Open),
        call::<chatcli::VerifyConnectionGet>(ACCOUNTS, "Check the server is reachable", Open),
        call::<chatcli::Subscribe>(ACCOUNTS, "Subscribe an address to news", Open),
        call::<chatcli::SubscribeGet>(ACCOUNTS, "Subscribe an address to news", Open),
        call::<chatcli::Register>(ACCOUNTS, "Create an account", Open).created(),
        call::<chatcli::VerifyEmail>(ACCOUNTS, "Confirm the mailed code", Open),
        call::<chatcli::ResendVerification>(ACCOUNTS, "Mail a new code", Open),
        call::<chatcli::Login>(ACCOUNTS, "Sign in", Open),
        call::<chatcli::RefreshToken>(ACCOUNTS, "Trade a refresh token for new tokens", Open),
        call::<chatcli::Profile>(ACCOUNTS, "The caller's profile", Token),
        call::<chatcli::SubmitProfile>(ACCOUNTS, "Change name or address, disable or delete the account", Token),
        call::<chatcli::GetLanguage>(ACCOUNTS, "The caller's saved language (Hearth's, for the browser app)", Token),
        call::<chatcli::SetLanguage>(ACCOUNTS, "Save the caller's language (Hearth's, for the browser app)", Token),
        call::<chatcli::ChangePassword>(ACCOUNTS, "Change the password (ends every session)", Token),
        call::<chatcli::Logout>(ACCOUNTS, "End this session", Token),
        call::<chatcli::LogoutAll>(ACCOUNTS, "End every session", Token),
        call::<chatcli::ResetPasswordRequest>(ACCOUNTS, "Mail a reset link", Open),
        call::<chatcli::ResetPassword>(ACCOUNTS, "Set a new password with a reset link's token", Open),
        call::<chats::FetchChats>(CHATS, "The caller's chats", Token),
        call::<chats::FetchArchived>(CHATS, "The caller's archived chats", Token),
        call::<chats::CreateChat>(CHATS, "Open (or un-archive) the chat with one person", Token).created(),
        call::<chats::CreateGroup>(CHATS, "Create a group", Token).created(),
        call::<chats::AddMembers>(CHATS, "Add people to a group", Token),
        call::<chats::RemoveMembers>(CHATS, "Remove people from a group", Token),
        call::<chats::GetMembers>(CHATS, "A chat's members", Token),
        call::<chats::Messages>(CHATS, "A page of a chat's messages, oldest first", Token),
        call::<chats::PostMessage>(CHATS, "Post a message", Token).created(),
        call::<chats::AddReaction>(CHATS, "React to a message with an emoji", Token),
        call::<chats::RemoveReaction>(CHATS, "Take a reaction back", Token),
        call::<chats::PinMessage>(CHATS, "Pin a message for everyone in the chat", Token),
        call::<chats::UnpinMessage>(CHATS, "Unpin a message", Token),
        call::<chats::PinnedMessages>(CHATS, "A chat's pinned messages, the latest first", Token),
        call::<chats::MessageHistory>(CHATS, "A message's edits, oldest first", Token),
        call::<chats::SaveMessage>(CHATS, "Save a message for oneself", Token),
        call::<chats::UnsaveMessage>(CHATS, "Forget a saved message", Token),
        call::<chats::SavedMessages>(CHATS, "One's saved messages, the latest first", Token),
        call::<chats::MarkRead>(CHATS, "Mark a chat read up to a message", Token),
        call::<chats::ArchiveChat>(CHATS, "Archive a chat", Token),
        call::<chats::UnarchiveChat>(CHATS, "Un-archive a chat", Token),
        call::<calls::CallToken>(CALLS, "A LiveKit token for a call", Token),
        axum_route(
            Method::GET,
            "/ws",
            SOCKETS,
            "The live socket: send `auth` first (frames: ClientFrame in, ServerFrame out)",
            Open,
        )
        .websocket(),
        axum_route(Method::GET, "/ws/call/{call_id}", SOCKETS, "A call's socket (frames: CallFrame)", Open).websocket(),
        axum_route(Method::GET, "/call/{call_id}", SOCKETS, "A call's socket, the reference's path", Open).websocket(),
        call::<nchat::Signup>(AUTH, "Create an account (the first is the owner)", Open),
        call::<nchat::Signin>(AUTH, "Sign in with e-mail or username", Open),
        call::<nchat::Refresh>(AUTH, "Trade a refresh token for new tokens", Open),
        call::<nchat::VerifyPassword>(AUTH, "Check the caller's password (a wrong one: 401)", Bearer),
        call::<nchat::ChangePassword>(AUTH, "Change the password (ends every session)", Bearer),
        call::<nchat::VerifyEmail>(AUTH, "Confirm the mailed code", Open),
        call::<nchat::ResendVerification>(AUTH, "Mail a new code", Open),
        call::<nchat::Signout>(AUTH, "End this session", Bearer),
        call::<profile::GetProfile>(PROFILE, "The caller's profile, with their language", Bearer),
        call::<profile::PatchProfile>(
            PROFILE,
            "Change the caller's language (fields Hearth does not keep are ignored)",
            Bearer,
        ),
        call::<calls::NchatCallToken>(CALLS, "A LiveKit token for a call", Bearer),
        call::<tools::TranslateText>(TOOLS, "Translate text (LibreTranslate; without one, the text as sent)", Open),
        call::<tools::GifSearch>(TOOLS, "Search GIFs (Giphy or Tenor)", Open),
        call::<tools::LinkPreview>(TOOLS, "Title, description, image and site name of a public page", Open),
        call::<tools::SaveSvg>(TOOLS, "Store a sanitised SVG logo (admins)", Bearer),
        axum_route(Method::GET, crate::logos::ROUTE, TOOLS, "A saved logo", Open).raw("image/svg+xml"),
        call::<health::Health>(OPERATIONS, "Liveness", Open),
        axum_route(Method::GET, "/api/ready", OPERATIONS, "Readiness (503 when not ready)", Open)
            .replies::<nchat::Success<crate::probes::Readiness>>(),
        axum_route(Method::HEAD, "/api/ready", OPERATIONS, "The process answers (GET runs the checks)", Open),
        axum_route(Method::GET, "/api/metrics", OPERATIONS, "Prometheus metrics", Open).raw("text/plain"),
        call::<app_config::GetConfig>(CONFIG, "The app configuration", Open),
        call::<app_config::ReplaceConfig>(CONFIG, "Update the configuration, deep-merged (admins)", Bearer),
        call::<app_config::PatchConfig>(CONFIG, "Update part of the configuration, deep-merged (admins)", Bearer),
        call::<audit::ListAudit>(AUDIT, "Query the audit log (nchat's entries and pagination)", Bearer),
        call::<audit::CreateAudit>(AUDIT, "Add an audit entry", Bearer),
        call::<audit::DeleteAudit>(AUDIT, "Delete audit entries (admins): by ids, olderThan or filters", Bearer)
            .json_body(),
        axum_route(
            Method::GET,
            "/api/audit/export",
            AUDIT,
            "Export the audit log (admins); without a format, the export options",
            Bearer,
        )
        .fields::<crate::audit_export::ExportQuery>()
        .raw("application/octet-stream"),
        axum_route(
            Method::POST,
            "/api/audit/export",
            AUDIT,
            "Export the audit log (admins): a file, or JSON with Accept: application/json",
            Bearer,
        )
        .fields::<audit::ExportRequest>()
        .raw("application/octet-stream"),
        call::<files::UploadStatus>(UPLOADS, "Upload service status", Open),
        call::<files::BeginUpload>(UPLOADS, "Start an upload: a presigned URL to PUT the bytes to", Bearer).created(),
        axum_route(Method::PUT, "/api/upload/{file_id}", UPLOADS, "The file's bytes, to the presigned URL", Open)
            .bytes()
            .replies::<nchat::Success<files::StoredBytes>>(),
        call::<files::CompleteUpload>(UPLOADS, "Finish an upload: nchat's attachment, on a new message", Bearer),
        axum_route(Method::GET, "/api/files/{file_id}", UPLOADS, "Download a file", Bearer)
            .raw("application/octet-stream"),
        call::<search::QuickSearch>(SEARCH, "Quick search (anonymous callers find nothing)", OptionalBearer),
        call::<search::AdvancedSearch>(SEARCH, "Search with filters (anonymous callers find nothing)", OptionalBearer),
        call::<webhooks::CreateWebhook>(WEBHOOKS, "Create a webhook for a chat", Bearer).created(),
        call::<webhooks::ListWebhooks>(WEBHOOKS, "A chat's webhooks", Bearer),
        call::<webhooks::RevokeWebhook>(WEBHOOKS, "Revoke a webhook", Bearer),
        axum_route(Method::GET, "/api/messages/{id}/reactions", MESSAGES, "A message's reactions", Bearer)
            .replies::<nchat::Success<messages::MessageReactions>>(),
        axum_route(Method::POST, "/api/messages/{id}/reactions", MESSAGES, "React to a message", Bearer)
            .fields::<messages::ReactionInput>()
            .replies::<nchat::Success<messages::ReactionAdded>>()
            .created(),
        axum_route(
            Method::DELETE,
            "/api/messages/{id}/reactions",
            MESSAGES,
            "Take a reaction back (emoji as ?emoji= or in the body)",
            Bearer,
        )
        .fields::<messages::ReactionInput>()
        .json_body()
        .replies::<nchat::Success<messages::ReactionRemoved>>(),
        axum_route(Method::PATCH, "/api/messages/{id}/reactions", MESSAGES, "Toggle a reaction", Bearer)
            .fields::<messages::ReactionInput>()
            .replies::<nchat::Success<messages::ReactionToggled>>(),
        axum_route(Method::GET, "/api/messages/{id}/pin", MESSAGES, "Whether a message is pinned", Bearer)
            .replies::<nchat::Success<messages::PinStatus>>(),
        axum_route(Method::POST, "/api/messages/{id}/pin", MESSAGES, "Pin a message", Bearer)
            .fields::<messages::PinInput>()
            .replies::<nchat::Success<messages::PinStatus>>()
            .created(),
        axum_route(Method::DELETE, "/api/messages/{id}/pin", MESSAGES, "Unpin a message", Bearer)
            .fields::<messages::PinInput>()
            .json_body()
            .replies::<nchat::Success<messages::PinStatus>>(),
        axum_route(Method::GET, "/api/messages/{id}/history", MESSAGES, "A message's edits, oldest first", Bearer)
            .fields::<messages::HistoryQuery>()
            .replies::<nchat::Success<messages::EditHistory>>(),
        axum_route(Method::GET, "/api/messages/{id}/save", MESSAGES, "Whether the caller saved a message", Bearer)
            .replies::<nchat::Success<messages::SaveStatus>>(),
        axum_route(
            Method::POST,
            "/api/messages/{id}/save",
            MESSAGES,
            "Save a message (409 when saved already)",
            Bearer,
        )
        .fields::<messages::SaveInput>()
        .replies::<nchat::Success<messages::NchatSaved>>(),
        axum_route(Method::DELETE, "/api/messages/{id}/save", MESSAGES, "Forget a saved message", Bearer)
            .replies::<nchat::Success<messages::Unsaved>>(),
        axum_route(Method::GET, "/api/saved-messages", MESSAGES, "The caller's saved messages", Bearer)
            .fields::<messages::SavedQuery>()
            .replies::<nchat::Success<messages::SavedList>>(),
        axum_route(Method::DELETE, "/api/webhooks/{id}", WEBHOOKS, "Delete a webhook", Bearer)
            .replies::<nchat::Success<webhooks::RevokedWebhook>>(),
        axum_route(Method::GET, "/api/webhook/{id}", WEBHOOKS, "A webhook's info (token as ?token=)", Open)
            .fields::<webhooks::TokenQuery>()
            .replies::<nchat::Success<webhooks::PublicWebhookInfo>>(),
        axum_route(Method::POST, "/api/webhook/{id}", WEBHOOKS, "Post through a webhook (token as ?token=)", Open)
            .fields::<webhooks::WebhookPost>()
            .replies::<nchat::Success<webhooks::WebhookPosted>>(),
        axum_route(Method::GET, "/api/webhook/{id}/{token}", WEBHOOKS, "A webhook's info", Open)
            .replies::<nchat::Success<webhooks::PublicWebhookInfo>>(),
        axum_route(Method::POST, "/api/webhook/{id}/{token}", WEBHOOKS, "Post through a webhook", Open)
            .fields::<webhooks::WebhookPost>()
            .replies::<nchat::Success<webhooks::WebhookPosted>>(),
    ]
}

fn json(schema: RefOr<Schema>) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(schema)).build()
}

fn http_method(method: &Method) -> HttpMethod {
    match *method {
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::PATCH => HttpMethod::Patch,
        Method::DELETE => HttpMethod::Delete,
        Method::HEAD => HttpMethod::Head,
        Method::OPTIONS => HttpMethod::Options,
        _ => HttpMethod::Get,
    }
}

/// The properties of an object schema, as `(name, schema, required)`: also through `allOf` (a
/// flattened struct) and references to the route's own components.
fn properties(schema: &RefOr<Schema>, components: &[(String, RefOr<Schema>)]) -> Vec<(String, RefOr<Schema>, bool)> {
    match schema {
        RefOr::T(Schema::Object(object)) => object
            .properties
            .iter()
            .map(|(name, property)| (name.clone(), property.clone(), object.required.contains(name)))
            .collect(),
        RefOr::T(Schema::AllOf(all)) => all.items.iter().flat_map(|item| properties(item, components)).collect(),
        RefOr::Ref(reference) => {
            let name = reference.ref_location.rsplit('/').next().unwrap_or_default();
            components.iter().find(|(known, _)| known == name).map_or_else(Vec::new, |(_, s)| properties(s, components))
        }
        _ => Vec::new(),
    }
}

fn operation(route: &Route) -> utoipa::openapi::path::Operation {
    let mut builder = OperationBuilder::new().tag(route.tag).summary(Some(route.summary));
    let id = format!("{}{}", route.method, route.path.replace(['/', '-', '{', '}'], "_")).to_lowercase();
    builder = builder.operation_id(Some(id));
    let in_query = matches!(route.method, Method::GET | Method::DELETE | Method::HEAD) && !route.json_body;
    match &route.input {
        Input::Nothing => {}
        Input::Fields(schema) if in_query => {
            for (name, schema, required) in properties(schema.as_ref(), &route.schemas) {
                let required = if required { Required::True } else { Required::False };
                builder = builder.parameter(
                    ParameterBuilder::new()
                        .name(name)
                        .parameter_in(ParameterIn::Query)
                        .required(required)
                        .schema(Some(schema)),
                );
            }
        }
        Input::Fields(schema) => {
            let body = RequestBodyBuilder::new().content("application/json", json(schema.as_ref().clone()));
            builder = builder.request_body(Some(body.required(Some(Required::True)).build()));
        }
        Input::Bytes => {
            let binary = ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)));
            let bytes = ContentBuilder::new().schema(Some(binary)).build();
            builder = builder
                .request_body(Some(RequestBodyBuilder::new().content("application/octet-stream", bytes).build()));
        }
    }
    for segment in route.path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')) {
        builder = builder.parameter(
            ParameterBuilder::new()
                .name(segment)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
        );
    }
    let ok = match &route.output {
        Output::Json(schema) => {
            ResponseBuilder::new().description("Success").content("application/json", json(schema.as_ref().clone()))
        }
        Output::Raw(kind) => {
            ResponseBuilder::new().description("Success").content(*kind, ContentBuilder::new().build())
        }
        Output::WebSocket => ResponseBuilder::new().description("Switching Protocols to a WebSocket"),
    };
    builder = builder.response(route.status.to_string(), ok.build());
    let error = match route.surface() {
        Surface::ChatCli => "ChatCliError",
        Surface::Nchat => "NchatError",
    };
    builder = builder.response(
        "default",
        ResponseBuilder::new()
            .description("An error, in the surface's envelope")
            .content("application/json", json(Ref::from_schema_name(error).into())),
    );
    match route.auth {
        Auth::Bearer => builder = builder.security(SecurityRequirement::new("bearerAuth", Vec::<String>::new())),
        Auth::SessionToken | Auth::OptionalBearer => {
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
        .property(
            "details",
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .description(Some("Present when the problem names more, e.g. `{\"field\":\"password\"}`")),
        )
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
    let mut schemas = error_envelopes();
    for mut route in routes() {
        paths.add_path_operation(&route.path, vec![http_method(&route.method)], operation(&route));
        schemas.append(&mut route.schemas);
    }
    // The WebSocket frames, which no HTTP route names.
    add::<calls::CallFrame>(&mut schemas);
    add::<ws::ClientFrame>(&mut schemas);
    add::<ws::ServerFrame>(&mut schemas);
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
    fn each_operation_is_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for route in routes() {
            assert!(
                seen.insert(format!("{} {}", route.method, route.path)),
                "{} {} listed twice",
                route.method,
                route.path
            );
        }
    }

    #[test]
    fn every_server_function_is_in_the_registry() {
        let listed: std::collections::HashSet<(String, String)> =
            routes().iter().map(|route| (route.method.to_string(), route.path.clone())).collect();
        for (path, method) in leptos::server_fn::axum::server_fn_paths().filter(|(path, _)| is_documented(path)) {
            assert!(listed.contains(&(method.to_string(), path.to_string())), "{method} {path} has no registry entry");
        }
    }
}
