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

/// "now", "5 min", "3 h", or the date, for message headers.
pub fn relative_time(rfc3339: &str) -> String {
    let minutes = ((now_ms() - parse_time(rfc3339)) / 60_000.0).floor();
    if minutes < 1.0 {
        "now".into()
    } else if minutes < 60.0 {
        format!("{minutes} min")
    } else if minutes < 24.0 * 60.0 {
        format!("{} h", (minutes / 60.0).floor())
    } else {
        local_date(rfc3339)
    }
}

/// The local calendar date of a timestamp, as the browser writes it.
pub fn local_date(rfc3339: &str) -> String {
    #[cfg(feature = "hydrate")]
    {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(parse_time(rfc3339)));
        String::from(date.to_date_string())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        rfc3339.get(..10).unwrap_or_default().to_string()
    }
}

/// The local date and time, for the exact time shown on hover.
pub fn local_date_time(rfc3339: &str) -> String {
    #[cfg(feature = "hydrate")]
    {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(parse_time(rfc3339)));
        String::from(date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        rfc3339.to_string()
    }
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
