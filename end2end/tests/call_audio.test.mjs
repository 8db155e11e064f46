// With LiveKit configured, joining a call loads the bundled livekit-client (from Hearth itself,
// no CDN) and it dials LiveKit's signalling with the member's own token. A stand-in LiveKit
// endpoint records the attempt; real media needs a real LiveKit server.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import { PASSWORD, hydrated, signUp, startStack, api } from './harness.mjs';

const attempts = [];
const livekit = http.createServer((_, response) => response.writeHead(404).end());
livekit.on('upgrade', (request, socket) => {
  attempts.push(new URL(request.url, 'http://stand-in'));
  socket.destroy();
});
await new Promise((resolve) => livekit.listen(0, '127.0.0.1', resolve));
const livekitUrl = `ws://127.0.0.1:${livekit.address().port}`;

const { smtp, hearth, browser } = await startStack({
  env: { LIVEKIT_URL: livekitUrl, LIVEKIT_API_KEY: 'e2e-key', LIVEKIT_API_SECRET: 'e2e-secret-e2e-secret-e2e-secret-00' },
});
test.after(() => livekit.close());

function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
}

test('answering a call dials LiveKit with the member\'s own token', async () => {
  const alice = await (await browser.newContext()).newPage();
  const bob = await (await browser.newContext()).newPage();
  const scripts = [];
  for (const page of [alice, bob]) page.on('request', (r) => scripts.push(r.url()));
  await signUp(alice, hearth, smtp, 'alice');
  await signUp(bob, hearth, smtp, 'bob');
  const tokens = await api(hearth, '/user/login', { username: 'alice', password: PASSWORD });
  const { chatID } = await api(hearth, '/chat/create-chat', { session_token: tokens.access_token, receiver: 'bob' });
  for (const page of [alice, bob]) {
    await page.goto(`${hearth.base}/chat/${chatID}`);
    await hydrated(page);
  }
  const header = (page) => page.locator('.conversation-head');
  await header(alice).getByRole('button', { name: 'Call', exact: true }).click();
  await header(bob).getByRole('button', { name: 'Answer' }).click();
  await header(bob).getByText('In call').waitFor();
  await header(bob).locator('.call-audio').getByText(/audio/).waitFor();

  for (let i = 0; i < 100 && attempts.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(attempts.length >= 2, `both members dialled LiveKit (${attempts.length})`);
  const identities = new Set();
  for (const attempt of attempts) {
    assert.match(attempt.pathname, /^\/rtc(\/v1)?$/);
    const token = claims(attempt.searchParams.get('access_token'));
    assert.equal(token.iss, 'e2e-key');
    assert.match(token.video.room, /^hearth-call-/);
    assert.equal(token.video.roomJoin, true);
    identities.add(token.name);
  }
  assert.deepEqual([...identities].sort(), ['alice', 'bob']);
  assert.ok(scripts.some((u) => u === `${hearth.base}/pkg/call-audio.js`), 'the LiveKit client came from Hearth');
  const livekitHttp = livekitUrl.replace('ws:', 'http:');
  const elsewhere = scripts.filter((u) => ![hearth.base, livekitUrl, livekitHttp, 'data:'].some((origin) => u.startsWith(origin)));
  assert.deepEqual(elsewhere, [], 'nothing from elsewhere');
});
