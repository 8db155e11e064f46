//! Dialogs: starting a chat or a group, and the profile (name, email, password, signing out).

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;

use super::{load_chat_lists, Overlay};
use crate::api::chatcli::{change_password, logout, logout_all, submit_profile, verify_email};
use crate::api::chats::{create_chat, create_group};
use crate::api::ApiError;
use crate::locale::use_i18n;
use crate::text;
use crate::tr;
use crate::ui::error_text::error_text;
use crate::ui::language::LanguagePicker;
use crate::ui::live::LiveLink;
use crate::ui::session::{use_session, Session};
use crate::ui::store::ChatStore;

#[component]
fn Dialog(title: Signal<String>, children: Children) -> impl IntoView {
    let overlay = expect_context::<RwSignal<Overlay>>();
    let i18n = use_i18n();
    view! {
        <div class="scrim" on:click=move |_| overlay.set(Overlay::None)></div>
        <section class="dialog" role="dialog" aria-modal="true" aria-label=title>
            <header class="details-head">
                <h2>{title}</h2>
                <button type="button" class="link" on:click=move |_| overlay.set(Overlay::None)>{text!(i18n, chat.close)}</button>
            </header>
            {children()}
        </section>
    }
}

#[component]
pub fn NewChatDialog() -> impl IntoView {
    let store = expect_context::<ChatStore>();
    let link = expect_context::<LiveLink>();
    let i18n = use_i18n();
    let session = use_session();
    let navigate = use_navigate();
    let person = RwSignal::new(String::new());
    let group_name = RwSignal::new(String::new());
    let group_members = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let open = move |result: Result<i64, ApiError>| {
        let navigate = navigate.clone();
        spawn_local(async move {
            match result {
                Ok(chat_id) => {
                    load_chat_lists(store, link).await;
                    navigate(&format!("/chat/{chat_id}"), Default::default());
                }
                Err(problem) => error.set(Some(problem)),
            }
        });
    };
    let start_chat = {
        let open = open.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let open = open.clone();
            spawn_local(async move {
                let receiver = person.get_untracked();
                let result = session.call(move |token| create_chat(token, receiver.clone())).await;
                open(result.map(|r| r.chat_id));
            });
        }
    };
    let start_group = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let open = open.clone();
        spawn_local(async move {
            let name = group_name.get_untracked();
            let members: Vec<String> = group_members
                .get_untracked()
                .split(',')
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty())
                .collect();
            let result = session.call(move |token| create_group(token, name.clone(), members.clone())).await;
            open(result.map(|r| r.chat_id));
        });
    };
    view! {
        <Dialog title=text!(i18n, chat.new_chat)>
            {move || error.get().map(|e| view! { <p class="notice error" role="alert">{error_text(&e)}</p> })}
            <form class="stack" on:submit=start_chat>
                <label for="new-chat-person">{text!(i18n, chat.chat_with)}</label>
                <input id="new-chat-person" required autofocus prop:value=move || person.get() on:input=move |ev| person.set(event_target_value(&ev))/>
                <button type="submit" class="primary">{text!(i18n, chat.start_chat)}</button>
            </form>
            <hr/>
            <form class="stack" on:submit=start_group>
                <label for="new-group-name">{text!(i18n, chat.group_name)}</label>
                <input id="new-group-name" required prop:value=move || group_name.get() on:input=move |ev| group_name.set(event_target_value(&ev))/>
                <label for="new-group-members">{text!(i18n, chat.group_members)}</label>
                <input id="new-group-members" prop:value=move || group_members.get() on:input=move |ev| group_members.set(event_target_value(&ev))/>
                <button type="submit" class="primary">{text!(i18n, chat.create_group)}</button>
            </form>
        </Dialog>
    }
}

/// What the profile dialog reports after an action.
#[derive(Debug, Clone, PartialEq)]
enum ProfileNews {
    CodeSent,
    Updated,
    AddressConfirmed,
}

