// Hearth in other languages: signing up and chatting in German and in Arabic (right-to-left,
// mirrored), switching in the profile (the app at once, the next mail, the person's other
// devices), and plural forms of the unread count in every language.
//
// Labels are read from the catalogue files, so a reworded string does not break a test; the
// expected plural sentences are written out, as a reader of each language would check them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { PASSWORD, api, hydrated, root, shot, signUp, startStack } from './harness.mjs';

const { smtp, hearth, browser } = await startStack();

const catalogue = (language) => JSON.parse(readFileSync(path.join(root, 'app', 'locales', `${language}.json`), 'utf8'));
const de = catalogue('de');
const ar = catalogue('ar');

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

/** The page's errors, except the browser's own request for /favicon.ico (Hearth has none). */
function watchErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) errors.push(m.text());
  });
  return errors;
}

async function signIn(hearthBase, username) {
  const reply = await api({ base: hearthBase }, '/user/login', { username, password: PASSWORD });
  assert.ok(reply.access_token, JSON.stringify(reply));
  return reply.access_token;
}

/** Signs up through the welcome page of a browser that asks for `strings`' language. */
async function signUpIn(page, strings, username) {
  const email = `${username}@example.org`;
  await page.goto(hearth.base + '/');
  await hydrated(page);
  await page.getByRole('button', { name: strings.auth.create_account_heading }).click();
  await page.getByLabel(strings.auth.username).fill(username);
  await page.getByLabel(strings.auth.email).fill(email);
  await page.getByLabel(strings.auth.password).fill(PASSWORD);
  await page.getByRole('button', { name: strings.auth.create_account, exact: true }).click();
  const subject = strings.mail.verification_subject.split('{{')[0].trim();
  const mail = await smtp.waitFor(email, subject);
  const code = mail.body.match(/\b\d{6}\b/)[0];
  await page.getByLabel(strings.auth.code).fill(code);
  await page.getByRole('button', { name: strings.auth.confirm }).click();
  await page.waitForURL('**/chat');
  return mail;
}

/** Starts a chat with `other` and sends `text`, with the chat screen's labels in `strings`. */
async function chatWith(page, strings, other, text) {
  await page.getByRole('button', { name: strings.chat.new_chat }).click();
  await page.getByLabel(strings.chat.chat_with).fill(other);
  await page.getByRole('button', { name: strings.chat.start_chat }).click();
  await page.getByRole('textbox', { name: strings.chat.message, exact: true }).fill(text);
  await page.keyboard.press('Enter');
  await page.getByRole('log').getByText(text).waitFor();
}

test('a German browser signs up and chats in German', async () => {
  await signUp(await (await browser.newContext()).newPage(), hearth, smtp, 'hans');
  const page = await (await browser.newContext({ locale: 'de-DE', viewport: DESKTOP })).newPage();
  const errors = watchErrors(page);
  await page.goto(hearth.base + '/');
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'de');
  const mail = await signUpIn(page, de, 'greta');
  assert.match(mail.body, /Bestätigungscode/);
  assert.doesNotMatch(mail.body, /verification code/i);

  await chatWith(page, de, 'hans', 'Hallo Hans, wie geht’s?');
  await page.getByRole('textbox', { name: de.chat.message, exact: true }).waitFor();
  assert.equal(
    await page.getByRole('textbox', { name: de.chat.message, exact: true }).getAttribute('placeholder'),
    de.chat.write_message,
  );
  await page.getByRole('button', { name: de.chat.send }).waitFor();
  await shot(page, 'german-desktop');
  await page.setViewportSize(PHONE);
  await page.getByRole('button', { name: de.chat.back_to_chats }).waitFor();
  await shot(page, 'german-phone');
  assert.deepEqual(errors, []);
});

