//! The open chat: its history (older pages load as you scroll up), live messages grouped by
//! sender and day, typing, edit and delete of one's own messages, and the composer.

use leptos::html::{Div, Textarea};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_i18n::Locale as _;
use leptos_router::hooks::use_navigate;

use super::list::initial;
use super::Overlay;
use crate::api::chats::{
    mark_read, message_history, messages, save_message, unsave_message, MessageEdit, MESSAGE_MAX_CHARS,
};
use crate::api::ids::Id;
use crate::api::ws::{ClientFrame, Reaction, ReplyPreview, REPLY_PREVIEW_CHARS};
use crate::i18n::t;
use crate::locale::{use_i18n, Locale};
use crate::text;
use crate::tr;
use crate::ui::browser;
use crate::ui::live::LiveLink;
use crate::ui::session::use_session;
use crate::ui::store::{ChatStore, Notice, UiMessage};

const PAGE: i64 = 50;
/// Messages from one person within this many minutes share one header.
const GROUP_MINUTES: f64 = 5.0;

#[component]
pub fn Conversation() -> impl IntoView {
    let store = expect_context::<ChatStore>();
    let i18n = use_i18n();
    // Only a different chat rebuilds the view (setting the same one again must not).
    let open = Memo::new(move |_| store.open_chat.get());
    view! {
        <main class="conversation" aria-label=text!(i18n, chat.conversation)>
            {move || match open.get() {
                Some(chat_id) => view! { <OpenChat chat_id=chat_id/> }.into_any(),
                None => {
                    view! {
                        <div class="empty center">
                            <p>{text!(i18n, chat.pick_a_chat)}</p>
                        </div>
                    }
                        .into_any()
                }
            }}
        </main>
    }
}

async fn load_older(store: ChatStore, chat_id: i64) {
    let session = use_session();
    let before = store.conversations.with_untracked(|c| c.get(&chat_id).and_then(|conv| conv.first_id()));
    let page = session.call(move |token| messages(token, Id(chat_id), Some(PAGE), before.map(Id), None)).await;
    match page {
        Ok(reply) => {
            let full = reply.messages.len() as i64 == PAGE;
            store.add_history(chat_id, reply.messages, Some(full));
        }
        Err(e) => store.notice.set(Some(Notice::Failed(e))),
    }
}