#[component]
pub fn ProfileDialog() -> impl IntoView {
    let store = expect_context::<ChatStore>();
    let i18n = use_i18n();
    let session = use_session();
    let username = RwSignal::new(store.me.get_untracked());
    let email = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let awaiting_code = RwSignal::new(false);
    let current = RwSignal::new(String::new());
    let new_password = RwSignal::new(String::new());
    let message = RwSignal::new(None::<Result<ProfileNews, ApiError>>);

    let save_profile = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        spawn_local(async move {
            let (name, address) = (username.get_untracked(), email.get_untracked());
            let name = (name != store.me.get_untracked()).then_some(name);
            let address = (!address.trim().is_empty()).then_some(address);
            let result =
                session.call(move |token| submit_profile(token, name.clone(), address.clone(), false, false)).await;
            match result {
                Ok(reply) => {
                    if let Some(name) = reply.username.clone() {
                        store.me.set(name.clone());
                        if let Some(current) = session.0.get_untracked() {
                            session.set(Some(Session { username: name, ..current }));
                        }
                    }
                    awaiting_code.set(reply.verification_sent == Some(true));
                    message.set(Some(Ok(if reply.verification_sent == Some(true) {
                        ProfileNews::CodeSent
                    } else {
                        ProfileNews::Updated
                    })));
                }
                Err(e) => message.set(Some(Err(e))),
            }
        });
    };
    let confirm_email = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        spawn_local(async move {
            match verify_email(store.me.get_untracked(), code.get_untracked().trim().to_string()).await {
                Ok(_) => {
                    awaiting_code.set(false);
                    message.set(Some(Ok(ProfileNews::AddressConfirmed)));
                }
                Err(e) => message.set(Some(Err(e.into()))),
            }
        });
    };
    let drafts = expect_context::<super::conversation::Drafts>();
    let sign_out_with = move |everywhere: bool| {
        if let Some(me) = session.username() {
            drafts.forget(&me);
        }
        spawn_local(async move {
            let refresh = session.0.get_untracked().map(|s| s.refresh_token);
            let _ = if everywhere {
                session.call(logout_all).await
            } else {
                session.call(move |token| logout(token, refresh.clone())).await
            };
            session.set(None);
        });
    };
    let save_password = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        spawn_local(async move {
            let (old, new) = (current.get_untracked(), new_password.get_untracked());
            match session.call(move |token| change_password(token, old.clone(), new.clone())).await {
                // Every session ended with the change, this one too.
                Ok(_) => session.set(None),
                Err(e) => message.set(Some(Err(e))),
            }
        });
    };
    view! {
        <Dialog title=text!(i18n, chat.your_profile)>
            {move || message.get().map(|m| match m {
                Ok(news) => {
                    let text = match news {
                        ProfileNews::CodeSent => tr!(i18n, chat.check_new_address),
                        ProfileNews::Updated => tr!(i18n, chat.profile_updated),
                        ProfileNews::AddressConfirmed => tr!(i18n, chat.address_confirmed),
                    };
                    view! { <p class="notice success" role="status">{text}</p> }.into_any()
                }
                Err(e) => view! { <p class="notice error" role="alert">{error_text(&e)}</p> }.into_any(),
            })}
            <div class="stack">
                <LanguagePicker/>
            </div>
            <hr/>
            <form class="stack" on:submit=save_profile>
                <label for="profile-name">{text!(i18n, auth.username)}</label>
                <input id="profile-name" prop:value=move || username.get() on:input=move |ev| username.set(event_target_value(&ev))/>
                <label for="profile-email">{text!(i18n, chat.new_email_optional)}</label>
                <input id="profile-email" type="email" prop:value=move || email.get() on:input=move |ev| email.set(event_target_value(&ev))/>
                <button type="submit" class="small">{text!(i18n, chat.save)}</button>
            </form>
            <Show when=move || awaiting_code.get()>
                <form class="stack" on:submit=confirm_email>
                    <label for="profile-code">{text!(i18n, auth.code)}</label>
                    <input id="profile-code" autocomplete="one-time-code" prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
                    <button type="submit" class="small">{text!(i18n, chat.confirm_address)}</button>
                </form>
            </Show>
            <hr/>
            <form class="stack" on:submit=save_password>
                <label for="profile-current">{text!(i18n, chat.current_password)}</label>
                <input id="profile-current" type="password" autocomplete="current-password" prop:value=move || current.get() on:input=move |ev| current.set(event_target_value(&ev))/>
                <label for="profile-new">{text!(i18n, auth.new_password)}</label>
                <input id="profile-new" type="password" autocomplete="new-password" prop:value=move || new_password.get() on:input=move |ev| new_password.set(event_target_value(&ev))/>
                <p class="hint">{text!(i18n, chat.password_change_signs_out)}</p>
                <button type="submit" class="small">{text!(i18n, chat.change_password)}</button>
            </form>
            <hr/>
            <div class="row">
                <button type="button" on:click=move |_| sign_out_with(false)>{text!(i18n, chat.sign_out)}</button>
                <button type="button" on:click=move |_| sign_out_with(true)>{text!(i18n, chat.sign_out_everywhere)}</button>
            </div>
        </Dialog>
    }
}