test('an Arabic browser signs up and chats right-to-left, the screen mirrored', async () => {
  await signUp(await (await browser.newContext()).newPage(), hearth, smtp, 'sami');
  const page = await (await browser.newContext({ locale: 'ar-EG', viewport: DESKTOP })).newPage();
  const errors = watchErrors(page);
  await page.goto(hearth.base + '/');
  assert.deepEqual(await page.evaluate(() => [document.documentElement.lang, document.documentElement.dir]), ['ar', 'rtl']);
  const mail = await signUpIn(page, ar, 'layla');
  assert.match(mail.subject, /رمز التحقق/);

  // A Latin name inside Arabic text stays whole and in its place.
  const text = 'مرحبا sami، كيف حالك؟';
  await chatWith(page, ar, 'sami', text);
  assert.deepEqual(await page.evaluate(() => [document.documentElement.lang, document.documentElement.dir]), ['ar', 'rtl']);

  // Mirrored: the chat list on the right, the send button at the composer's left end.
  const list = await page.getByRole('complementary', { name: ar.chat.chats }).boundingBox();
  const log = await page.getByRole('log').boundingBox();
  assert.ok(list.x > log.x, `the list (x=${list.x}) is right of the conversation (x=${log.x})`);
  const box = await page.getByRole('textbox', { name: ar.chat.message, exact: true }).boundingBox();
  const send = await page.getByRole('button', { name: ar.chat.send }).boundingBox();
  assert.ok(send.x < box.x, `send (x=${send.x}) is left of the composer (x=${box.x})`);
  // My own message sits at the start side, which is the right in Arabic.
  const bubble = await page.getByRole('log').getByText(text).boundingBox();
  assert.ok(bubble.x + bubble.width > log.x + log.width / 2, 'my message is on the right half');
  await shot(page, 'arabic-desktop');

  await page.setViewportSize(PHONE);
  const back = page.getByRole('button', { name: ar.chat.back_to_chats });
  await back.waitFor();
  const backBox = await back.boundingBox();
  assert.ok(backBox.x > PHONE.width / 2, `back (x=${backBox.x}) is at the right, where an Arabic reader starts`);
  await shot(page, 'arabic-phone');
  assert.deepEqual(errors, []);
});