#[component]
fn OpenChat(chat_id: i64) -> impl IntoView {
    let store = expect_context::<ChatStore>();
    let link = expect_context::<LiveLink>();
    let overlay = expect_context::<RwSignal<Overlay>>();
    let i18n = use_i18n();
    let session = use_session();
    let navigate = use_navigate();
    let log = NodeRef::<Div>::new();
    let stick_to_bottom = RwSignal::new(true);
    // The newest message the person has had on screen; what came after it waits behind the pill.
    let seen_up_to = RwSignal::new(None::<i64>);
    let last_id = move || store.conversations.with(|c| c.get(&chat_id).and_then(|conv| conv.last_id()));
    let unseen_below = Memo::new(move |_| {
        let seen = seen_up_to.get();
        store.conversations.with(|c| {
            c.get(&chat_id).map_or(0, |conv| conv.messages.iter().filter(|m| m.id.is_some() && m.id > seen).count())
        })
    });
    let mark_seen = move || seen_up_to.set(untrack(last_id));
    let loading_older = RwSignal::new(false);
    let editing = RwSignal::new(None::<i64>);
    // The message the composer's next message answers.
    let replying = RwSignal::new(None::<ReplyPreview>);
    // Where the person stopped reading: as many of others' messages back from the end as the
    // chat had unread when it opened (it is marked read right after).
    let unread_at_open =
        store.chats.with_untracked(|c| c.iter().find(|c| c.chat_id == chat_id).map_or(0, |c| c.unread));
    let first_unread = move |messages: &[UiMessage]| {
        let me = store.me.get_untracked();
        let back = usize::try_from(unread_at_open).ok()?.checked_sub(1)?;
        messages.iter().rev().filter(|m| m.username != me && m.id.is_some()).nth(back).and_then(|m| m.id)
    };

    let name = move || {
        store.chats.with(|c| {
            c.iter()
                .chain(store.archived.get().iter())
                .find(|c| c.chat_id == chat_id)
                .map(|c| (c.name.clone(), c.kind.clone()))
        })
    };
    let title = move || name().map(|(n, _)| n).unwrap_or_else(|| tr!(i18n, chat.chat));
    let other_online =
        move || matches!(name(), Some((n, k)) if k == "private" && store.online.with(|o| o.contains(&n)));
    let conversation = move || store.conversations.with(|c| c.get(&chat_id).cloned().unwrap_or_default());

    // First visit: the latest page of history.
    Effect::new(move |_| {
        if !store.conversations.with_untracked(|c| c.get(&chat_id).is_some_and(|conv| conv.loaded)) {
            spawn_local(load_older(store, chat_id));
        }
    });
    // Read up to the newest message while the chat is open.
    Effect::new(move |previous: Option<Option<i64>>| {
        let last = store.conversations.with(|c| c.get(&chat_id).and_then(|conv| conv.last_id()));
        if let Some(last) = last.filter(|_| previous != Some(last)) {
            store.chats.update(|chats| chats.iter_mut().filter(|c| c.chat_id == chat_id).for_each(|c| c.unread = 0));
            spawn_local(async move {
                let _ = session.call(move |token| mark_read(token, Id(chat_id), Id(last))).await;
            });
        }
        last
    });
    // New messages keep the view at the bottom, unless the person scrolled up to read (then the
    // pill counts them).
    Effect::new(move |_| {
        let count = store.conversations.with(|c| c.get(&chat_id).map(|conv| conv.messages.len()).unwrap_or(0));
        if count == 0 {
            return;
        }
        if stick_to_bottom.get_untracked() {
            scroll_to_bottom(log);
            mark_seen();
        }
    });
    let on_scroll = move |_| {
        let Some(element) = log.get_untracked() else { return };
        let near_bottom = element.scroll_top() + element.client_height() >= element.scroll_height() - 80;
        stick_to_bottom.set(near_bottom);
        if near_bottom {
            mark_seen();
        }
        let has_older = store.conversations.with_untracked(|c| c.get(&chat_id).is_some_and(|conv| conv.has_older));
        if element.scroll_top() < 80 && has_older && !loading_older.get_untracked() {
            loading_older.set(true);
            let height_before = element.scroll_height();
            spawn_local(async move {
                load_older(store, chat_id).await;
                // Keep the message that was on screen where it was.
                request_animation_frame(move || {
                    if let Some(element) = log.get_untracked() {
                        element.set_scroll_top(element.scroll_top() + element.scroll_height() - height_before);
                    }
                    loading_older.set(false);
                });
            });
        }
    };
    let typing_line = move || {
        let names: Vec<String> = store
            .typing
            .with(|t| t.get(&chat_id).map(|l| l.iter().map(|(n, _)| n.clone()).collect()).unwrap_or_default());
        match names.as_slice() {
            [] => ().into_any(),
            [name] => t!(i18n, chat.typing_one_person, name = name.clone(), <person> = <bdi/>).into_any(),
            [first, second] => t!(
                i18n,
                chat.typing_two_people,
                first = first.clone(),
                second = second.clone(),
                <person> = <bdi/>,
                <other> = <bdi/>
            )
            .into_any(),
            _ => text!(i18n, chat.typing_several).into_any(),
        }
    };
    let rows = move || {
        let conv = conversation();
        let first_unread = first_unread(&conv.messages);
        let mut previous: Option<UiMessage> = None;
        let mut rows = Vec::new();
        for message in conv.messages {
            let unread_starts = message.id.is_some() && message.id == first_unread;
            let new_day = !message.timestamp.is_empty()
                && previous.as_ref().is_none_or(|p| {
                    !p.timestamp.is_empty()
                        && browser::local_day(&p.timestamp) != browser::local_day(&message.timestamp)
                });
            let grouped = !new_day
                && !unread_starts
                && previous.as_ref().is_some_and(|p| {
                    p.username == message.username
                        && (message.timestamp.is_empty()
                            || (browser::parse_time(&message.timestamp) - browser::parse_time(&p.timestamp))
                                < GROUP_MINUTES * 60_000.0)
                });
            rows.push((message.clone(), new_day, grouped, unread_starts));
            previous = Some(message);
        }
        rows
    };
    view! {
        <header class="conversation-head">
            <button type="button" class="back" aria-label=text!(i18n, chat.back_to_chats) on:click=move |_| navigate("/chat", Default::default())>
                "←"
            </button>
            <span class="avatar" aria-hidden="true">
                {move || initial(&title())}
                <span class="presence" class:online=other_online></span>
            </span>
            <h1 class="chat-title" dir="auto">{title}</h1>
            <span class="visually-hidden">{move || if other_online() { tr!(i18n, chat.online) } else { String::new() }}</span>
            <super::call::CallControls chat_id=chat_id/>
            <button
                type="button"
                class="small"
                aria-expanded=move || (overlay.get() == Overlay::Details).to_string()
                on:click=move |_| overlay.update(|o| *o = if *o == Overlay::Details { Overlay::None } else { Overlay::Details })
            >
                {text!(i18n, chat.details)}
            </button>
        </header>
        <div class="log" node_ref=log on:scroll=on_scroll role="log" aria-live="polite" aria-label=text!(i18n, chat.messages) tabindex="0">
            <Show when=move || loading_older.get()>
                <p class="quiet center">{text!(i18n, chat.loading_earlier)}</p>
            </Show>
            <Show when=move || { let c = conversation(); c.loaded && c.messages.is_empty() }>
                <p class="empty center">{text!(i18n, chat.say_hello)}</p>
            </Show>
            <Show when=move || !conversation().loaded>
                <div class="skeleton" aria-hidden="true"><span></span><span></span><span></span></div>
            </Show>
            <For
                each=rows
                key=|(m, day, grouped, unread)| (m.render_key(), *day, *grouped, *unread)
                children=move |(message, new_day, grouped, unread_starts)| {
                    view! {
                        <MessageRow
                            chat_id=chat_id
                            message=message
                            new_day=new_day
                            grouped=grouped
                            unread_starts=unread_starts
                            editing=editing
                            replying=replying
                        />
                    }
                }
            />
        </div>
        <Show when=move || { unseen_below.get() > 0 }>
            <button type="button" class="pill" on:click=move |_| { scroll_to_bottom(log); mark_seen(); stick_to_bottom.set(true); }>
                {text!(i18n, chat.new_messages_below, count = unseen_below.get())}
            </button>
        </Show>
        <p class="typing" aria-live="polite">{typing_line}</p>
        <Composer chat_id=chat_id link=link replying=replying/>
    }
}

