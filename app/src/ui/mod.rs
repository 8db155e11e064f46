//! Pages and components, rendered on the server and hydrated in the browser.

// The live client (WebSocket, store updates) only runs in the browser; the server build renders
// the same components without ever calling it.
#![cfg_attr(not(feature = "hydrate"), allow(dead_code))]

mod browser;
mod chat;
mod error_text;
mod language;
mod live;
#[cfg(feature = "ssr")]
mod policy;
mod reset_password;
mod session;
mod store;
mod welcome;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

pub use chat::ChatPage;
pub use reset_password::ResetPasswordPage;
use session::SessionStore;

use crate::i18n::t;
use crate::locale::{use_i18n, LocaleProvider};
use crate::text;
use crate::tr;
pub use welcome::WelcomePage;

/// The HTML document around the app. Everything it loads comes from Hearth itself.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    policy::provide_page_policy();
    view! {
        <!DOCTYPE html>
        // `lang` and `dir` come from the person's language (crate::locale::LocaleProvider).
        <html>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(SessionStore::from_browser());
    view! {
        <LocaleProvider>
            <Stylesheet id="hearth" href="/pkg/hearth.css"/>
            <Title text=move || tr!(use_i18n(), common.app_name)/>
            <Router>
                <Routes fallback=NotFound>
                    <Route path=path!("") view=WelcomePage/>
                    <Route path=path!("/user/reset-password") view=ResetPasswordPage/>
                    // One route for the list and every chat, so moving between them keeps the screen.
                    <Route path=path!("/chat/:id?") view=ChatPage/>
                </Routes>
            </Router>
        </LocaleProvider>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    let i18n = use_i18n();
    view! {
        <main class="page narrow">
            <h1>{text!(i18n, common.not_found_title)}</h1>
            <p>{t!(i18n, common.not_found_body, <home> = <a href="/"/>)}</p>
        </main>
    }
}
