//! The left pane: who I am, the search box, chats (or archived chats) by last activity, with
//! unread counts and presence dots.

use leptos::prelude::*;

use super::Overlay;
use leptos::task::spawn_local;

use crate::api::chats::{saved_messages, ChatListItem, SavedMessage};
use crate::i18n::t;
use crate::locale::use_i18n;
use crate::text;
use crate::tr;
use crate::ui::browser;
use crate::ui::session::use_session;
use crate::ui::store::{ChatStore, Notice};

#[component]
pub fn ChatList() -> impl IntoView {
    let store = expect_context::<ChatStore>();
    let overlay = expect_context::<RwSignal<Overlay>>();
    let i18n = use_i18n();
    let search = RwSignal::new(String::new());
    let tab = RwSignal::new(Tab::Chats);
    let show_archived = Memo::new(move |_| tab.get() == Tab::Archived);
    let visible = move || {
        let needle = browser::lowercase(&search.get());
        let list = if show_archived.get() { store.archived.get() } else { store.chats.get() };
        list.into_iter()
            .filter(|c| needle.is_empty() || browser::lowercase(&c.name).contains(&needle))
            .collect::<Vec<_>>()
    };
    // Arrow keys move between chats.
    let move_focus = move |ev: leptos::ev::KeyboardEvent| {
        let step = match ev.key().as_str() {
            "ArrowDown" => 1,
            "ArrowUp" => -1,
            _ => return,
        };
        ev.prevent_default();
        focus_sibling_link(step);
    };
    view! {
        <aside class="sidebar" aria-label=text!(i18n, chat.chats)>
            <header class="sidebar-head">
                <button type="button" class="me" on:click=move |_| overlay.set(Overlay::Profile) aria-label=text!(i18n, chat.your_profile)>
                    <span class="avatar" aria-hidden="true">{move || initial(&store.me.get())}</span>
                    <bdi>{move || store.me.get()}</bdi>
                </button>
                <button type="button" class="primary small" on:click=move |_| overlay.set(Overlay::NewChat)>
                    {text!(i18n, chat.new_chat)}
                </button>
            </header>
            <label class="visually-hidden" for="chat-search">{text!(i18n, chat.search_chats)}</label>
            <input
                id="chat-search"
                class="search"
                type="search"
                placeholder=text!(i18n, chat.search_chats)
                prop:value=move || search.get()
                on:input=move |ev| search.set(event_target_value(&ev))
            />
            <div class="tabs" role="group" aria-label=text!(i18n, chat.which_chats)>
                <button type="button" aria-pressed=move || (tab.get() == Tab::Chats).to_string() on:click=move |_| tab.set(Tab::Chats)>
                    {text!(i18n, chat.chats)}
                </button>
                <button type="button" aria-pressed=move || (tab.get() == Tab::Archived).to_string() on:click=move |_| tab.set(Tab::Archived)>
                    {text!(i18n, chat.archived)}
                </button>
                <button type="button" aria-pressed=move || (tab.get() == Tab::Saved).to_string() on:click=move |_| tab.set(Tab::Saved)>
                    {text!(i18n, chat.saved)}
                </button>
            </div>
            <Show when=move || tab.get() == Tab::Saved>
                <SavedList/>
            </Show>
            <nav class="chat-list" aria-label=text!(i18n, chat.chat_list) on:keydown=move_focus hidden=move || tab.get() == Tab::Saved>
                <Show
                    when=move || !visible().is_empty()
                    fallback=move || {
                        view! {
                            <p class="empty">
                                {move || {
                                    if show_archived.get() {
                                        tr!(i18n, chat.nothing_archived)
                                    } else if search.get().is_empty() {
                                        tr!(i18n, chat.no_chats_yet)
                                    } else {
                                        tr!(i18n, chat.no_chat_matches)
                                    }
                                }}
                            </p>
                        }
                    }
                >
                    <ul>
                        <For each=visible key=|c| (c.chat_id, c.unread, c.last_message.as_ref().map(|m| m.message_id), c.name.clone()) let:chat>
                            <ChatRow chat=chat/>
                        </For>
                    </ul>
                </Show>
            </nav>
        </aside>
    }
}

/// Which list the left pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Chats,
    Archived,
    Saved,
}

