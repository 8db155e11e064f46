//! The person's language: the catalogue's provider for every page, and how a page picks its
//! language before anyone has said which they want.
//!
//! Order of choice: the language saved on the person's account (applied once they are signed in,
//! and remembered in the `hearth_locale` cookie so the next page is rendered in it at once), else
//! that cookie, else the browser's `Accept-Language`. The browser starts with the language the
//! server rendered (`<html lang>`), so hydration never switches language under the reader.

use leptos::prelude::*;
use leptos_i18n::context::{I18nContextOptions, UseLocalesOptions};
use leptos_i18n::Locale as _;
use leptos_meta::Html;

pub use crate::i18n::{use_i18n, Locale};

/// Remembers the language for server-rendered pages; readable by the browser app, sent on every path.
pub const COOKIE: &str = "hearth_locale";
/// A year, in seconds: the cookie outlives sessions, like the choice it remembers.
pub const COOKIE_MAX_AGE_SECONDS: u32 = 365 * 24 * 60 * 60;
/// Where the catalogue crate's server function answers (a language the browser switches to);
/// the crate names it, with a hash after this prefix.
pub const CATALOGUE_ROUTE_PREFIX: &str = "/api/i18n_request_translations";

/// Provides the catalogue to everything inside, sets `<html lang dir>`, and (rendered on the
/// server) embeds this page's strings of its one language, so the browser never downloads another.
#[component]
pub fn LocaleProvider(children: Children) -> impl IntoView {
    // The browser takes the strings the server embedded before anything asks for one.
    #[cfg(feature = "hydrate")]
    let embedded = leptos_i18n::__private::fetch_translations::init_translations::<Locale>();
    #[cfg(feature = "ssr")]
    let registered = leptos_i18n::__private::fetch_translations::RegisterCtx::<Locale>::provide_context();

    let options = I18nContextOptions::<Locale>::default()
        .enable_cookie(false)
        .ssr_lang_header_getter(UseLocalesOptions::default().ssr_lang_header_getter(request_language));
    let i18n = leptos_i18n::context::provide_i18n_context_with_options_inner(options);
    let children = children();

    // Rendered after the children, so it carries every string they used. The crate's own provider
    // writes this script without a nonce, which the page's Content-Security-Policy would block.
    #[cfg(feature = "ssr")]
    let embedded = move || {
        let script = registered.to_array().replace('<', "\\u003c");
        view! { <script nonce=leptos::nonce::use_nonce() inner_html=script></script> }
    };
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    let embedded = ();

    view! {
        {children}
        {embedded}
        <Html attr:lang=move || i18n.get_locale().as_str() attr:dir=move || i18n.get_locale().direction().as_str()/>
    }
}

/// The language the request asks for: the cookie, else `Accept-Language` by q-value (one rule
/// for pages and for the accounts requests create: `api::request::request_language`).
#[cfg(feature = "ssr")]
fn request_language() -> Option<String> {
    crate::api::request::request_language().map(|locale| locale.as_str().to_string())
}

#[cfg(not(feature = "ssr"))]
fn request_language() -> Option<String> {
    None
}

/// The catalogue's language for a tag such as `de-AT` or `ar`, if Hearth has it.
pub fn locale_for_tag(tag: &str) -> Option<Locale> {
    let tag = tag.trim();
    if tag.is_empty() {
        return None;
    }
    let found = Locale::find_locale(&[tag]);
    // `find_locale` answers the default when nothing matches; only a real match counts.
    let primary = tag.split(['-', '_']).next().unwrap_or(tag);
    (found.as_str().eq_ignore_ascii_case(primary) || found.as_str().eq_ignore_ascii_case(tag)).then_some(found)
}

/// A catalogue entry as a `String`, for attributes, titles and sentences built in code.
///
/// The catalogue's lookups are futures because the browser fetches a language on demand; but the
/// page's whole language is always in memory when a lookup runs (the server embeds it, and
/// [`switch_to`] loads a new one before switching), so the lookup is ready at once.
pub fn ready<'a, T: std::fmt::Display + 'a>(lookup: impl std::future::Future<Output = T> + 'a) -> String {
    use futures::FutureExt;
    // Polled as one boxed type, so the bundle has one poll loop rather than one per string.
    let text: std::pin::Pin<Box<dyn std::future::Future<Output = String> + 'a>> =
        Box::pin(async move { lookup.await.to_string() });
    text.now_or_never().unwrap_or_default()
}

/// `tr!(i18n, section.key, name = value, …)`: the entry as a `String` in the context's language.
#[macro_export]
macro_rules! tr {
    ($($lookup:tt)*) => {
        $crate::locale::ready($crate::i18n::t_string!($($lookup)*))
    };
}

/// `text!(i18n, section.key)`: the entry as live text for a view or an attribute, following the
/// language.
///
/// Every use has the same type (`Signal<String>`), so the bundle carries the code that renders
/// and hydrates it once; the crate's own `t!` gives each call site its own asynchronous view,
/// which cost the browser bundle about 1 KiB per string. `t!` stays for entries that interpolate
/// elements (`<person>…</person>`).
#[macro_export]
macro_rules! text {
    ($i18n:expr, $($lookup:tt)*) => {{
        let i18n = $i18n;
        ::leptos::prelude::Signal::derive(move || $crate::tr!(i18n, $($lookup)*))
    }};
}
