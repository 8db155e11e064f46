//! `GET /`: what Hearth is and whether the server is up (useful without JavaScript), and the
//! sign-in, sign-up (with the mailed code) and forgotten-password forms.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use super::session::{use_session, Session};
use crate::api::chatcli::{login, register, resend_verification, reset_password_request, verify_email};

#[component]
pub fn WelcomePage() -> impl IntoView {
    view! {
        <Title text="Hearth: self-hosted chat"/>
        <main class="page welcome">
            <header class="hero">
                <h1>"Hearth"</h1>
                <p class="lead">
                    "Self-hosted chat for your team, family or club: private chats, groups and calls, on a server you run."
                </p>
            </header>
            <div class="welcome-grid">
                <AuthPanel/>
                <section aria-labelledby="status-heading" class="card">
                    <h2 id="status-heading">"Server status"</h2>
                    <p>
                        <span class="dot online" aria-hidden="true"></span>
                        "This server is up and accepting connections."
                    </p>
                    <h2>"Other clients"</h2>
                    <p>
                        "ChatCLI clients connect to this address as they are; the nchat API lives under "
                        <code>"/api"</code> "."
                    </p>
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
    label: &'static str,
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
            Err(e) => Err(e.message),
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
                            info.set(Some(format!("We sent a 6-digit code to {}.", email.get_untracked())));
                            step.set(Step::Verify);
                            Ok(())
                        }
                        Err(e) => Err(e.message),
                    }
                }
                Step::Verify => {
                    match verify_email(username.get_untracked(), code.get_untracked().trim().to_string()).await {
                        Ok(_) if !password.get_untracked().is_empty() => sign_in().await,
                        Ok(_) => {
                            step.set(Step::SignIn);
                            info.set(Some("Your address is confirmed. Sign in.".into()));
                            Ok(())
                        }
                        Err(e) => Err(e.message),
                    }
                }
                Step::Forgot => match reset_password_request(Some(username.get_untracked()), None).await {
                    Ok(_) => {
                        info.set(Some(
                            "If that account exists, a reset link is on its way to its email address.".into(),
                        ));
                        Ok(())
                    }
                    Err(e) => Err(e.message),
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
                Ok(_) => info.set(Some("A new code is on its way.".into())),
                Err(e) => error.set(Some(e.message)),
            }
        });
    };

    let heading = move || match step.get() {
        Step::SignIn => "Sign in",
        Step::SignUp => "Create an account",
        Step::Verify => "Confirm your email",
        Step::Forgot => "Forgot your password?",
    };
    let button = move || match (step.get(), busy.get()) {
        (_, true) => "Please wait…",
        (Step::SignIn, _) => "Sign in",
        (Step::SignUp, _) => "Create account",
        (Step::Verify, _) => "Confirm",
        (Step::Forgot, _) => "Send reset link",
    };
    view! {
        <section class="card auth" aria-labelledby="auth-heading">
            <h2 id="auth-heading">{heading}</h2>
            <noscript><p class="notice error">"Signing in needs JavaScript."</p></noscript>
            {move || info.get().map(|m| view! { <p class="notice success" role="status">{m}</p> })}
            {move || error.get().map(|m| view! { <p class="notice error" role="alert">{m}</p> })}
            <form class="stack" on:submit=submit>
                <Field label="Username" name="username" value=username autocomplete="username"/>
                <Show when=move || step.get() == Step::SignUp>
                    <Field label="Email" name="email" value=email kind="email" autocomplete="email"/>
                </Show>
                <Show when=move || matches!(step.get(), Step::SignIn | Step::SignUp)>
                    <Field label="Password" name="password" value=password kind="password" autocomplete="current-password"/>
                </Show>
                <Show when=move || step.get() == Step::SignUp>
                    <p class="hint">
                        "At least 8 characters, with an upper-case and a lower-case letter, a digit and a punctuation character."
                    </p>
                </Show>
                <Show when=move || step.get() == Step::Verify>
                    <Field label="6-digit code" name="code" value=code autocomplete="one-time-code"/>
                </Show>
                <button type="submit" class="primary" disabled=move || busy.get()>{button}</button>
            </form>
            <nav class="auth-links" aria-label="Other options">
                <Show when=move || step.get() != Step::SignIn>
                    <button type="button" class="link" on:click=move |_| go(Step::SignIn)>"Sign in instead"</button>
                </Show>
                <Show when=move || step.get() != Step::SignUp>
                    <button type="button" class="link" on:click=move |_| go(Step::SignUp)>"Create an account"</button>
                </Show>
                <Show when=move || step.get() == Step::Verify>
                    <button type="button" class="link" on:click=resend>"Send a new code"</button>
                </Show>
                <Show when=move || step.get() == Step::SignIn>
                    <button type="button" class="link" on:click=move |_| go(Step::Forgot)>"Forgot your password?"</button>
                    <button type="button" class="link" on:click=move |_| go(Step::Verify)>"I have a code"</button>
                </Show>
            </nav>
        </section>
    }
}
