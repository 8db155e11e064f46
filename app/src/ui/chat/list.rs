//! The left pane: who I am, the search box, chats (or archived chats) by last activity, with
//! unread counts and presence dots.

use leptos::prelude::*;

use super::Overlay;
use crate::api::chats::ChatListItem;
use crate::ui::store::ChatStore;

#[component]
pub fn ChatList() -> impl IntoView {
    let store = expect_context::<ChatStore>();
    let overlay = expect_context::<RwSignal<Overlay>>();
    let search = RwSignal::new(String::new());
    let show_archived = RwSignal::new(false);
    let visible = move || {
        let needle = search.get().to_lowercase();
        let list = if show_archived.get() { store.archived.get() } else { store.chats.get() };
        list.into_iter().filter(|c| needle.is_empty() || c.name.to_lowercase().contains(&needle)).collect::<Vec<_>>()
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
        <aside class="sidebar" aria-label="Chats">
            <header class="sidebar-head">
                <button type="button" class="me" on:click=move |_| overlay.set(Overlay::Profile) aria-label="Your profile">
                    <span class="avatar" aria-hidden="true">{move || initial(&store.me.get())}</span>
                    <span>{move || store.me.get()}</span>
                </button>
                <button type="button" class="primary small" on:click=move |_| overlay.set(Overlay::NewChat)>
                    "New chat"
                </button>
            </header>
            <label class="visually-hidden" for="chat-search">"Search chats"</label>
            <input
                id="chat-search"
                class="search"
                type="search"
                placeholder="Search chats"
                prop:value=move || search.get()
                on:input=move |ev| search.set(event_target_value(&ev))
            />
            <div class="tabs" role="group" aria-label="Which chats">
                <button type="button" aria-pressed=move || (!show_archived.get()).to_string() on:click=move |_| show_archived.set(false)>
                    "Chats"
                </button>
                <button type="button" aria-pressed=move || show_archived.get().to_string() on:click=move |_| show_archived.set(true)>
                    "Archived"
                </button>
            </div>
            <nav class="chat-list" aria-label="Chat list" on:keydown=move_focus>
                <Show
                    when=move || !visible().is_empty()
                    fallback=move || {
                        view! {
                            <p class="empty">
                                {move || {
                                    if show_archived.get() {
                                        "Nothing archived."
                                    } else if search.get().is_empty() {
                                        "No chats yet: start one with “New chat”."
                                    } else {
                                        "No chat matches."
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

#[component]
fn ChatRow(chat: ChatListItem) -> impl IntoView {
    let store = expect_context::<ChatStore>();
    let id = chat.chat_id;
    let name = chat.name.clone();
    let private = chat.kind == "private";
    let online = {
        let name = name.clone();
        move || private && store.online.with(|o| o.contains(&name))
    };
    let preview = chat.last_message.as_ref().map(|m| {
        let who = if m.username == store.me.get_untracked() { "You".to_string() } else { m.username.clone() };
        if m.deleted_at.is_some() {
            format!("{who}: message deleted")
        } else {
            format!("{who}: {}", m.message)
        }
    });
    let unread = chat.unread;
    let label = format!("{name}{}", if unread > 0 { format!(", {unread} unread") } else { String::new() });
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
                    <span class="chat-name">{name.clone()}</span>
                    <span class="preview">{preview.unwrap_or_else(|| "No messages yet".into())}</span>
                </span>
                <Show when=move || { unread > 0 }>
                    <span class="badge" aria-hidden="true">{unread}</span>
                </Show>
            </a>
        </li>
    }
}

pub fn initial(name: &str) -> String {
    name.chars().next().map(|c| c.to_uppercase().collect()).unwrap_or_default()
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
