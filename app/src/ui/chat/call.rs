//! Voice calls in the chat screen: ring, answer, decline and hang up, with the call's state live
//! for every member (from the call frames on `/ws`), and a banner for calls ringing elsewhere.

use leptos::prelude::*;

use crate::api::ids::Id;
use crate::api::ws::ClientFrame;
use crate::i18n::t;
use crate::locale::use_i18n;
use crate::text;
use crate::tr;
use crate::ui::live::LiveLink;
use crate::ui::store::{Audio, CallState, ChatStore};

/// The call controls in a conversation's header.
#[component]
pub fn CallControls(chat_id: i64) -> impl IntoView {
    let store = expect_context::<ChatStore>();
    let link = expect_context::<LiveLink>();
    let i18n = use_i18n();
    let call = move || store.calls.with(|c| c.get(&chat_id).cloned());
    let ring = move |_| link.send(&ClientFrame::CallInvite { chat_id: Id(chat_id) });
    let hang_up = move |_| link.send(&ClientFrame::CallEnd { chat_id: Id(chat_id) });
    let decline = move |_| link.send(&ClientFrame::CallDecline { chat_id: Id(chat_id) });
    view! {
        <div class="call-controls">
            {move || match call() {
                None => view! {
                    <button type="button" class="small" on:click=ring>{text!(i18n, chat.call)}</button>
                }.into_any(),
                Some(state) => {
                    let answer = {
                        let call_id = state.call_id.clone();
                        move |_| link.send(&ClientFrame::CallAccept { chat_id: Id(chat_id), call_id: call_id.clone() })
                    };
                    let can_answer = !state.joined;
                    let active = state.active;
                    view! {
                        <span class="call-status" role="status">{describe(state.clone())}</span>
                        {can_answer.then(|| view! {
                            <button type="button" class="small primary" on:click=answer>
                                {move || if active { tr!(i18n, chat.join_call) } else { tr!(i18n, chat.answer) }}
                            </button>
                        })}
                        {(can_answer && !state.active).then(|| view! {
                            <button type="button" class="small" on:click=decline>{text!(i18n, chat.decline)}</button>
                        })}
                        {(state.joined && state.active && state.livekit.is_some()).then(|| view! {
                            <span class="call-audio">{move || match store.audio.get() {
                                Audio::Connecting => tr!(i18n, chat.audio_connecting),
                                Audio::On => tr!(i18n, chat.audio_on),
                                Audio::Failed(why) => tr!(
                                    i18n,
                                    chat.audio_failed,
                                    reason = why.unwrap_or_else(|| tr!(i18n, chat.audio_unreachable))
                                ),
                                Audio::Off => String::new(),
                            }}</span>
                        })}
                        {state.joined.then(|| view! {
                            <button type="button" class="small danger" on:click=hang_up>{text!(i18n, chat.hang_up)}</button>
                        })}
                    }.into_any()
                }
            }}
        </div>
    }
}

/// What the call looks like to this person (who can answer or join it unless they are in it).
fn describe(call: CallState) -> impl IntoView {
    let i18n = use_i18n();
    match (call.active, call.joined) {
        (false, true) => text!(i18n, chat.calling).into_any(),
        (false, false) => t!(i18n, chat.is_calling, name = call.caller, <person> = <bdi/>).into_any(),
        (true, true) => text!(i18n, chat.in_call).into_any(),
        (true, false) => text!(i18n, chat.call_in_progress).into_any(),
    }
}

/// Calls ringing for this person in chats other than the open one.
#[component]
pub fn IncomingCalls() -> impl IntoView {
    let store = expect_context::<ChatStore>();
    let link = expect_context::<LiveLink>();
    let i18n = use_i18n();
    let ringing = move || {
        let open = store.open_chat.get();
        store.calls.with(|calls| {
            calls
                .iter()
                .filter(|(chat, call)| Some(**chat) != open && !call.active && !call.joined)
                .map(|(chat, call)| (*chat, call.clone()))
                .collect::<Vec<_>>()
        })
    };
    view! {
        <For each=ringing key=|(chat, call)| (*chat, call.call_id.clone()) let:item>
            {
                let (chat_id, call) = item;
                let call_id = call.call_id.clone();
                view! {
                    <div class="incoming-call" role="alert">
                        <span>{t!(i18n, chat.is_calling, name = call.caller.clone(), <person> = <bdi/>)}</span>
                        <a href=format!("/chat/{chat_id}")>{text!(i18n, chat.open_chat)}</a>
                        <button type="button" class="small primary" on:click=move |_| {
                            link.send(&ClientFrame::CallAccept { chat_id: Id(chat_id), call_id: call_id.clone() })
                        }>{text!(i18n, chat.answer)}</button>
                        <button type="button" class="small" on:click=move |_| link.send(&ClientFrame::CallDecline { chat_id: Id(chat_id) })>
                            {text!(i18n, chat.decline)}
                        </button>
                    </div>
                }
            }
        </For>
    }
}

/// Joins the audio of the call this person is in (when LiveKit is configured), and leaves it
/// when the call ends, wherever they are in the app.
#[component]
pub fn CallAudio() -> impl IntoView {
    let store = expect_context::<ChatStore>();
    let wanted = Memo::new(move |_| {
        store.calls.with(|calls| calls.values().find(|c| c.joined && c.active).and_then(|c| c.livekit.clone()))
    });
    Effect::new(move |_| {
        let target = wanted.get();
        leptos::task::spawn_local(async move {
            match target {
                Some((url, token)) => {
                    store.audio.set(Audio::Connecting);
                    match audio::join(&url, &token).await {
                        Ok(()) => store.audio.set(Audio::On),
                        Err(why) => store.audio.set(Audio::Failed(why)),
                    }
                }
                None => {
                    audio::leave().await;
                    store.audio.set(Audio::Off);
                }
            }
        });
    });
}

/// The bridge to /pkg/call-audio.js (livekit-client), imported on first use.
mod audio {
    #[cfg(feature = "hydrate")]
    #[wasm_bindgen::prelude::wasm_bindgen(inline_js = "
        export function call_audio(action, url, token) {
            return import('/pkg/call-audio.js').then((m) => action === 'join' ? m.join(url, token) : m.leave());
        }")]
    extern "C" {
        fn call_audio(action: &str, url: &str, token: &str) -> js_sys::Promise;
    }

    /// Joins the call's audio; a failure carries the audio library's reason, if it gave one.
    pub async fn join(url: &str, token: &str) -> Result<(), Option<String>> {
        #[cfg(feature = "hydrate")]
        {
            wasm_bindgen_futures::JsFuture::from(call_audio("join", url, token))
                .await
                .map(|_| ())
                .map_err(|e| e.as_string())
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (url, token);
            Ok(())
        }
    }

    pub async fn leave() {
        #[cfg(feature = "hydrate")]
        let _ = wasm_bindgen_futures::JsFuture::from(call_audio("leave", "", "")).await;
    }
}
