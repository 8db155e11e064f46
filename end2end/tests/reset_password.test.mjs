// The reset-password flow from the mailed link, with JavaScript and without it.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { PASSWORD, hydrated, shot, signUp, startStack } from './harness.mjs';

const { smtp, hearth, browser } = await startStack();

async function resetLink(username) {
  const response = await fetch(`${hearth.base}/user/reset-password-request`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username }),
  });
  assert.equal(response.status, 200);
  const mail = await smtp.waitFor(`${username}@example.org`, 'Reset your Hearth password');
  return mail.body.match(/http\S+reset-password\?\S+/)[0];
}

async function canSignIn(username, password) {
  const response = await fetch(`${hearth.base}/user/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  return response.status === 200;
}

for (const javaScriptEnabled of [true, false]) {
  test(`reset from the mailed link ${javaScriptEnabled ? 'with' : 'without'} JavaScript`, async () => {
    const name = javaScriptEnabled ? 'jsuser' : 'nojsuser';
    const setup = await (await browser.newContext()).newPage();
    await signUp(setup, hearth, smtp, name);
    const link = await resetLink(name);
    const page = await (await browser.newContext({ javaScriptEnabled })).newPage();
    await page.goto(link);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    if (javaScriptEnabled) await hydrated(page);

    // A mismatch is explained, next to the form.
    await page.getByLabel('New password', { exact: true }).fill('N3w-password!');
    await page.getByLabel('Repeat the new password').fill('Different-1!');
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.getByRole('alert').getByText('Passwords do not match.').waitFor();
    await shot(page, `reset-error-${javaScriptEnabled ? 'js' : 'nojs'}`);

    await page.getByLabel('New password', { exact: true }).fill('N3w-password!');
    await page.getByLabel('Repeat the new password').fill('N3w-password!');
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.getByRole('status').getByText('Your password has been changed.').waitFor();
    assert.equal(await canSignIn(name, 'N3w-password!'), true);
    assert.equal(await canSignIn(name, PASSWORD), false);

    // The link works once.
    await page.goto(link);
    if (javaScriptEnabled) await hydrated(page);
    await page.getByLabel('New password', { exact: true }).fill('An0ther-pass!');
    await page.getByLabel('Repeat the new password').fill('An0ther-pass!');
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.getByRole('alert').getByText('Invalid or expired reset link.').waitFor();
  });
}
