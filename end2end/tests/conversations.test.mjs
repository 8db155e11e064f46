// Replies and reactions between two people in real browsers, live both ways.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { shot, signUp, startStack, watchErrors } from './harness.mjs';

const { smtp, hearth, browser } = await startStack();

// Names in sentences are wrapped in Unicode isolates (U+2068 … U+2069), so a right-to-left name
// cannot reorder the sentence around it.
const ALICE_ALONE = /^\u2068alice\u2069 reacted with 🎉$/;

/** The message in the log that shows this text. */
function message(page, text) {
  return page.getByRole('log').getByRole('article').filter({ hasText: text });
}

test('a reply quotes the message it answers, and reactions show live for both people', async () => {
  const alice = await (await browser.newContext()).newPage();
  const bob = await (await browser.newContext()).newPage();
  const errors = [...watchErrors(alice), ...watchErrors(bob)];
  await signUp(alice, hearth, smtp, 'alice');
  await signUp(bob, hearth, smtp, 'bob');
  await alice.getByRole('button', { name: 'New chat' }).click();
  await alice.getByLabel('Chat with (username)').fill('bob');
  await alice.getByRole('button', { name: 'Start chat' }).click();
  await alice.waitForURL(/\/chat\/\d+$/);
  const aliceComposer = alice.getByRole('textbox', { name: 'Message', exact: true });
  await aliceComposer.fill('Who is in for lunch?');
  await alice.keyboard.press('Enter');
  await aliceComposer.fill('Noon, at the usual place.');
  await alice.keyboard.press('Enter');
  await message(alice, 'Noon, at the usual place.').waitFor();

  // Bob answers the first message.
  await bob.getByRole('link', { name: /alice/ }).click();
  const question = message(bob, 'Who is in for lunch?');
  await question.hover();
  await question.getByRole('button', { name: 'Reply' }).click();
  await bob.getByText(/Replying to \u2068?alice/).waitFor();
  const bobComposer = bob.getByRole('textbox', { name: 'Message', exact: true });
  assert.equal(await bobComposer.evaluate((e) => e === document.activeElement), true, 'the composer has the focus');
  await bobComposer.fill('Me!');
  await bob.keyboard.press('Enter');
  assert.equal(await bob.getByText(/Replying to/).count(), 0, 'the reply banner goes once sent');

  // Alice sees the answer with its quote, live; the quote takes her to the question.
  const answer = message(alice, 'Me!');
  const quote = answer.getByRole('button', { name: 'Go to the original message' });
  await quote.waitFor();
  assert.match(await quote.innerText(), /bob|alice/);
  assert.match(await quote.innerText(), /Who is in for lunch\?/);
  await quote.click();
  await alice.waitForFunction(() => document.activeElement?.textContent?.includes('Who is in for lunch?'));

  // Alice reacts to the answer; Bob sees it at once, and adds his own to the same emoji.
  await answer.hover();
  await answer.getByRole('button', { name: 'React' }).click();
  await answer.getByRole('group', { name: 'Add a reaction' }).getByRole('button', { name: '🎉' }).click();
  const bobsView = message(bob, 'Me!').getByRole('button', { name: ALICE_ALONE });
  await bobsView.waitFor();
  assert.equal(await bobsView.getAttribute('aria-pressed'), 'false');
  assert.match(await bobsView.innerText(), /🎉\s*1/);
  await bobsView.click();
  const both = (page) => message(page, 'Me!').getByRole('button', { name: /^\u2068alice\u2069, \u2068bob\u2069 reacted with 🎉$/ });
  await both(alice).waitFor();
  await both(bob).waitFor();
  assert.match(await both(alice).innerText(), /🎉\s*2/);
  assert.equal(await both(bob).getAttribute('aria-pressed'), 'true');
  await shot(alice, 'conversation-reply-and-reactions');

  // Taking it back shows on the other screen too; a reload keeps what is left.
  await both(bob).click();
  await message(alice, 'Me!').getByRole('button', { name: ALICE_ALONE }).waitFor();
  await bob.reload();
  await message(bob, 'Me!').getByRole('button', { name: ALICE_ALONE }).waitFor();
  await message(bob, 'Me!').getByRole('button', { name: 'Go to the original message' }).waitFor();
  assert.deepEqual(errors, []);
});

