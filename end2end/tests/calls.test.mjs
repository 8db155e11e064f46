// Voice calls in the browser: ring, answer, hang up, and decline, live in both people's pages.

import { test } from 'node:test';

import { PASSWORD, hydrated, shot, signUp, startStack, api } from './harness.mjs';

const { smtp, hearth, browser } = await startStack();

test('a call rings in the other browser, is answered, and ends for both', async () => {
  const alice = await (await browser.newContext()).newPage();
  const bob = await (await browser.newContext()).newPage();
  await signUp(alice, hearth, smtp, 'alice');
  await signUp(bob, hearth, smtp, 'bob');
  const tokens = await api(hearth, '/user/login', { username: 'alice', password: PASSWORD });
  const { chatID } = await api(hearth, '/chat/create-chat', { session_token: tokens.access_token, receiver: 'bob' });
  await alice.goto(`${hearth.base}/chat/${chatID}`);
  await hydrated(alice);
  await bob.goto(`${hearth.base}/chat`);
  await hydrated(bob);

  const header = (page) => page.locator('.conversation-head');
  await header(alice).getByRole('button', { name: 'Call', exact: true }).click();
  await header(alice).getByText('Calling…').waitFor();
  // Bob is elsewhere in the app: a banner rings.
  const banner = bob.getByRole('alert').filter({ hasText: 'alice is calling' });
  await banner.waitFor();
  await shot(bob, 'call-ringing');
  await banner.getByRole('button', { name: 'Answer' }).click();
  await header(alice).getByText('In call').waitFor();
  await bob.goto(`${hearth.base}/chat/${chatID}`);
  await header(bob).getByText('In call').waitFor();
  await shot(alice, 'call-active');

  await header(alice).getByRole('button', { name: 'Hang up' }).click();
  await header(alice).getByRole('button', { name: 'Call', exact: true }).waitFor();
  await header(bob).getByRole('button', { name: 'Call', exact: true }).waitFor();

  // Ringing again, and declined from the header this time.
  await header(bob).getByRole('button', { name: 'Call', exact: true }).click();
  await header(alice).getByText('bob is calling').waitFor();
  await header(alice).getByRole('button', { name: 'Decline' }).click();
  await header(bob).getByRole('button', { name: 'Call', exact: true }).waitFor();
  await header(alice).getByRole('button', { name: 'Call', exact: true }).waitFor();
});