/// The person's saved messages, the latest saved first; each opens its chat.
#[component]
fn SavedList() -> impl IntoView {
    let store = expect_context::<ChatStore>();
    let i18n = use_i18n();
    let session = use_session();
    let list = RwSignal::new(None::<Vec<SavedMessage>>);
    // Again whenever something is saved or forgotten.
    Effect::new(move |_| {
        store.saved.track();
        spawn_local(async move {
            match session.call(move |token| saved_messages(token, None, Some(100), None)).await {
                Ok(reply) => list.set(Some(reply.saved)),
                Err(e) => store.notice.set(Some(Notice::Failed(e))),
            }
        });
    });
    let chat_name = move |chat_id: i64| {
        store
            .chats
            .with(|c| store.archived.with(|a| c.iter().chain(a).find(|c| c.chat_id == chat_id).map(|c| c.name.clone())))
    };
    view! {
        <nav class="chat-list saved-list" aria-label=text!(i18n, chat.saved)>
            {move || match list.get() {
                None => ().into_any(),
                Some(saved) if saved.is_empty() => view! { <p class="empty">{text!(i18n, chat.nothing_saved)}</p> }.into_any(),
                Some(saved) => view! {
                    <ul>
                        {saved.into_iter().map(|item| {
                            let message = item.message;
                            let chat = chat_name(message.chat_id).unwrap_or_default();
                            view! {
                                <li>
                                    <a href=format!("/chat/{}", message.chat_id) class="chat-row saved-row">
                                        <span class="chat-text">
                                            <span class="chat-name"><bdi>{message.username.clone()}</bdi>" · "<bdi>{chat}</bdi></span>
                                            <span class="chat-preview" dir="auto">{message.message.clone()}</span>
                                        </span>
                                    </a>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </nav>
    }
}

#[component]
fn ChatRow(chat: ChatListItem) -> impl IntoView {
    let store = expect_context::<ChatStore>();
    let i18n = use_i18n();
    let id = chat.chat_id;
    let name = chat.name.clone();
    let private = chat.kind == "private";
    let online = {
        let name = name.clone();
        move || private && store.online.with(|o| o.contains(&name))
    };
    let last = chat.last_message.clone();
    let preview = move || match &last {
        None => text!(i18n, chat.no_messages_yet).into_any(),
        Some(m) => {
            let who = if m.username == store.me.get_untracked() { tr!(i18n, chat.you) } else { m.username.clone() };
            if m.deleted_at.is_some() {
                t!(i18n, chat.preview_deleted, who, <person> = <bdi/>).into_any()
            } else {
                let text = m.message.clone();
                t!(i18n, chat.preview, who, text, <person> = <bdi/>, <body> = <bdi/>).into_any()
            }
        }
    };
    let unread = chat.unread;
    let label = {
        let name = name.clone();
        move || {
            if unread > 0 {
                tr!(i18n, chat.row_label_unread, name = name.clone(), count = unread)
            } else {
                name.clone()
            }
        }
    };
    view! {
        <li>
            <a
                href=format!("/chat/{id}")
                class="chat-row"
                aria-label=label
                aria-current=move || (store.open_chat.get() == Some(id)).then_some("page")
            >
                <span class="avatar" aria-hidden="true">
                    {initial(&name)}
                    <span class="presence" class:online=online></span>
                </span>
                <span class="chat-row-text">
                    <bdi class="chat-name">{name.clone()}</bdi>
                    <span class="preview">{preview}</span>
                </span>
                <Show when=move || { unread > 0 }>
                    <span class="badge" aria-hidden="true">{unread}</span>
                </Show>
            </a>
        </li>
    }
}

pub fn initial(name: &str) -> String {
    name.chars().next().map(|c| browser::uppercase(&c.to_string())).unwrap_or_default()
}

fn focus_sibling_link(step: i32) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
        let Ok(links) = document.query_selector_all(".chat-list a") else { return };
        let active = document.active_element();
        let count = links.length() as i32;
        let current = (0..count).find(|i| {
            links.item(*i as u32).and_then(|n| n.dyn_into::<web_sys::Element>().ok()).as_ref() == active.as_ref()
        });
        let next = current.map_or(0, |i| (i + step).clamp(0, count - 1));
        if let Some(element) = links.item(next as u32).and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = element.focus();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = step;
}
