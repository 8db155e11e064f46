//! `GET /api/logos/{name}`: serves the logos saved by `/api/save-svg` as images that cannot run
//! anything, even when opened directly (CSP without scripts, no sniffing).

use app::api::error::{codes, ApiError, NchatError};
use app::domain::{logos, AppState};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};

use crate::envelope::NchatPath;

pub const ROUTE: &str = "/api/logos/{name}";

pub async fn serve(State(state): State<AppState>, NchatPath(name): NchatPath<String>) -> Response {
    let not_found = || NchatError(ApiError::new(404, codes::NOT_FOUND, "No such logo.")).into_response();
    let Some(path) = logos::path_of(&state.settings.integrations.logo_dir, &name) else {
        return not_found();
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            [
                (CONTENT_TYPE, "image/svg+xml"),
                (CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'"),
                (X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (CACHE_CONTROL, "public, max-age=300"),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => not_found(),
    }
}
