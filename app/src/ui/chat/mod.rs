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

use super::error_text::error_text;
use super::live::{self, LiveLink};
use super::session::use_session;
use super::store::{ChatStore, Connection, Notice};
use crate::api::chats::{fetch_archived, fetch_chats};
use crate::locale::use_i18n;
use crate::text;
use crate::tr;

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
    let i18n = use_i18n();
    let store = ChatStore::new();
    // The session lives in the browser, so the server renders no name: it is set once the page is
    // live, so the server's page and the browser's first render agree (hydration keeps the text
    // it finds).
    Effect::new(move |_| store.me.set(session.username().unwrap_or_default()));
    // The language saved on the account wins over this browser's, once the page is live.
    let mut follow_language = Some(super::language::follow_saved_language());
    Effect::new(move |_| {
        if let Some(follow) = follow_language.take() {
            spawn_local(follow);
        }
    });
    let link = live::connect(store, session);
    on_cleanup(move || link.close());
    provide_context(store);
    provide_context(link);
    conversation::Drafts::provide(store);
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
    // What this person saved, once.
    Effect::new(move |_| spawn_local(load_saved(store)));
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
        <Title text=text!(i18n, chat.page_title)/>
        <div class="app" data-pane=pane on:keydown=close_on_escape>
            <ConnectionBar/>
            <NoticeToast/>
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

