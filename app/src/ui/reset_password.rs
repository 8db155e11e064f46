//! `GET /user/reset-password?token=…&username=…`: choose a new password from a mailed link.
//! Without JavaScript the form posts to `/user/reset-password` and the server redirects back here
//! with `done=1` or `error=…`; with JavaScript the same server function answers inline.

use leptos::html::Input;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::error_text::{error_text, sentence};
use crate::api::chatcli::ResetPassword;
use crate::i18n::t;
use crate::locale::use_i18n;
use crate::text;
use crate::tr;

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let param = move |name: &str| query.read_untracked().get(name).unwrap_or_default();
    let token = param("token");
    let username = param("username");
    let redirected_error = param("error");
    let redirected_field = param("field");
    let done_without_js = param("done") == "1";

    let action = ServerAction::<ResetPassword>::new();
    let outcome = Signal::derive(move || match action.value().get() {
        Some(Ok(_)) => Some(Ok(())),
        Some(Err(error)) => Some(Err(error_text(&error))),
        None if done_without_js => Some(Ok(())),
        None if !redirected_error.is_empty() => {
            Some(Err(sentence(&redirected_error, Some(redirected_field.as_str()).filter(|f| !f.is_empty()))))
        }
        None => None,
    });
    let link_missing = token.is_empty() || username.is_empty();
    let password_input = NodeRef::<Input>::new();
    let confirm_input = NodeRef::<Input>::new();
    let submit_inline = {
        let (token, username) = (token.clone(), username.clone());
        move |event: leptos::ev::SubmitEvent| {
            let (Some(password), Some(confirm)) = (password_input.get(), confirm_input.get()) else { return };
            // With JavaScript running, answer in place instead of the plain form post.
            event.prevent_default();
            action.dispatch(ResetPassword {
                token: token.clone(),
                username: username.clone(),
                password: password.value(),
                confirm_password: confirm.value(),
            });
        }
    };

    view! {
        <Title text=text!(i18n, auth.reset_title)/>
        <main class="page narrow">
            <h1>{text!(i18n, auth.reset_heading)}</h1>
            {move || match outcome.get() {
                Some(Ok(())) => view! {
                    <p class="notice success" role="status">{text!(i18n, auth.reset_done)}</p>
                }.into_any(),
                Some(Err(message)) => view! {
                    <p class="notice error" role="alert">{message}</p>
                }.into_any(),
                None => ().into_any(),
            }}
            {(link_missing && !done_without_js).then(|| view! {
                <p class="notice error" role="alert">{text!(i18n, auth.reset_link_incomplete)}</p>
            })}
                <Show when=move || !link_missing && !matches!(outcome.get(), Some(Ok(())))>
                    <form method="post" action="/user/reset-password" class="stack" aria-label=text!(i18n, auth.reset_heading)
                        on:submit=submit_inline.clone()>
                        <input type="hidden" name="token" value=token.clone()/>
                        <input type="hidden" name="username" value=username.clone()/>
                        <p>{t!(i18n, auth.account, username = username.clone(), <strong> = <strong/>)}</p>
                        <label for="password">{text!(i18n, auth.new_password)}</label>
                        <input id="password" name="password" node_ref=password_input type="password" autocomplete="new-password"
                            required minlength="8" maxlength="128" aria-describedby="password-rule"/>
                        <p id="password-rule" class="hint">{text!(i18n, auth.password_rule)}</p>
                        <label for="confirm_password">{text!(i18n, auth.repeat_password)}</label>
                        <input id="confirm_password" name="confirm_password" node_ref=confirm_input type="password"
                            autocomplete="new-password" required minlength="8" maxlength="128"/>
                        <button type="submit" class="primary" disabled=move || action.pending().get()>
                            {move || if action.pending().get() { tr!(i18n, auth.saving) } else { tr!(i18n, auth.set_new_password) }}
                        </button>
                    </form>
                </Show>
        </main>
    }
}
