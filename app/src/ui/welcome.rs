//! `GET /`: what Hearth is and whether the server is up (useful without JavaScript), and the
//! sign-in, sign-up (with the mailed code) and forgotten-password forms.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use super::error_text::error_text;
use super::session::{use_session, Session};
use crate::api::chatcli::{login, register, resend_verification, reset_password_request, verify_email};
use crate::i18n::t;
use crate::locale::use_i18n;
use crate::text;
use crate::tr;

#[component]
pub fn WelcomePage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <Title text=text!(i18n, auth.welcome_title)/>
        <main class="page welcome">
            <header class="hero">
                <h1>{text!(i18n, common.app_name)}</h1>
                <p class="lead">{text!(i18n, auth.welcome_lead)}</p>
            </header>
            <div class="welcome-grid">
                <AuthPanel/>
                <section aria-labelledby="status-heading" class="card">
                    <h2 id="status-heading">{text!(i18n, auth.status_heading)}</h2>
                    <p>
                        <span class="dot online" aria-hidden="true"></span>
                        {text!(i18n, auth.status_up)}
                    </p>
                    <h2>{text!(i18n, auth.other_clients)}</h2>
                    <p>{t!(i18n, auth.other_clients_body, <code> = <code/>)}</p>
                </section>
            </div>
        </main>
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    SignIn,
    SignUp,
    Verify,
    Forgot,
}

/// A text field bound to a signal, with its label.
#[component]
fn Field(
    #[prop(into)] label: Signal<String>,
    name: &'static str,
    value: RwSignal<String>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "")] autocomplete: &'static str,
) -> impl IntoView {
    let id = format!("auth-{name}");
    view! {
        <label for=id.clone()>{label}</label>
        <input
            id=id
            name=name
            type=kind
            autocomplete=autocomplete
            required
            prop:value=move || value.get()
            on:input=move |ev| value.set(event_target_value(&ev))
        />
    }
}

#[component]
fn AuthPanel() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let navigate = use_navigate();
    let step = RwSignal::new(Step::SignIn);
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let info = RwSignal::new(None::<String>);

    // Signed in already (or just now): the chats are next.
    Effect::new(move |_| {
        if session.0.get().is_some() {
            navigate("/chat", Default::default());
        }
    });

    let go = move |next: Step| {
        error.set(None);
        info.set(None);
        step.set(next);
    };
    let sign_in = move || async move {
        let name = username.get_untracked();
        match login(name.clone(), password.get_untracked()).await {
            Ok(reply) => {
                session.set(Some(Session {
                    username: name,
                    access_token: reply.access_token,
                    refresh_token: reply.refresh_token,
                }));
                Ok(())
            }
            Err(e) => Err(error_text(&e)),
        }
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let outcome = match step.get_untracked() {
                Step::SignIn => sign_in().await,
                Step::SignUp => {
                    match register(username.get_untracked(), password.get_untracked(), email.get_untracked(), None)
                        .await
                    {
                        Ok(reply) if reply.message.contains("skipped") => sign_in().await,
                        Ok(_) => {
                            info.set(Some(tr!(i18n, auth.code_sent, email = email.get_untracked())));
                            step.set(Step::Verify);
                            Ok(())
                        }
                        Err(e) => Err(error_text(&e)),
                    }
                }
                Step::Verify => {
                    match verify_email(username.get_untracked(), code.get_untracked().trim().to_string()).await {
                        Ok(_) if !password.get_untracked().is_empty() => sign_in().await,
                        Ok(_) => {
                            step.set(Step::SignIn);
                            info.set(Some(tr!(i18n, auth.address_confirmed)));
                            Ok(())
                        }
                        Err(e) => Err(error_text(&e)),
                    }
                }
                Step::Forgot => match reset_password_request(Some(username.get_untracked()), None).await {
                    Ok(_) => {
                        info.set(Some(tr!(i18n, auth.reset_link_sent)));
                        Ok(())
                    }
                    Err(e) => Err(error_text(&e)),
                },
            };
            if let Err(message) = outcome {
                error.set(Some(message));
            }
            busy.set(false);
        });
    };
    let resend = move |_| {
        spawn_local(async move {
            match resend_verification(username.get_untracked()).await {
                Ok(_) => info.set(Some(tr!(i18n, auth.new_code_sent))),
                Err(e) => error.set(Some(error_text(&e))),
            }
        });
    };

    let heading = move || match step.get() {
        Step::SignIn => tr!(i18n, auth.sign_in),
        Step::SignUp => tr!(i18n, auth.create_account_heading),
        Step::Verify => tr!(i18n, auth.confirm_email_heading),
        Step::Forgot => tr!(i18n, auth.forgot_heading),
    };
    let button = move || match (step.get(), busy.get()) {
        (_, true) => tr!(i18n, common.please_wait),
        (Step::SignIn, _) => tr!(i18n, auth.sign_in),
        (Step::SignUp, _) => tr!(i18n, auth.create_account),
        (Step::Verify, _) => tr!(i18n, auth.confirm),
        (Step::Forgot, _) => tr!(i18n, auth.send_reset_link),
    };
    view! {
        <section class="card auth" aria-labelledby="auth-heading">
            <h2 id="auth-heading">{heading}</h2>
            <noscript><p class="notice error">{text!(i18n, auth.needs_javascript)}</p></noscript>
            {move || info.get().map(|m| view! { <p class="notice success" role="status">{m}</p> })}
            {move || error.get().map(|m| view! { <p class="notice error" role="alert">{m}</p> })}
            <form class="stack" on:submit=submit>
                <Field label=text!(i18n, auth.username) name="username" value=username autocomplete="username"/>
                <Show when=move || step.get() == Step::SignUp>
                    <Field label=text!(i18n, auth.email) name="email" value=email kind="email" autocomplete="email"/>
                </Show>
                <Show when=move || matches!(step.get(), Step::SignIn | Step::SignUp)>
                    <Field label=text!(i18n, auth.password) name="password" value=password kind="password" autocomplete="current-password"/>
                </Show>
                <Show when=move || step.get() == Step::SignUp>
                    <p class="hint">{text!(i18n, auth.password_rule)}</p>
                </Show>
                <Show when=move || step.get() == Step::Verify>
                    <Field label=text!(i18n, auth.code) name="code" value=code autocomplete="one-time-code"/>
                </Show>
                <button type="submit" class="primary" disabled=move || busy.get()>{button}</button>
            </form>
            <nav class="auth-links" aria-label=text!(i18n, auth.other_options)>
                <Show when=move || step.get() != Step::SignIn>
                    <button type="button" class="link" on:click=move |_| go(Step::SignIn)>{text!(i18n, auth.sign_in_instead)}</button>
                </Show>
                <Show when=move || step.get() != Step::SignUp>
                    <button type="button" class="link" on:click=move |_| go(Step::SignUp)>{text!(i18n, auth.create_account_heading)}</button>
                </Show>
                <Show when=move || step.get() == Step::Verify>
                    <button type="button" class="link" on:click=resend>{text!(i18n, auth.send_new_code)}</button>
                </Show>
                <Show when=move || step.get() == Step::SignIn>
                    <button type="button" class="link" on:click=move |_| go(Step::Forgot)>{text!(i18n, auth.forgot_heading)}</button>
                    <button type="button" class="link" on:click=move |_| go(Step::Verify)>{text!(i18n, auth.have_code)}</button>
                </Show>
            </nav>
        </section>
    }
}