/// Which messages this person saved (the latest 100), for the Save buttons.
async fn load_saved(store: ChatStore) {
    let session = use_session();
    if let Ok(reply) = session.call(|token| crate::api::chats::saved_messages(token, None, Some(100), None)).await {
        store.saved.set(reply.saved.into_iter().map(|s| s.message.message_id).collect());
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
    let i18n = use_i18n();
    view! {
        <Show when=move || store.connection.get() == Connection::Reconnecting>
            <div class="connection-bar" role="status">{text!(i18n, chat.reconnecting)}</div>
        </Show>
    }
}

#[component]
fn NoticeToast() -> impl IntoView {
    let store = expect_context::<ChatStore>();
    let i18n = use_i18n();
    view! {
        {move || {
            store
                .notice
                .get()
                .map(|notice| {
                    view! {
                        <div class="toast" role="alert">
                            <span>{notice_text(&notice)}</span>
                            <button type="button" class="link" on:click=move |_| store.notice.set(None)>
                                {text!(i18n, chat.dismiss)}
                            </button>
                        </div>
                    }
                })
        }}
    }
}

/// What a notice says, in the page's language.
fn notice_text(notice: &Notice) -> String {
    let i18n = use_i18n();
    match notice {
        Notice::Failed(error) => error_text(error),
        Notice::Refused(reason) => tr!(i18n, chat.server_refused, reason = reason.clone()),
        Notice::CallRefused(code) => match code.as_str() {
            "CALL_NOT_FOUND" => tr!(i18n, chat.call_not_found),
            "CALL_NOT_ACTIVE" => tr!(i18n, chat.call_ended),
            "CALL_IN_PROGRESS" => tr!(i18n, chat.call_already_on),
            "ACCESS_DENIED" => tr!(i18n, errors.forbidden),
            _ => tr!(i18n, errors.generic),
        },
        Notice::TooLong { max } => tr!(i18n, chat.too_long, max = *max),
    }
}

#[cfg(test)]
mod tests {
    use crate::i18n::td_string;
    use crate::locale::{ready, Locale};

    const COUNTS: [u32; 6] = [0, 1, 2, 5, 11, 100];

    /// Each language's form for 0, 1, 2, 5, 11 and 100 (Arabic has a different one for each).
    fn check(key: &str, expected: [(Locale, [&str; 6]); 5], say: impl Fn(Locale, u32) -> String) {
        for (locale, forms) in expected {
            for (count, form) in COUNTS.iter().zip(forms) {
                assert_eq!(say(locale, *count), form, "{key} in {locale:?} for {count}");
            }
        }
    }

    #[test]
    fn member_counts_agree_with_the_number_in_every_language() {
        check(
            "member_count",
            [
                (Locale::en, ["0 members", "1 member", "2 members", "5 members", "11 members", "100 members"]),
                (
                    Locale::de,
                    ["0 Mitglieder", "1 Mitglied", "2 Mitglieder", "5 Mitglieder", "11 Mitglieder", "100 Mitglieder"],
                ),
                (Locale::fr, ["0 membre", "1 membre", "2 membres", "5 membres", "11 membres", "100 membres"]),
                (Locale::es, ["0 miembros", "1 miembro", "2 miembros", "5 miembros", "11 miembros", "100 miembros"]),
                (Locale::ar, ["لا أعضاء", "عضو واحد", "عضوان", "5 أعضاء", "11 عضوًا", "100 عضو"]),
            ],
            |locale, count| ready(td_string!(locale, chat.member_count, count = count)),
        );
    }

    #[test]
    fn unread_labels_agree_with_the_number_in_every_language() {
        check(
            "row_label_unread",
            [
                (
                    Locale::en,
                    ["a, 0 unread", "a, 1 unread", "a, 2 unread", "a, 5 unread", "a, 11 unread", "a, 100 unread"],
                ),
                (
                    Locale::de,
                    [
                        "a, 0 ungelesene Nachrichten",
                        "a, 1 ungelesene Nachricht",
                        "a, 2 ungelesene Nachrichten",
                        "a, 5 ungelesene Nachrichten",
                        "a, 11 ungelesene Nachrichten",
                        "a, 100 ungelesene Nachrichten",
                    ],
                ),
                (
                    Locale::fr,
                    [
                        "a, 0 message non lu",
                        "a, 1 message non lu",
                        "a, 2 messages non lus",
                        "a, 5 messages non lus",
                        "a, 11 messages non lus",
                        "a, 100 messages non lus",
                    ],
                ),
                (
                    Locale::es,
                    [
                        "a, 0 mensajes sin leer",
                        "a, 1 mensaje sin leer",
                        "a, 2 mensajes sin leer",
                        "a, 5 mensajes sin leer",
                        "a, 11 mensajes sin leer",
                        "a, 100 mensajes sin leer",
                    ],
                ),
                (
                    Locale::ar,
                    [
                        "a، لا رسائل غير مقروءة",
                        "a، رسالة واحدة غير مقروءة",
                        "a، رسالتان غير مقروءتين",
                        "a، 5 رسائل غير مقروءة",
                        "a، 11 رسالة غير مقروءة",
                        "a، 100 رسالة غير مقروءة",
                    ],
                ),
            ],
            |locale, count| ready(td_string!(locale, chat.row_label_unread, name = "a", count = count)),
        );
    }

    #[test]
    fn new_message_pills_agree_with_the_number_in_every_language() {
        check(
            "new_messages_below",
            [
                (
                    Locale::en,
                    [
                        "0 new messages ↓",
                        "1 new message ↓",
                        "2 new messages ↓",
                        "5 new messages ↓",
                        "11 new messages ↓",
                        "100 new messages ↓",
                    ],
                ),
                (
                    Locale::de,
                    [
                        "0 neue Nachrichten ↓",
                        "1 neue Nachricht ↓",
                        "2 neue Nachrichten ↓",
                        "5 neue Nachrichten ↓",
                        "11 neue Nachrichten ↓",
                        "100 neue Nachrichten ↓",
                    ],
                ),
                (
                    Locale::fr,
                    [
                        "0 nouveau message ↓",
                        "1 nouveau message ↓",
                        "2 nouveaux messages ↓",
                        "5 nouveaux messages ↓",
                        "11 nouveaux messages ↓",
                        "100 nouveaux messages ↓",
                    ],
                ),
                (
                    Locale::es,
                    [
                        "0 mensajes nuevos ↓",
                        "1 mensaje nuevo ↓",
                        "2 mensajes nuevos ↓",
                        "5 mensajes nuevos ↓",
                        "11 mensajes nuevos ↓",
                        "100 mensajes nuevos ↓",
                    ],
                ),
                (
                    Locale::ar,
                    [
                        "لا رسائل جديدة ↓",
                        "رسالة جديدة واحدة ↓",
                        "رسالتان جديدتان ↓",
                        "5 رسائل جديدة ↓",
                        "11 رسالة جديدة ↓",
                        "100 رسالة جديدة ↓",
                    ],
                ),
            ],
            |locale, count| ready(td_string!(locale, chat.new_messages_below, count = count)),
        );
    }

    #[test]
    fn french_uses_de_for_a_million() {
        assert_eq!(ready(td_string!(Locale::fr, chat.member_count, count = 1_000_000u32)), "1000000 de membres");
    }
}