test('a language chosen in the profile changes the app at once, the next mail and the other devices', async () => {
  const gina = await (await browser.newContext()).newPage();
  const errors = watchErrors(gina);
  await signUp(gina, hearth, smtp, 'gina');
  await signUp(await (await browser.newContext()).newPage(), hearth, smtp, 'henk');
  await chatWith(gina, catalogue('en'), 'henk', 'Guten Tag');

  await gina.getByRole('button', { name: 'Your profile' }).click();
  await gina.getByLabel('Language').selectOption('de');
  await gina.getByRole('heading', { name: de.chat.your_profile }).waitFor();
  assert.equal(await gina.evaluate(() => document.documentElement.lang), 'de');
  await gina.keyboard.press('Escape');
  await gina.getByRole('button', { name: de.chat.new_chat }).waitFor();
  // The day separator is the browser's German date for the message.
  const [day, expected] = await gina.evaluate(() => {
    const stamp = document.querySelector('.message time').getAttribute('datetime');
    const options = { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' };
    return [document.querySelector('.day').textContent, new Intl.DateTimeFormat('de', options).format(new Date(stamp))];
  });
  assert.equal(day, expected);

  // The next page comes from the server in German.
  await gina.reload();
  await hydrated(gina);
  await gina.getByRole('button', { name: de.chat.new_chat }).waitFor();
  await gina.getByRole('button', { name: de.chat.your_profile }).getByText('gina').waitFor();

  // The next mail Hearth sends her is German.
  const reply = await api(hearth, '/user/reset-password-request', { username: 'gina' });
  assert.ok(reply.message, JSON.stringify(reply));
  const mail = await smtp.waitFor('gina@example.org', de.mail.reset_subject);
  assert.match(mail.body, /Passwort/);

  // Her laptop, in an English browser, follows once she signs in there.
  const laptop = await (await browser.newContext({ locale: 'en-US' })).newPage();
  const laptopErrors = watchErrors(laptop);
  await laptop.goto(hearth.base + '/');
  await hydrated(laptop);
  assert.equal(await laptop.evaluate(() => document.documentElement.lang), 'en');
  await laptop.getByLabel('Username').fill('gina');
  await laptop.getByLabel('Password').fill(PASSWORD);
  await laptop.getByRole('button', { name: 'Sign in', exact: true }).click();
  await laptop.waitForURL('**/chat');
  await laptop.getByRole('button', { name: de.chat.new_chat }).waitFor();
  assert.equal(await laptop.evaluate(() => document.documentElement.lang), 'de');
  assert.deepEqual(errors, []);
  assert.deepEqual(laptopErrors, []);
});

// What a reader of each language sees for 1, 2, 5, 11 and 100 unread messages in "Group N"
// (0 unread shows the name alone).
const UNREAD = {
  en: { 1: '1 unread', 2: '2 unread', 5: '5 unread', 11: '11 unread', 100: '100 unread' },
  de: {
    1: '1 ungelesene Nachricht',
    2: '2 ungelesene Nachrichten',
    5: '5 ungelesene Nachrichten',
    11: '11 ungelesene Nachrichten',
    100: '100 ungelesene Nachrichten',
  },
  fr: {
    1: '1 message non lu',
    2: '2 messages non lus',
    5: '5 messages non lus',
    11: '11 messages non lus',
    100: '100 messages non lus',
  },
  es: {
    1: '1 mensaje sin leer',
    2: '2 mensajes sin leer',
    5: '5 mensajes sin leer',
    11: '11 mensajes sin leer',
    100: '100 mensajes sin leer',
  },
  // Arabic has a form each for one, two, a few (3–10), many (11–99) and other (100…).
  ar: {
    1: 'رسالة واحدة غير مقروءة',
    2: 'رسالتان غير مقروءتين',
    5: '5 رسائل غير مقروءة',
    11: '11 رسالة غير مقروءة',
    100: '100 رسالة غير مقروءة',
  },
};
const COUNTS = [0, 1, 2, 5, 11, 100];

test('unread counts of 0, 1, 2, 5, 11 and 100 take each language’s plural form', async () => {
  const reader = await (await browser.newContext()).newPage();
  await signUp(reader, hearth, smtp, 'pia');
  await signUp(await (await browser.newContext()).newPage(), hearth, smtp, 'sam');
  const session = await reader.evaluate(() => localStorage.getItem('hearth.session'));
  const sam = await signIn(hearth.base, 'sam');
  const pia = await signIn(hearth.base, 'pia');
  for (const count of COUNTS) {
    const group = await api(hearth, '/chat/create-group', { session_token: sam, name: `Group ${count}`, members: ['pia'] });
    assert.ok(group.chatID, JSON.stringify(group));
    for (let i = 1; i <= count; i++) {
      const sent = await api(hearth, '/chat/post-message', { session_token: sam, chatID: group.chatID, text: `note ${i}` });
      assert.ok(sent.messageID, JSON.stringify(sent));
    }
  }

  for (const [language, forms] of Object.entries(UNREAD)) {
    const separator = language === 'ar' ? '، ' : ', ';
    // Her account's language decides (she signed up in English).
    const saved = await api(hearth, '/user/set-language', { session_token: pia, language });
    assert.equal(saved.language, language, JSON.stringify(saved));
    const context = await browser.newContext({ locale: language });
    await context.addInitScript((saved) => localStorage.setItem('hearth.session', saved), session);
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(hearth.base + '/chat');
    await hydrated(page);
    assert.equal(await page.evaluate(() => document.documentElement.lang), language);
    const list = page.getByRole('navigation', { name: catalogue(language).chat.chat_list });
    await list.getByRole('link', { name: 'Group 0', exact: true }).waitFor();
    for (const count of COUNTS.slice(1)) {
      const label = `Group ${count}${separator}${forms[count]}`;
      await list.getByRole('link', { name: label, exact: true }).waitFor({ timeout: 5000 });
    }
    assert.deepEqual(errors, [], language);
    await context.close();
  }
});
