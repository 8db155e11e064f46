// After the server restarts, the page says it is reconnecting, then catches up: nothing lost,
// nothing shown twice. Also a phone-size run.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { PASSWORD, hydrated, shot, signUp, startHearth, startStack, api } from './harness.mjs';

const stack = await startStack();
const { smtp, browser } = stack;

test('a restart shows "Reconnecting…" and loses nothing', async () => {
  const alice = await (await browser.newContext()).newPage();
  await signUp(alice, stack.hearth, smtp, 'alice');
  await signUp(await (await browser.newContext()).newPage(), stack.hearth, smtp, 'bob');
  const bob = await api(stack.hearth, '/user/login', { username: 'bob', password: PASSWORD });
  const { chatID } = await api(stack.hearth, '/chat/create-chat', { session_token: bob.access_token, receiver: 'alice' });
  await api(stack.hearth, '/chat/post-message', { session_token: bob.access_token, chatID, text: 'before the restart' });
  await alice.goto(`${stack.hearth.base}/chat/${chatID}`);
  await alice.getByRole('log').getByText('before the restart').waitFor();

  const { port, dataDir } = stack.hearth;
  await stack.hearth.stop();
  await alice.getByRole('status').getByText('Reconnecting…').waitFor();
  await shot(alice, 'reconnecting');
  stack.hearth = await startHearth({ smtpUrl: smtp.url, dataDir, port });
  const again = await api(stack.hearth, '/user/login', { username: 'bob', password: PASSWORD });
  for (const text of ['while you were away 1', 'while you were away 2']) {
    await api(stack.hearth, '/chat/post-message', { session_token: again.access_token, chatID, text });
  }
  await alice.getByRole('log').getByText('while you were away 2').waitFor({ timeout: 20_000 });
  await alice.getByRole('status').getByText('Reconnecting…').waitFor({ state: 'detached' });
  for (const text of ['before the restart', 'while you were away 1', 'while you were away 2']) {
    assert.equal(await alice.getByRole('log').getByText(text, { exact: true }).count(), 1, text);
  }
  // And what Alice sends now arrives once.
  await alice.getByRole('textbox', { name: 'Message', exact: true }).fill('back online');
  await alice.keyboard.press('Enter');
  await alice.getByRole('log').getByText('back online').waitFor();
  const history = await api(stack.hearth, '/chat/messages', { session_token: again.access_token, chatID });
  assert.deepEqual(
    history.messages.map((m) => m.message),
    ['before the restart', 'while you were away 1', 'while you were away 2', 'back online'],
  );
});

test('at phone width one pane shows at a time, with a way back', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await signUp(page, stack.hearth, smtp, 'phoebe');
  const phoebe = await api(stack.hearth, '/user/login', { username: 'phoebe', password: PASSWORD });
  const { chatID } = await api(stack.hearth, '/chat/create-chat', { session_token: phoebe.access_token, receiver: 'alice' });
  await page.goto(`${stack.hearth.base}/chat`);
  await hydrated(page);
  await page.getByRole('link', { name: /alice/ }).click();
  await page.waitForURL(`**/chat/${chatID}`);
  assert.equal(await page.getByRole('complementary', { name: 'Chats' }).isVisible(), false);
  await page.getByRole('textbox', { name: 'Message', exact: true }).fill('from my phone');
  await page.keyboard.press('Enter');
  await page.getByRole('log').getByText('from my phone').waitFor();
  await shot(page, 'phone-conversation');
  await page.getByRole('button', { name: 'Back to chats' }).click();
  await page.getByRole('complementary', { name: 'Chats' }).waitFor();
  await shot(page, 'phone-list');
});
