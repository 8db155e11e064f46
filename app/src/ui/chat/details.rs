//! The details panel of the open chat: members (add, remove, leave) and archiving.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;

use super::{load_chat_lists, Overlay};
use crate::api::chats::{
    add_members, archive_chat, get_members, pinned_messages, remove_members, unarchive_chat, PinnedMessage,
};
use crate::api::ids::Id;
use crate::api::ApiError;
use crate::locale::use_i18n;
use crate::text;
use crate::tr;
use crate::ui::error_text::error_text;
use crate::ui::live::LiveLink;
use crate::ui::session::use_session;
use crate::ui::store::ChatStore;

#[component]
pub fn Details() -> impl IntoView {
    let store = expect_context::<ChatStore>();
    let link = expect_context::<LiveLink>();
    let overlay = expect_context::<RwSignal<Overlay>>();
    let i18n = use_i18n();
    let session = use_session();
    let navigate = use_navigate();
    let chat_id = move || store.open_chat.get_untracked().unwrap_or_default();
    let members = RwSignal::new(Vec::<String>::new());
    let new_member = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let is_group = move || {
        store
            .chats
            .with(|c| store.archived.with(|a| c.iter().chain(a).any(|c| c.chat_id == chat_id() && c.kind == "group")))
    };
    let archived = move || store.archived.with(|a| a.iter().any(|c| c.chat_id == chat_id()));

    let reload = move || {
        spawn_local(async move {
            let id = chat_id();
            match session.call(move |token| get_members(token, Id(id))).await {
                Ok(reply) => members.set(reply.members),
                Err(e) => error.set(Some(e)),
            }
        })
    };
    Effect::new(move |_| reload());
    // Pinned messages: again whenever one is pinned or unpinned in any chat.
    let pins = RwSignal::new(Vec::<PinnedMessage>::new());
    Effect::new(move |_| {
        store.pins_version.track();
        spawn_local(async move {
            let id = chat_id();
            match session.call(move |token| pinned_messages(token, Id(id))).await {
                Ok(reply) => pins.set(reply.pins),
                Err(e) => error.set(Some(e)),
            }
        });
    });

    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let names: Vec<String> =
            new_member.get_untracked().split(',').map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect();
        if names.is_empty() {
            return;
        }
        spawn_local(async move {
            let id = chat_id();
            match session.call(move |token| add_members(token, Id(id), names.clone())).await {
                Ok(_) => {
                    new_member.set(String::new());
                    error.set(None);
                    reload();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let remove = move |name: String| {
        let leaving = name == store.me.get_untracked();
        let navigate = navigate.clone();
        spawn_local(async move {
            let id = chat_id();
            match session.call(move |token| remove_members(token, Id(id), vec![name.clone()])).await {
                Ok(_) if leaving => {
                    load_chat_lists(store, link).await;
                    navigate("/chat", Default::default());
                }
                Ok(_) => reload(),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let toggle_archive = move |_| {
        let archive = !archived();
        spawn_local(async move {
            let id = chat_id();
            let result = if archive {
                session.call(move |token| archive_chat(token, Id(id))).await
            } else {
                session.call(move |token| unarchive_chat(token, Id(id))).await
            };
            match result {
                Ok(_) => load_chat_lists(store, link).await,
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <aside class="details" aria-label=text!(i18n, chat.chat_details)>
            <header class="details-head">
                <h2>{text!(i18n, chat.details)}</h2>
                <button type="button" class="link" on:click=move |_| overlay.set(Overlay::None)>{text!(i18n, chat.close)}</button>
            </header>
            {move || error.get().map(|e| view! { <p class="notice error" role="alert">{error_text(&e)}</p> })}
            <h3>{text!(i18n, chat.members)}</h3>
            <p class="hint">{text!(i18n, chat.member_count, count = members.with(Vec::len))}</p>
            <ul class="members">
                <For each=move || members.get() key=|name| name.clone() let:name>
                    {
                        let online = {
                            let name = name.clone();
                            move || store.online.with(|o| o.contains(&name))
                        };
                        let me = name == store.me.get_untracked();
                        let label = move || if me { tr!(i18n, chat.leave) } else { tr!(i18n, chat.remove) };
                        let description = {
                            let name = name.clone();
                            move || if me { tr!(i18n, chat.leave_this_chat) } else { tr!(i18n, chat.remove_member, name = name.clone()) }
                        };
                        let target = name.clone();
                        let remove = remove.clone();
                        view! {
                            <li>
                                <span class="presence" class:online=online aria-hidden="true"></span>
                                <bdi>{name.clone()}</bdi>
                                <Show when=is_group>
                                    <button type="button" class="link" on:click={
                                        let (target, remove) = (target.clone(), remove.clone());
                                        move |_| remove(target.clone())
                                    } aria-label=description.clone()>{label}</button>
                                </Show>
                            </li>
                        }
                    }
                </For>
            </ul>
            <h3>{text!(i18n, chat.pinned_messages)}</h3>
            <Show when=move || pins.with(Vec::is_empty)>
                <p class="hint">{text!(i18n, chat.nothing_pinned)}</p>
            </Show>
            <ul class="pins">
                <For each=move || pins.get() key=|pin| (pin.message.message_id, pin.pinned_at.clone()) let:pin>
                    {
                        let target = format!("message-{}", pin.message.message_id);
                        view! {
                            <li>
                                <button type="button" class="quote" on:click=move |_| crate::ui::browser::reveal(&target)>
                                    <bdi class="author">{pin.message.username.clone()}</bdi>
                                    <span class="excerpt" dir="auto">{pin.message.message.clone()}</span>
                                </button>
                            </li>
                        }
                    }
                </For>
            </ul>
            <Show when=is_group>
                <form class="stack" on:submit=add>
                    <label for="add-member">{text!(i18n, chat.add_people)}</label>
                    <input id="add-member" prop:value=move || new_member.get() on:input=move |ev| new_member.set(event_target_value(&ev))/>
                    <button type="submit" class="small">{text!(i18n, chat.add)}</button>
                </form>
            </Show>
            <button type="button" class="small" on:click=toggle_archive>
                {move || if archived() { tr!(i18n, chat.unarchive_chat) } else { tr!(i18n, chat.archive_chat) }}
            </button>
        </aside>
    }
}
