// Call audio through LiveKit: joins the call's room with the member's own token, publishes the
// microphone and plays everyone else's audio. Bundled by `cargo xtask bundle` into
// /pkg/call-audio.js and loaded by the chat screen only when a call with LiveKit starts.

import { Room, RoomEvent, Track } from 'livekit-client';

let room = null;

export async function join(url, token) {
  await leave();
  const joining = new Room({ adaptiveStream: true, dynacast: true });
  joining.on(RoomEvent.TrackSubscribed, (track) => {
    if (track.kind === Track.Kind.Audio) {
      const element = track.attach();
      element.dataset.hearthCallAudio = '';
      document.body.appendChild(element);
    }
  });
  joining.on(RoomEvent.TrackUnsubscribed, (track) => track.detach().forEach((element) => element.remove()));
  room = joining;
  await joining.connect(url, token);
  await joining.localParticipant.setMicrophoneEnabled(true);
}

export async function leave() {
  const leaving = room;
  room = null;
  document.querySelectorAll('[data-hearth-call-audio]').forEach((element) => element.remove());
  if (leaving) await leaving.disconnect();
}