test('what is typed and not sent survives a reload, per chat, until it is sent', async () => {
  const carol = await (await browser.newContext()).newPage();
  const errors = watchErrors(carol);
  await signUp(carol, hearth, smtp, 'carol');
  const composer = carol.getByRole('textbox', { name: 'Message', exact: true });
  for (const who of ['alice', 'bob']) {
    const before = carol.url();
    await carol.getByRole('button', { name: 'New chat' }).click();
    await carol.getByLabel('Chat with (username)').fill(who);
    await carol.getByRole('button', { name: 'Start chat' }).click();
    await carol.waitForURL((url) => /\/chat\/\d+$/.test(url.pathname) && url.href !== before);
    await composer.fill(`A thought for ${who}, half`);
  }
  const bobChat = carol.url();
  await carol.reload();
  await carol.waitForFunction(() => document.body.dataset.hydrated === 'true');
  await carol.waitForFunction(() => document.querySelector('#composer-input')?.value === 'A thought for bob, half');
  await carol.getByRole('link', { name: /alice/ }).click();
  await carol.waitForFunction(() => document.querySelector('#composer-input')?.value === 'A thought for alice, half');
  await composer.press('End');
  await composer.pressSequentially(' and done');
  await carol.keyboard.press('Enter');
  await message(carol, 'A thought for alice, half and done').waitFor();
  await carol.reload();
  await carol.waitForFunction(() => document.body.dataset.hydrated === 'true');
  await message(carol, 'A thought for alice, half and done').waitFor();
  assert.equal(await composer.inputValue(), '', 'a sent draft is gone');
  await carol.goto(bobChat);
  await carol.waitForFunction(() => document.querySelector('#composer-input')?.value === 'A thought for bob, half');
  assert.deepEqual(errors, []);
});

test('a pin shows for everyone in the chat and in its details; earlier versions of an edited message can be read', async () => {
  const erin = await (await browser.newContext()).newPage();
  const frank = await (await browser.newContext()).newPage();
  const errors = [...watchErrors(erin), ...watchErrors(frank)];
  await signUp(erin, hearth, smtp, 'erin');
  await signUp(frank, hearth, smtp, 'frank');
  await erin.getByRole('button', { name: 'New chat' }).click();
  await erin.getByLabel('Chat with (username)').fill('frank');
  await erin.getByRole('button', { name: 'Start chat' }).click();
  await erin.waitForURL(/\/chat\/\d+$/);
  const composer = erin.getByRole('textbox', { name: 'Message', exact: true });
  await composer.fill('Standup moves to 9:15');
  await erin.keyboard.press('Enter');
  await composer.fill('Bring the release notes');
  await erin.keyboard.press('Enter');
  await frank.getByRole('link', { name: /erin/ }).click();

  // Frank pins the first message; Erin sees it marked at once, and in the chat's details.
  const standup = message(frank, 'Standup moves to 9:15');
  await standup.hover();
  await standup.getByRole('button', { name: 'Pin', exact: true }).click();
  await message(erin, 'Standup moves to 9:15').getByText('Pinned', { exact: true }).waitFor();
  await erin.getByRole('button', { name: 'Details' }).click();
  const details = erin.getByRole('complementary', { name: 'Chat details' });
  await details.getByRole('button', { name: /Standup moves to 9:15/ }).waitFor();
  await shot(erin, 'conversation-pinned');

  // Erin edits the other message twice; Frank opens its earlier versions.
  const notes = message(erin, 'Bring the release notes');
  await notes.hover();
  await notes.getByRole('button', { name: 'Edit', exact: true }).click();
  const editor = erin.getByRole('textbox', { name: 'Edit message' });
  await editor.fill('Bring the release notes and the demo');
  await erin.keyboard.press('Enter');
  const edited = message(frank, 'Bring the release notes and the demo');
  await edited.getByRole('button', { name: 'edited' }).click();
  await edited.getByText('Earlier versions').waitFor();
  await edited.locator('.versions').getByText('Bring the release notes', { exact: true }).waitFor();

  // Frank saves the pinned message for himself; it is in his Saved list, not in Erin's.
  await message(frank, 'Standup moves to 9:15').hover();
  await message(frank, 'Standup moves to 9:15').getByRole('button', { name: 'Save', exact: true }).click();
  await message(frank, 'Standup moves to 9:15').getByRole('button', { name: 'Saved', exact: true }).waitFor();
  await frank.getByRole('group', { name: 'Which chats' }).getByRole('button', { name: 'Saved' }).click();
  await frank.getByRole('navigation', { name: 'Saved' }).getByText('Standup moves to 9:15').waitFor();
  await erin.getByRole('group', { name: 'Which chats' }).getByRole('button', { name: 'Saved' }).click();
  await erin.getByText('Nothing saved yet. Save a message to find it here.').waitFor();
  await erin.getByRole('group', { name: 'Which chats' }).getByRole('button', { name: 'Chats' }).click();

  // Unpinned by Erin, gone from Frank's screen.
  await message(erin, 'Standup moves to 9:15').hover();
  await message(erin, 'Standup moves to 9:15').getByRole('button', { name: 'Unpin' }).click();
  await frank.waitForFunction(() => !document.querySelector('.log .pinned'));
  assert.deepEqual(errors, []);
});
