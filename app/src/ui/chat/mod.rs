//! The chat screen (`/chat`, `/chat/42`): chat list, the open conversation, and a details panel
//! on demand; one pane at a time on a phone. Its data comes from the `/chat/*` server functions
//! and the live WebSocket.

mod call;
mod conversation;
mod details;
mod dialogs;
mod list;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

use super::live::{self, LiveLink};
use super::session::use_session;
use super::store::{ChatStore, Connection};
use crate::api::chats::{fetch_archived, fetch_chats};

/// Which panel or dialog is open besides the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    None,
    Details,
    NewChat,
    Profile,
}

#[component]
pub fn ChatPage() -> impl IntoView {
    let session = use_session();
    let store = ChatStore::new();
    store.me.set(session.username().unwrap_or_default());
    let link = live::connect(store, session);
    on_cleanup(move || link.close());
    provide_context(store);
    provide_context(link);
    let overlay = RwSignal::new(Overlay::None);
    provide_context(overlay);

    let navigate = use_navigate();
    Effect::new(move |_| {
        if session.0.get().is_none() {
            navigate("/", Default::default());
        }
    });
    let params = use_params_map();
    Effect::new(move |_| {
        let open = params.with(|p| p.get("id").and_then(|id| id.parse::<i64>().ok()));
        store.open_chat.set(open);
        overlay.set(Overlay::None);
    });
    // The chat list: at start, and whenever a chat appears.
    Effect::new(move |_| {
        store.list_version.track();
        spawn_local(load_chat_lists(store, link));
    });
    // Typing indicators run out on their own.
    Effect::new(move |_| {
        let handle = set_interval_with_handle(move || store.expire_typing(), std::time::Duration::from_secs(1));
        on_cleanup(move || {
            if let Ok(handle) = handle {
                handle.clear();
            }
        });
    });

    let pane = move || match (overlay.get(), store.open_chat.get()) {
        (Overlay::Details, Some(_)) => "details",
        (_, Some(_)) => "conversation",
        _ => "list",
    };
    let close_on_escape = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" && overlay.get_untracked() != Overlay::None {
            overlay.set(Overlay::None);
        }
    };
    view! {
        <Title text="Chats · Hearth"/>
        <div class="app" data-pane=pane on:keydown=close_on_escape>
            <ConnectionBar/>
            <Notice/>
            <div class="incoming-calls">
                <call::IncomingCalls/>
            </div>
            <call::CallAudio/>
            <list::ChatList/>
            <conversation::Conversation/>
            <Show when=move || overlay.get() == Overlay::Details && store.open_chat.get().is_some()>
                <details::Details/>
            </Show>
            <Show when=move || overlay.get() == Overlay::NewChat>
                <dialogs::NewChatDialog/>
            </Show>
            <Show when=move || overlay.get() == Overlay::Profile>
                <dialogs::ProfileDialog/>
            </Show>
        </div>
    }
}

/// Fetches both chat lists, then follows every chat live.
pub async fn load_chat_lists(store: ChatStore, link: LiveLink) {
    let session = use_session();
    if let Ok(list) = session.call(fetch_chats).await {
        store.chats.set(list.response);
        link.join_all(&store);
    }
    if let Ok(list) = session.call(fetch_archived).await {
        store.archived.set(list.response);
    }
}

#[component]
fn ConnectionBar() -> impl IntoView {
    let store = expect_context::<ChatStore>();
    view! {
        <Show when=move || store.connection.get() == Connection::Reconnecting>
            <div class="connection-bar" role="status">"Reconnecting…"</div>
        </Show>
    }
}

#[component]
fn Notice() -> impl IntoView {
    let store = expect_context::<ChatStore>();
    view! {
        {move || {
            store
                .notice
                .get()
                .map(|message| {
                    view! {
                        <div class="toast" role="alert">
                            <span>{message}</span>
                            <button type="button" class="link" on:click=move |_| store.notice.set(None)>
                                "Dismiss"
                            </button>
                        </div>
                    }
                })
        }}
    }
}
