// Two and three people chatting live in real browsers.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { shot, signUp, startStack, watchErrors } from './harness.mjs';

const { smtp, hearth, browser } = await startStack();

test('two people sign up, start a chat, and see each other live', async () => {
  const alice = await (await browser.newContext()).newPage();
  const bob = await (await browser.newContext()).newPage();
  const errors = [...watchErrors(alice), ...watchErrors(bob)];
  await signUp(alice, hearth, smtp, 'alice');
  await signUp(bob, hearth, smtp, 'bob');
  await shot(alice, 'chat-empty');

  await alice.getByRole('button', { name: 'New chat' }).click();
  await alice.getByLabel('Chat with (username)').fill('bob');
  await alice.getByRole('button', { name: 'Start chat' }).click();
  await alice.waitForURL(/\/chat\/\d+$/);
  await alice.getByRole('textbox', { name: 'Message', exact: true }).fill('Hello Bob!');
  await alice.keyboard.press('Enter');
  await alice.getByRole('log').getByText('Hello Bob!').waitFor();

  // Bob sees the new chat appear with the message, then opens it.
  await bob.getByRole('link', { name: /alice, 1 unread/ }).click();
  await bob.getByRole('log').getByText('Hello Bob!').waitFor();
  // Opening a chat marks where the unread messages start.
  await bob.getByRole('separator').filter({ hasText: 'New messages' }).waitFor();
  await bob.getByRole('textbox', { name: 'Message', exact: true }).pressSequentially('Hi Alice');
  await alice.getByText('bob is typing…').waitFor();
  await bob.keyboard.press('Enter');
  await alice.getByRole('log').getByText('Hi Alice').waitFor();
  await shot(alice, 'chat-conversation');
  assert.deepEqual(errors, []);
});

test('a group of three talks, and members are listed', async () => {
  const pages = {};
  for (const name of ['carol', 'dave', 'erin']) {
    pages[name] = await (await browser.newContext()).newPage();
    await signUp(pages[name], hearth, smtp, name);
  }
  const { carol, dave, erin } = pages;
  await carol.getByRole('button', { name: 'New chat' }).click();
  await carol.getByLabel('Group name').fill('Trio');
  await carol.getByLabel('Members (usernames, comma-separated)').fill('dave, erin');
  await carol.getByRole('button', { name: 'Create group' }).click();
  await carol.waitForURL(/\/chat\/\d+$/);
  await carol.getByRole('textbox', { name: 'Message', exact: true }).fill('Welcome to Trio');
  await carol.keyboard.press('Enter');
  for (const page of [dave, erin]) {
    await page.getByRole('link', { name: /Trio/ }).click();
    await page.getByRole('log').getByText('Welcome to Trio').waitFor();
  }
  await erin.getByRole('textbox', { name: 'Message', exact: true }).fill('Glad to be here');
  await erin.keyboard.press('Enter');
  await carol.getByRole('log').getByText('Glad to be here').waitFor();
  await dave.getByRole('log').getByText('Glad to be here').waitFor();

  await dave.getByRole('button', { name: 'Details' }).click();
  const members = dave.getByRole('complementary', { name: 'Chat details' });
  for (const name of ['carol', 'dave', 'erin']) await members.getByText(name, { exact: true }).waitFor();
  await shot(dave, 'group-details');
});

test('text people type is shown as text, never as HTML', async () => {
  const page = await (await browser.newContext()).newPage();
  await signUp(page, hearth, smtp, 'mallory');
  await page.getByRole('button', { name: 'New chat' }).click();
  await page.getByLabel('Chat with (username)').fill('alice');
  await page.getByRole('button', { name: 'Start chat' }).click();
  await page.waitForURL(/\/chat\/\d+$/);
  const payload = '<img src=x onerror="window.pwned=1"><b>bold?</b>';
  await page.getByRole('textbox', { name: 'Message', exact: true }).fill(payload);
  await page.keyboard.press('Enter');
  await page.getByRole('log').getByText(payload).waitFor();
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  assert.equal(await page.locator('.log img').count(), 0);
});

test('searching the chat list ignores case, accented letters too; avatars show the capital', async () => {
  const page = await (await browser.newContext()).newPage();
  const errors = watchErrors(page);
  await signUp(page, hearth, smtp, 'zoe');
  for (const name of ['équipe Nord', 'Soirée']) {
    await page.getByRole('button', { name: 'New chat' }).click();
    await page.getByLabel('Group name').fill(name);
    await page.getByRole('button', { name: 'Create group' }).click();
    await page.getByRole('link', { name, exact: true }).waitFor();
  }
  const list = page.getByRole('navigation', { name: 'Chat list' });
  const team = list.getByRole('link', { name: 'équipe Nord', exact: true });
  assert.equal(await team.locator('.avatar').innerText(), 'É');

  const search = page.getByLabel('Search chats');
  for (const needle of ['ÉQUIPE', 'Équipe nord', 'nord']) {
    await search.fill(needle);
    await list.getByRole('link', { name: 'Soirée' }).waitFor({ state: 'detached' });
    assert.equal(await list.getByRole('link').count(), 1, needle);
    await team.waitFor();
  }
  await search.fill('SOIRÉE');
  await list.getByRole('link', { name: 'Soirée' }).waitFor();
  await search.fill('zzz');
  await list.getByText('No chat matches.').waitFor();
  assert.deepEqual(errors, []);
});
