//! Fuzz target `ws_frame`: any text a client might send on `/ws` goes through `ClientFrame::parse`.
//! It must never panic; what it accepts must be a JSON object naming that frame's `type`, and it
//! must read back unchanged once re-encoded; what it refuses gets a short sentence, never an echo
//! of the whole input.

#![no_main]

use app::api::ws::ClientFrame;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Refusals go back to the client in an `error` frame: they name the problem, not the payload.
const LONGEST_REFUSAL: usize = 300;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match ClientFrame::parse(text) {
        Ok(frame) => {
            let sent: Value = serde_json::from_str(text).expect("an accepted frame is JSON");
            let kind = sent.get("type").and_then(Value::as_str).expect("an accepted frame has a string type");
            let encoded = serde_json::to_string(&frame).expect("client frames serialise");
            let reencoded: Value = serde_json::from_str(&encoded).expect("our own encoding is JSON");
            assert_eq!(reencoded["type"], kind, "the frame keeps its type: {text:?} became {encoded}");
            let again = ClientFrame::parse(&encoded)
                .unwrap_or_else(|e| panic!("re-encoded frame {encoded} (from {text:?}) is refused: {e}"));
            assert_eq!(again, frame, "round trip changed the frame: {text:?} -> {encoded}");
        }
        Err(message) => {
            assert!(!message.is_empty(), "a refusal says why");
            assert!(
                message.chars().count() <= LONGEST_REFUSAL,
                "refusal of {} chars for {text:?}: {message}",
                message.chars().count()
            );
        }
    }
});