fn scroll_to_bottom(log: NodeRef<Div>) {
    request_animation_frame(move || {
        if let Some(element) = log.get_untracked() {
            element.set_scroll_top(element.scroll_height());
        }
    });
}

#[component]
fn MessageRow(
    chat_id: i64,
    message: UiMessage,
    new_day: bool,
    grouped: bool,
    unread_starts: bool,
    editing: RwSignal<Option<i64>>,
    replying: RwSignal<Option<ReplyPreview>>,
) -> impl IntoView {
    let store = expect_context::<ChatStore>();
    let link = expect_context::<LiveLink>();
    let i18n = use_i18n();
    let mine = message.username == store.me.get_untracked();
    let id = message.id;
    let timestamp = message.timestamp.clone();
    let draft = RwSignal::new(message.text.clone());
    let is_editing = move || id.is_some() && editing.get() == id;
    let save = move || {
        let text = draft.get_untracked();
        if let (Some(id), false) = (id, text.trim().is_empty()) {
            link.send(&ClientFrame::EditMsg { chat_id: Id(chat_id), message_id: Id(id), text });
        }
        editing.set(None);
    };
    let delete = move |_| {
        if let Some(id) = id {
            if browser::confirm(&tr!(i18n, chat.confirm_delete)) {
                link.send(&ClientFrame::DeleteMsg { chat_id: Id(chat_id), message_id: Id(id) });
            }
        }
    };
    let retry = {
        let (nonce, text) = (message.nonce.clone(), message.text.clone());
        let reply_to = message.reply_to.as_ref().map(|r| Id(r.message_id));
        move |_| {
            if let Some(nonce) = nonce.clone() {
                link.send(&ClientFrame::PostMsg {
                    chat_id: Id(chat_id),
                    text: text.clone(),
                    nonce: Some(nonce),
                    reply_to,
                });
            }
        }
    };
    let reply = {
        let preview = ReplyPreview {
            message_id: id.unwrap_or_default(),
            username: message.username.clone(),
            message: message.text.chars().take(REPLY_PREVIEW_CHARS).collect(),
            deleted: false,
        };
        move |_| {
            replying.set(Some(preview.clone()));
            browser::focus("composer-input");
        }
    };
    let picking = RwSignal::new(false);
    let react = move |emoji: &str, on: bool| {
        if let Some(id) = id {
            let (chat_id, message_id, emoji) = (Id(chat_id), Id(id), emoji.to_string());
            link.send(&if on {
                ClientFrame::AddReaction { chat_id, message_id, emoji }
            } else {
                ClientFrame::RemoveReaction { chat_id, message_id, emoji }
            });
        }
    };
    let me = store.me.get_untracked();
    let pinned = message.pinned;
    let toggle_pin = move |_| {
        if let Some(id) = id {
            let (chat_id, message_id) = (Id(chat_id), Id(id));
            link.send(&if pinned {
                ClientFrame::UnpinMessage { chat_id, message_id }
            } else {
                ClientFrame::PinMessage { chat_id, message_id }
            });
        }
    };
    let session = use_session();
    let is_saved = move || id.is_some_and(|id| store.saved.with(|s| s.contains(&id)));
    let toggle_saved = move |_| {
        let Some(id) = id else { return };
        let save = !is_saved();
        spawn_local(async move {
            let done = if save {
                session.call(move |token| save_message(token, Id(chat_id), Id(id), None)).await.map(|_| ())
            } else {
                session.call(move |token| unsave_message(token, Id(chat_id), Id(id))).await.map(|_| ())
            };
            match done {
                Ok(()) => store.saved.update(|s| {
                    if save {
                        s.insert(id);
                    } else {
                        s.remove(&id);
                    }
                }),
                Err(e) => store.notice.set(Some(Notice::Failed(e))),
            }
        });
    };
    // Earlier versions, fetched when the person asks for them.
    let versions = RwSignal::new(None::<Vec<MessageEdit>>);
    let show_versions = move |_| {
        if versions.get_untracked().is_some() {
            versions.set(None);
            return;
        }
        let Some(id) = id else { return };
        spawn_local(async move {
            match session.call(move |token| message_history(token, Id(chat_id), Id(id), None, None)).await {
                Ok(reply) => versions.set(Some(reply.edits)),
                Err(e) => store.notice.set(Some(Notice::Failed(e))),
            }
        });
    };
    // Times follow the page's language, and change with it.
    let in_language = {
        let timestamp = timestamp.clone();
        move |format: fn(&str, &str) -> String| {
            let timestamp = timestamp.clone();
            move || {
                let locale: Locale = i18n.get_locale();
                if timestamp.is_empty() {
                    String::new()
                } else {
                    format(&timestamp, locale.as_str())
                }
            }
        }
    };
    view! {
        {new_day.then(|| view! { <div class="day" role="separator">{in_language(browser::day_label)}</div> })}
        {unread_starts.then(|| view! { <div class="unread-divider" role="separator">{text!(i18n, chat.new_messages)}</div> })}
        <article class="message" class:mine=mine class:grouped=grouped class:pending=message.pending id=id.map(message_anchor)>
            {(!grouped).then(|| view! {
                <header>
                    <bdi class="author">{message.username.clone()}</bdi>
                    <time datetime=timestamp.clone() title=in_language(browser::exact_time) tabindex="0">{in_language(browser::relative_time)}</time>
                </header>
            })}
            {message.reply_to.clone().filter(|_| !message.deleted).map(|quoted| view! { <Quote quoted=quoted/> })}
            {if message.deleted {
                view! { <p class="quiet">{text!(i18n, chat.message_deleted)}</p> }.into_any()
            } else {
                view! {
                    <Show
                        when=is_editing
                        fallback={
                            let text = message.text.clone();
                            move || view! { <p class="text" dir="auto">{text.clone()}</p> }
                        }
                    >
                        <textarea
                            class="edit"
                            dir="auto"
                            aria-label=text!(i18n, chat.edit_message)
                            prop:value=move || draft.get()
                            on:input=move |ev| draft.set(event_target_value(&ev))
                            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                                if ev.key() == "Enter" && !ev.shift_key() { ev.prevent_default(); save(); }
                                if ev.key() == "Escape" { ev.stop_propagation(); editing.set(None); }
                            }
                        ></textarea>
                        <p class="hint">{text!(i18n, chat.edit_hint)}</p>
                    </Show>
                }
                    .into_any()
            }}
            {(!message.reactions.is_empty() && !message.deleted).then(|| {
                let reactions = message.reactions.clone();
                view! {
                    <div class="reactions" role="group" aria-label=text!(i18n, chat.reactions)>
                        {reactions.into_iter().map(|reaction| {
                            let Reaction { emoji, count, users } = reaction;
                            let pressed = users.contains(&me);
                            let label = tr!(i18n, chat.reacted_with, names = isolate_names(&users), emoji = emoji.clone());
                            let toggle = emoji.clone();
                            view! {
                                <button type="button" class="reaction" class:mine=pressed aria-pressed=pressed.to_string() title=label.clone() aria-label=label
                                    on:click=move |_| react(&toggle, !pressed)>
                                    <span aria-hidden="true">{emoji}</span>" "<span class="count">{count}</span>
                                </button>
                            }
                        }).collect_view()}
                    </div>
                }
            })}
            {move || versions.get().map(|edits| view! {
                <div class="versions">
                    <p class="hint">{text!(i18n, chat.earlier_versions)}</p>
                    <ol>
                        {edits.into_iter().map(|edit| {
                            let (at, shown) = (edit.edited_at.clone(), edit.edited_at);
                            let locale = move || i18n.get_locale().as_str().to_string();
                            view! {
                                <li>
                                    <time datetime=at>{move || browser::exact_time(&shown, &locale())}</time>
                                    " "<span class="text" dir="auto">{edit.previous}</span>
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                </div>
            })}
            <footer>
                {pinned.then(|| view! { <span class="pinned">{text!(i18n, chat.pinned)}</span> })}
                {message.edited.then(|| view! {
                    <button type="button" class="link quiet" aria-expanded=move || versions.with(Option::is_some).to_string()
                        title=text!(i18n, chat.show_earlier_versions) on:click=show_versions>
                        {text!(i18n, chat.edited)}
                    </button>
                })}
                {(message.pending && !message.failed).then(|| view! { <span class="quiet">{text!(i18n, chat.sending)}</span> })}
                {message.failed.then(|| view! {
                    <span class="error-text">{text!(i18n, chat.not_sent)}" "</span>
                    <button type="button" class="link" on:click=retry.clone()>{text!(i18n, chat.retry)}</button>
                })}
                {(id.is_some() && !message.deleted).then(|| view! {
                    <span class="actions">
                        <button type="button" class="link" on:click=reply.clone()>{text!(i18n, chat.reply)}</button>
                        <button type="button" class="link" aria-expanded=move || picking.get().to_string() on:click=move |_| picking.update(|p| *p = !*p)>
                            {text!(i18n, chat.react)}
                        </button>
                        <button type="button" class="link" aria-pressed=move || is_saved().to_string() on:click=toggle_saved>
                            {move || if is_saved() { tr!(i18n, chat.saved_one) } else { tr!(i18n, chat.save) }}
                        </button>
                        <button type="button" class="link" on:click=toggle_pin>
                            {move || if pinned { tr!(i18n, chat.unpin) } else { tr!(i18n, chat.pin) }}
                        </button>
                        {mine.then(|| view! {
                            <button type="button" class="link" on:click=move |_| { draft.set(draft.get_untracked()); editing.set(id); }>{text!(i18n, chat.edit)}</button>
                            <button type="button" class="link" on:click=delete>{text!(i18n, chat.delete)}</button>
                        })}
                    </span>
                })}
            </footer>
            <Show when=move || picking.get()>
                <div class="quick-reactions" role="group" aria-label=text!(i18n, chat.add_reaction)>
                    {QUICK_REACTIONS.iter().map(|emoji| view! {
                        <button type="button" class="reaction" on:click=move |_| { react(emoji, true); picking.set(false); }>{*emoji}</button>
                    }).collect_view()}
                </div>
            </Show>
        </article>
    }
}

/// The emoji offered one click away; any other comes with the full picker.
const QUICK_REACTIONS: [&str; 6] = ["👍", "❤️", "😂", "🎉", "😮", "🙏"];

/// The element id of a stored message, for jumping to it from a reply.
fn message_anchor(id: i64) -> String {
    format!("message-{id}")
}

/// Names joined for a sentence, each isolated so a right-to-left name cannot reorder the rest.
fn isolate_names(names: &[String]) -> String {
    names.iter().map(|n| format!("\u{2068}{n}\u{2069}")).collect::<Vec<_>>().join(", ")
}

/// The quoted start of the message a reply answers; a click shows that message, when loaded.
#[component]
fn Quote(quoted: ReplyPreview) -> impl IntoView {
    let i18n = use_i18n();
    let target = message_anchor(quoted.message_id);
    let jump = move |_| browser::reveal(&target);
    view! {
        <button type="button" class="quote" on:click=jump aria-label=text!(i18n, chat.go_to_original)>
            <bdi class="author">{quoted.username.clone()}</bdi>
            {if quoted.deleted {
                view! { <span class="quiet">{text!(i18n, chat.original_deleted)}</span> }.into_any()
            } else {
                view! { <span class="excerpt" dir="auto">{quoted.message.clone()}</span> }.into_any()
            }}
        </button>
    }
}

/// What was typed in each chat and not sent yet, so drafts survive switching chats and reloads.
/// Owned by the chat screen: a composer's own scope ends when another chat opens.
#[derive(Clone, Copy)]
pub struct Drafts(RwSignal<std::collections::HashMap<i64, String>>);

/// Where this browser keeps a person's drafts (`…​.<username>`); they never leave the browser.
const DRAFTS_KEY: &str = "hearth.drafts";

impl Drafts {
    pub fn provide(store: ChatStore) {
        let drafts = RwSignal::new(std::collections::HashMap::<i64, String>::new());
        // Whose saved drafts are loaded: saving waits for it, so an empty start never overwrites them.
        let loaded_for = RwSignal::new(None::<String>);
        Effect::new(move |_| {
            let me = store.me.get();
            if me.is_empty() || loaded_for.get_untracked().as_deref() == Some(me.as_str()) {
                return;
            }
            let saved: Option<std::collections::HashMap<i64, String>> =
                browser::load(&format!("{DRAFTS_KEY}.{me}")).and_then(|json| serde_json::from_str(&json).ok());
            // What was typed before the saved drafts were read wins over them.
            drafts.update(|d| {
                for (chat_id, text) in saved.unwrap_or_default() {
                    d.entry(chat_id).or_insert(text);
                }
            });
            loaded_for.set(Some(me));
        });
        Effect::new(move |_| {
            let Some(me) = loaded_for.get() else { return };
            let json = drafts.with(|d| {
                let typed: std::collections::HashMap<&i64, &String> = d.iter().filter(|(_, t)| !t.is_empty()).collect();
                (!typed.is_empty()).then(|| serde_json::to_string(&typed).ok()).flatten()
            });
            browser::store(&format!("{DRAFTS_KEY}.{me}"), json.as_deref());
        });
        provide_context(Drafts(drafts));
    }

    /// Signing out on purpose leaves nothing typed behind in this browser.
    pub fn forget(&self, username: &str) {
        self.0.set(Default::default());
        browser::store(&format!("{DRAFTS_KEY}.{username}"), None);
    }
}

#[component]
fn Composer(chat_id: i64, link: LiveLink, replying: RwSignal<Option<ReplyPreview>>) -> impl IntoView {
    let store = expect_context::<ChatStore>();
    let i18n = use_i18n();
    let input = NodeRef::<Textarea>::new();
    let Drafts(drafts) = expect_context::<Drafts>();
    let draft = move || drafts.with(|d| d.get(&chat_id).cloned().unwrap_or_default());
    let last_typing = StoredValue::new(0.0f64);
    let send = move || {
        let text = draft();
        if text.trim().is_empty() {
            return;
        }
        if text.chars().count() > MESSAGE_MAX_CHARS {
            store.notice.set(Some(Notice::TooLong { max: MESSAGE_MAX_CHARS }));
            return;
        }
        link.post(&store, chat_id, &text, replying.get_untracked());
        replying.set(None);
        drafts.update(|d| {
            d.remove(&chat_id);
        });
    };
    view! {
        {move || replying.get().map(|quoted| view! {
            <div class="replying">
                <span dir="auto">{tr!(i18n, chat.replying_to, name = isolate_names(std::slice::from_ref(&quoted.username)))}</span>
                <span class="excerpt" dir="auto">{quoted.message.clone()}</span>
                <button type="button" class="link" on:click=move |_| replying.set(None)>{text!(i18n, chat.cancel_reply)}</button>
            </div>
        })}
        <form class="composer" on:submit=move |ev| { ev.prevent_default(); send(); }>
            <label class="visually-hidden" for="composer-input">{text!(i18n, chat.message)}</label>
            <textarea
                id="composer-input"
                node_ref=input
                rows="1"
                dir="auto"
                placeholder=text!(i18n, chat.write_message)
                prop:value=draft
                on:input=move |ev| {
                    let value = event_target_value(&ev);
                    drafts.update(|d| { d.insert(chat_id, value); });
                    let now = browser::now_ms();
                    if now - last_typing.get_value() > 2000.0 {
                        last_typing.set_value(now);
                        link.send(&ClientFrame::Typing { chat_id: Id(chat_id) });
                    }
                }
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Enter" && !ev.shift_key() {
                        ev.prevent_default();
                        send();
                    }
                    if ev.key() == "Escape" && replying.get_untracked().is_some() {
                        ev.stop_propagation();
                        replying.set(None);
                    }
                }
            ></textarea>
            <button type="submit" class="primary">{text!(i18n, chat.send)}</button>
        </form>
    }
}
