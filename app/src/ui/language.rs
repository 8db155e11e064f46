//! The person's choice of language in the chat screen: a picker listing every language by its
//! own name, and the switch itself.

use leptos::prelude::*;
use leptos_i18n::Locale as _;

use crate::api::chatcli::{get_language, set_language};
use crate::i18n::td_string;
use crate::locale::{locale_for_tag, use_i18n, Locale};
use crate::text;
use crate::ui::browser;
use crate::ui::session::use_session;

/// A language's name in that language, so people find theirs whatever the page is in now
/// (not translated: each name is the same in every language).
fn own_name(locale: Locale) -> &'static str {
    match locale {
        Locale::en => "English",
        Locale::de => "Deutsch",
        Locale::fr => "Français",
        Locale::es => "Español",
        Locale::ar => "العربية",
    }
}

/// A select of every language Hearth speaks; choosing one switches the app at once.
#[component]
pub fn LanguagePicker() -> impl IntoView {
    let i18n = use_i18n();
    let choose = move |ev: leptos::ev::Event| {
        if let Some(locale) = locale_for_tag(&event_target_value(&ev)) {
            leptos::task::spawn_local(remember_language(locale));
        }
    };
    view! {
        <label for="language">{text!(i18n, common.language)}</label>
        <select id="language" on:change=choose>
            {Locale::get_all()
                .iter()
                .map(|&locale| {
                    view! {
                        <option value=locale.as_str() lang=locale.as_str() selected=move || i18n.get_locale() == locale>
                            {own_name(locale)}
                        </option>
                    }
                })
                .collect_view()}
        </select>
    }
}

/// Switches the app to `locale` and saves it on the person's account, so their other devices
/// and the mails Hearth sends them follow (the cookie keeps it for this browser's next page).
///
/// Reads the catalogue's and the session's contexts when called, so call it from an event handler
/// and spawn the future it returns.
pub fn remember_language(locale: Locale) -> impl std::future::Future<Output = ()> {
    let i18n = use_i18n();
    let session = use_session();
    async move {
        switch_to(i18n, locale).await;
        // A failed save leaves the switch in place on this device; the next change saves again.
        let _ = session.call(move |token| set_language(token, locale.as_str().to_string())).await;
    }
}

/// Follows the language saved on the account when the chat screen opens, so a device signed in
/// later, or one that was open while the person chose elsewhere, speaks the same language.
///
/// Reads the contexts when called (see `remember_language`).
pub fn follow_saved_language() -> impl std::future::Future<Output = ()> {
    let i18n = use_i18n();
    let session = use_session();
    async move {
        if session.access_token().is_none() {
            return;
        }
        let Ok(saved) = session.call(get_language).await else { return };
        if let Some(locale) = saved.language.as_deref().and_then(locale_for_tag) {
            if i18n.get_locale_untracked() != locale {
                switch_to(i18n, locale).await;
            }
        }
    }
}

async fn switch_to(i18n: leptos_i18n::I18nContext<Locale>, locale: Locale) {
    // `tr!` only reads strings already in the browser: awaiting one entry of the new language
    // fetches all of it before anything is shown in it.
    let _ = td_string!(locale, common.app_name).await;
    i18n.set_locale(locale);
    browser::set_cookie(crate::locale::COOKIE, locale.as_str(), crate::locale::COOKIE_MAX_AGE_SECONDS);
}
