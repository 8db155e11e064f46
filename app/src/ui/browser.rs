//! The few browser facilities the app uses, in one place. Each is a no-op on the server, where
//! pages render without a window.

/// A value kept in the browser's localStorage.
pub fn load(key: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()?.local_storage().ok()??.get_item(key).ok()?
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = key;
        None
    }
}

pub fn store(key: &str, value: Option<&str>) {
    #[cfg(feature = "hydrate")]
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = match value {
            Some(value) => storage.set_item(key, value),
            None => storage.remove_item(key),
        };
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (key, value);
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

/// Parses an RFC 3339 timestamp to epoch milliseconds.
pub fn parse_time(rfc3339: &str) -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::parse(rfc3339)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = rfc3339;
        0.0
    }
}

/// "now", "5 min", "3 hr", or the date, for message headers, in the page's language (`locale`
/// is a language tag such as `de`). The server renders no messages; it writes the bare date.
pub fn relative_time(rfc3339: &str, locale: &str) -> String {
    let minutes = ((now_ms() - parse_time(rfc3339)) / 60_000.0).floor();
    #[cfg(feature = "hydrate")]
    {
        if minutes < 1.0 {
            intl::relative_now(locale)
        } else if minutes < 60.0 {
            intl::amount(locale, minutes, "minute")
        } else if minutes < 24.0 * 60.0 {
            intl::amount(locale, (minutes / 60.0).floor(), "hour")
        } else {
            intl::date_time(rfc3339, locale, r#"{"dateStyle":"medium"}"#)
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (minutes, locale);
        local_day(rfc3339)
    }
}

/// The local calendar day of a timestamp (`2026-11-29`), for telling days apart.
pub fn local_day(rfc3339: &str) -> String {
    #[cfg(feature = "hydrate")]
    {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(parse_time(rfc3339)));
        format!("{:04}-{:02}-{:02}", date.get_full_year(), date.get_month() + 1, date.get_date())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        rfc3339.get(..10).unwrap_or_default().to_string()
    }
}

/// The day a separator names ("Sunday, November 29, 2026"), in the page's language.
pub fn day_label(rfc3339: &str, locale: &str) -> String {
    #[cfg(feature = "hydrate")]
    {
        intl::date_time(rfc3339, locale, r#"{"weekday":"long","year":"numeric","month":"long","day":"numeric"}"#)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = locale;
        local_day(rfc3339)
    }
}

/// The local date and time, for the exact time shown on hover, in the page's language.
pub fn exact_time(rfc3339: &str, locale: &str) -> String {
    #[cfg(feature = "hydrate")]
    {
        intl::date_time(rfc3339, locale, r#"{"dateStyle":"full","timeStyle":"short"}"#)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = locale;
        rfc3339.to_string()
    }
}

/// The browser's own formatting rules (`Intl`), so the wasm carries no locale data of its own.
#[cfg(feature = "hydrate")]
mod intl {
    use js_sys::{Array, Intl, Object, JSON};
    use wasm_bindgen::{JsCast, JsValue};

    fn locales(locale: &str) -> Array {
        Array::of1(&JsValue::from_str(locale))
    }

    /// Options written as JSON; a literal in this module, so parsing cannot fail.
    fn options(json: &str) -> Object {
        JSON::parse(json).ok().and_then(|value| value.dyn_into().ok()).unwrap_or_default()
    }

    fn call_format(format: &js_sys::Function, value: &JsValue) -> String {
        format.call1(&JsValue::NULL, value).ok().and_then(|text| text.as_string()).unwrap_or_default()
    }

    /// "now" ("jetzt", "الآن").
    pub fn relative_now(locale: &str) -> String {
        let format = Intl::RelativeTimeFormat::new(&locales(locale), &options(r#"{"numeric":"auto"}"#));
        String::from(format.format(0.0, "second"))
    }

    /// "5 min", "3 hr" ("5 Min.", "3 Std.").
    pub fn amount(locale: &str, value: f64, unit: &str) -> String {
        let json = format!(r#"{{"style":"unit","unit":"{unit}","unitDisplay":"short"}}"#);
        let format = Intl::NumberFormat::new(&locales(locale), &options(&json));
        call_format(&format.format(), &JsValue::from_f64(value))
    }

    pub fn date_time(rfc3339: &str, locale: &str, json: &str) -> String {
        let date = js_sys::Date::new(&JsValue::from_f64(super::parse_time(rfc3339)));
        let format = Intl::DateTimeFormat::new(&locales(locale), &options(json));
        call_format(&format.format(), &date)
    }
}

/// Lower case, by the browser's `toLowerCase`: Rust's Unicode case tables would add 14 KiB
/// gzip to the bundle.
pub fn lowercase(text: &str) -> String {
    #[cfg(feature = "hydrate")]
    {
        String::from(js_sys::JsString::from(text).to_lower_case())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        text.to_lowercase()
    }
}

/// Upper case, by the browser's `toUpperCase` (see `lowercase`).
pub fn uppercase(text: &str) -> String {
    #[cfg(feature = "hydrate")]
    {
        String::from(js_sys::JsString::from(text).to_upper_case())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        text.to_uppercase()
    }
}

/// Sets a cookie for every path of this site (SameSite=Lax, as browsers default to).
pub fn set_cookie(name: &str, value: &str, max_age_seconds: u32) {
    #[cfg(feature = "hydrate")]
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        let cookie = format!("{name}={value}; Path=/; Max-Age={max_age_seconds}; SameSite=Lax");
        let _ = js_sys::Reflect::set(&document, &"cookie".into(), &cookie.into());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (name, value, max_age_seconds);
}

/// A fresh random id for message nonces.
pub fn random_id() -> String {
    #[cfg(feature = "hydrate")]
    {
        format!("{:x}{:x}", (js_sys::Math::random() * 1e15) as u64, now_ms() as u64)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::new()
    }
}

/// `ws://host/ws` or `wss://host/ws` for the page's own origin.
pub fn socket_url() -> String {
    #[cfg(feature = "hydrate")]
    {
        let location = web_sys::window().map(|w| w.location());
        let host = location.as_ref().and_then(|l| l.host().ok()).unwrap_or_default();
        let secure = location.and_then(|l| l.protocol().ok()).is_some_and(|p| p == "https:");
        format!("{}://{host}/ws", if secure { "wss" } else { "ws" })
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::new()
    }
}

/// Waits, without blocking the page.
pub async fn sleep_ms(millis: u32) {
    #[cfg(feature = "hydrate")]
    gloo_timers::future::TimeoutFuture::new(millis).await;
    #[cfg(not(feature = "hydrate"))]
    let _ = millis;
}

/// Asks the person to confirm something destructive.
pub fn confirm(question: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window().and_then(|w| w.confirm_with_message(question).ok()).unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = question;
        false
    }
}

/// Moves the keyboard focus to the element with this id.
pub fn focus(element_id: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let element = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id(element_id));
        if let Some(element) = element.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = element.focus();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = element_id;
}

/// Scrolls the element with this id into view and marks it for a moment (`data-flash`), so the
/// eye finds it; focus follows for keyboards and screen readers. Nothing happens when it is not
/// on the page (a message older than the loaded history).
pub fn reveal(element_id: &str) {
    #[cfg(feature = "hydrate")]
    {
        let Some(element) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id(element_id))
        else {
            return;
        };
        element.scroll_into_view_with_bool(false);
        let _ = element.set_attribute("data-flash", "");
        let _ = element.set_attribute("tabindex", "-1");
        focus(element_id);
        leptos::task::spawn_local(async move {
            sleep_ms(1500).await;
            let _ = element.remove_attribute("data-flash");
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = element_id;
}
