//! `GET /user/reset-password?token=…&username=…`: choose a new password from a mailed link.
//! Without JavaScript the form posts to `/user/reset-password` and the server redirects back here
//! with `done=1` or `error=…`; with JavaScript the same server function answers inline.

use leptos::html::Input;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::chatcli::ResetPassword;

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.read_untracked().get(name).unwrap_or_default();
    let token = param("token");
    let username = param("username");
    let redirected_error = param("error");
    let done_without_js = param("done") == "1";

    let action = ServerAction::<ResetPassword>::new();
    let outcome = Signal::derive(move || match action.value().get() {
        Some(Ok(_)) => Some(Ok(())),
        Some(Err(error)) => Some(Err(error.message)),
        None if done_without_js => Some(Ok(())),
        None if !redirected_error.is_empty() => Some(Err(redirected_error.clone())),
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
        <Title text="Reset your password · Hearth"/>
        <main class="page narrow">
            <h1>"Choose a new password"</h1>
            {move || match outcome.get() {
                Some(Ok(())) => view! {
                    <p class="notice success" role="status">
                        "Your password has been changed. Sign in with it on every device."
                    </p>
                }.into_any(),
                Some(Err(message)) => view! {
                    <p class="notice error" role="alert">{message}</p>
                }.into_any(),
                None => ().into_any(),
            }}
            {(link_missing && !done_without_js).then(|| view! {
                <p class="notice error" role="alert">
                    "This link is incomplete. Open the link from the reset email again, or ask for a new one."
                </p>
            })}
                <Show when=move || !link_missing && !matches!(outcome.get(), Some(Ok(())))>
                    <form method="post" action="/user/reset-password" class="stack" aria-label="Choose a new password"
                        on:submit=submit_inline.clone()>
                        <input type="hidden" name="token" value=token.clone()/>
                        <input type="hidden" name="username" value=username.clone()/>
                        <p>"Account: " <strong>{username.clone()}</strong></p>
                        <label for="password">"New password"</label>
                        <input id="password" name="password" node_ref=password_input type="password" autocomplete="new-password"
                            required minlength="8" maxlength="128" aria-describedby="password-rule"/>
                        <p id="password-rule" class="hint">
                            "At least 8 characters, with an upper-case and a lower-case letter, a digit and a punctuation character."
                        </p>
                        <label for="confirm_password">"Repeat the new password"</label>
                        <input id="confirm_password" name="confirm_password" node_ref=confirm_input type="password"
                            autocomplete="new-password" required minlength="8" maxlength="128"/>
                        <button type="submit" class="primary" disabled=move || action.pending().get()>
                            {move || if action.pending().get() { "Saving…" } else { "Set new password" }}
                        </button>
                    </form>
                </Show>
        </main>
    }
}
