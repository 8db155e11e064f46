// nchat's API guide, example by example: each one runs as its reader would run it, against a fresh
// Hearth (own database), and the test checks what the example's caller sees. The examples are
// read from the reference copy of nchat's guide beside the clone; see nchat_examples.mjs for where
// and how each kind runs.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';

import { launchBrowser, PASSWORD, startHearth, startSmtp } from './harness.mjs';
import {
  callPython,
  curl,
  example,
  fill,
  httpExample,
  inPage,
  request,
  sample,
  shapeErrors,
  show,
  showPage,
  showPython,
} from './nchat_examples.mjs';

const smtp = await startSmtp();
const browser = await launchBrowser();
after(async () => {
  await browser.close();
  smtp.close();
});

/** A Hearth of its own for one test, with its defaults (e-mail verification on). */
async function fresh(t, env = {}) {
  const hearth = await startHearth({ smtpUrl: smtp.url, env });
  t.after(() => hearth.stop());
  return hearth;
}

/** A field of a setup answer, wherever this version of Hearth puts it: setup is not under test. */
function field(body, name) {
  return body?.[name] ?? body?.data?.[name];
}

/** Signs an account up through nchat's routes, confirms its address from the mail, signs it in. */
async function signUp(hearth, { email, username, password = PASSWORD }) {
  const signup = await request(hearth, 'POST', '/api/auth/signup', { body: { email, password, username } });
  assert.ok(signup.status < 300, `setup: signing up ${email} failed: ${show(signup)}`);
  if (!field(signup.json, 'accessToken')) {
    const mail = await smtp.waitFor(email, 'verification code');
    const code = mail.body.match(/\b\d{6}\b/)[0];
    const verify = await request(hearth, 'POST', '/api/auth/verify-email', { body: { email, code } });
    assert.ok(verify.status < 300, `setup: verifying ${email} failed: ${show(verify)}`);
  }
  const signin = await request(hearth, 'POST', '/api/auth/signin', { body: { email, password } });
  const token = field(signin.json, 'accessToken');
  assert.ok(token, `setup: signing in ${email} failed: ${show(signin)}`);
  return { email, username, password, token };
}

/** The first account, so the owner. */
function signUpOwner(hearth) {
  return signUp(hearth, { email: 'owner@example.org', username: 'owner' });
}

/** A group chat of the owner's with one message in it; its id as nchat's clients hold ids. */
async function groupWithMessage(hearth, owner, text) {
  const created = await request(hearth, 'POST', '/chat/create-group', {
    token: owner.token,
    body: { name: 'Launch', members: [] },
  });
  const chatId = field(created.json, 'chatID');
  assert.ok(chatId, `setup: creating a group failed: ${show(created)}`);
  const posted = await request(hearth, 'POST', '/chat/post-message', {
    token: owner.token,
    body: { chatID: chatId, text },
  });
  assert.ok(posted.status < 300, `setup: posting failed: ${show(posted)}`);
  return String(chatId);
}

/** The app's name as a fresh GET /api/config shows it (the spec's `config` at the top level). */
async function appName(hearth) {
  const answer = await request(hearth, 'GET', '/api/config');
  return { answer, name: answer.json?.config?.branding?.appName };
}

const MY_TEAM_CHAT = { branding: { appName: 'My Team Chat' } };

// ---- Authentication ----

test('guide, Authentication, curl sign in (auth-signin.sh): 200 with the user and both tokens', async (t) => {
  const hearth = await fresh(t);
  await signUpOwner(hearth);
  // The example's address; its password `your-password` is a placeholder (it has no upper-case
  // letter or digit, so nchat's own rule refuses it at sign-up) and is filled like one.
  const user = await signUp(hearth, { email: 'user@example.com', username: 'user' });
  const answer = await curl(hearth, 'auth-signin.sh', { '"password": "your-password"': `"password": "${user.password}"` });
  assert.equal(answer.status, 200, show(answer));
  assert.deepEqual(shapeErrors(sample('auth-signin-response.json'), answer.json), [], show(answer));
  assert.equal(answer.json.user.email, 'user@example.com', show(answer));
  assert.equal(answer.json.user.role, 'member', show(answer));
});

test('guide, Authentication, curl sign up (auth-signup.sh): the first account is the owner', async (t) => {
  const hearth = await fresh(t);
  const answer = await curl(hearth, 'auth-signup.sh');
  // nchat's spec says 200 and its handler answers 200.
  assert.equal(answer.status, 200, show(answer));
  assert.equal(answer.json?.user?.role, 'owner', show(answer));
  assert.equal(answer.json.user.email, 'newuser@example.com', show(answer));
  assert.equal(answer.json.user.username, 'johndoe', show(answer));
});

test('guide, Authentication, curl config with history (auth-config-history.sh): config and history', async (t) => {
  const hearth = await fresh(t);
  const owner = await signUpOwner(hearth);
  const answer = await curl(hearth, 'auth-config-history.sh', { '<your-access-token>': owner.token });
  assert.equal(answer.status, 200, show(answer));
  assert.equal(typeof answer.json?.config?.branding, 'object', show(answer));
  assert.ok(Array.isArray(answer.json.history), show(answer));
});

test('guide, Common Patterns, curl JSON payload (json-payload.sh, <endpoint> = /api/audit)', async (t) => {
  const hearth = await fresh(t);
  const owner = await signUpOwner(hearth);
  // `{ "key": "value" }` is no audit entry: the caller gets the guide's error envelope.
  const answer = await curl(hearth, 'json-payload.sh', {
    '<endpoint>': `${hearth.base}/api/audit`,
    '<token>': owner.token,
  });
  assert.equal(answer.status, 400, show(answer));
  assert.equal(answer.json?.success, false, show(answer));
  assert.equal(typeof answer.json.error, 'string', show(answer));
  assert.ok(['VALIDATION_ERROR', 'BAD_REQUEST'].includes(answer.json.code), show(answer));
});

test('guide, Common Patterns, success response (success-response.jsonc): {success, data}', async (t) => {
  const hearth = await fresh(t);
  const answer = await request(hearth, 'GET', '/api/config');
  assert.equal(answer.status, 200, show(answer));
  assert.deepEqual(shapeErrors(sample('success-response.jsonc'), answer.json), [], show(answer));
  assert.equal(answer.json.success, true, show(answer));
});

test('guide, Common Patterns, error response (error-response.json): {success, error, code, details}', async (t) => {
  const hearth = await fresh(t);
  const answer = await request(hearth, 'POST', '/api/config', { body: MY_TEAM_CHAT });
  assert.equal(answer.status, 401, show(answer));
  assert.deepEqual(shapeErrors(sample('error-response.json'), answer.json), [], show(answer));
  assert.equal(answer.json.success, false, show(answer));
  assert.equal(answer.json.code, 'UNAUTHORIZED', show(answer));
});

test('guide, Common Patterns, curl pagination (pagination.sh): items, total, page, limit, hasMore', async (t) => {
  const hearth = await fresh(t);
  const answer = await curl(hearth, 'pagination.sh');
  assert.equal(answer.status, 200, show(answer));
  assert.deepEqual(shapeErrors(sample('pagination-response.jsonc'), answer.json), [], show(answer));
  assert.equal(answer.json.limit, 20, show(answer));
  assert.equal(answer.json.page, 1, show(answer));
});

test('guide, Common Patterns, quick search (filtering-quick.http)', async (t) => {
  const hearth = await fresh(t);
  const { method, route } = httpExample('filtering-quick.http');
  const answer = await request(hearth, method, route);
  assert.equal(answer.status, 200, show(answer));
  assert.ok(Array.isArray(answer.json?.items), show(answer));
});

test('guide, Common Patterns, advanced search (filtering-advanced.http): types, channel ids, dates', async (t) => {
  const hearth = await fresh(t);
  const { method, route, body } = httpExample('filtering-advanced.http');
  const answer = await request(hearth, method, route, { body });
  assert.equal(answer.status, 200, show(answer));
  assert.ok(Array.isArray(answer.json?.results), show(answer));
});

// ---- Error handling ----

test('guide, Error Handling, validation error (validation-error.json): appName of 51 characters', async (t) => {
  const hearth = await fresh(t);
  const owner = await signUpOwner(hearth);
  const answer = await request(hearth, 'POST', '/api/config', {
    token: owner.token,
    body: { branding: { appName: 'x'.repeat(51) } },
  });
  assert.equal(answer.status, 400, show(answer));
  const { success, error, code, details } = answer.json ?? {};
  assert.deepEqual({ success, error, code, details }, sample('validation-error.json'), show(answer));
});

test('guide, Error Handling, TypeScript pattern (error-handling.ts) as given: /api/endpoint', async (t) => {
  const hearth = await fresh(t);
  const owner = await signUpOwner(hearth);
  const run = await inPage(browser, hearth, {
    prelude: `const token = ${JSON.stringify(owner.token)}; const data = ${JSON.stringify(MY_TEAM_CHAT)};`,
    sources: [example('error-handling.ts')],
  });
  assert.equal(run.error, undefined, showPage(run));
  // The route does not exist: the example reports the server's own message, read from `error`.
  assert.equal(run.console.length, 1, showPage(run));
  const [type, prefix, message] = run.console[0];
  assert.equal(type, 'error', showPage(run));
  assert.equal(prefix, 'API error:', showPage(run));
  assert.ok(typeof message === 'string' && message && message !== 'Request failed', showPage(run));
  assert.ok(!/JSON|Unexpected token/.test(message), showPage(run));
});

test('guide, Error Handling, TypeScript pattern (error-handling.ts) on /api/config: logs result.data', async (t) => {
  const hearth = await fresh(t);
  const owner = await signUpOwner(hearth);
  const run = await inPage(browser, hearth, {
    prelude: `const token = ${JSON.stringify(owner.token)}; const data = ${JSON.stringify(MY_TEAM_CHAT)};`,
    sources: [fill(example('error-handling.ts'), { "'/api/endpoint'": "'/api/config'" })],
  });
  assert.equal(run.error, undefined, showPage(run));
  assert.equal(run.console.length, 1, showPage(run));
  const [type, logged] = run.console[0];
  assert.equal(type, 'log', showPage(run));
  assert.equal(logged?.config?.branding?.appName, 'My Team Chat', showPage(run));
});

// ---- Rate limiting ----

test('guide, Rate Limiting, headers (rate-limit-headers.txt) and the 429 body (rate-limit-exceeded.json)', async (t) => {
  const hearth = await fresh(t, { HEARTH_API_LIMIT: '2', HEARTH_API_LIMIT_WINDOW_SECS: '60' });
  const names = example('rate-limit-headers.txt')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(':')[0]);
  const first = await request(hearth, 'GET', '/api/config');
  const seconds = Date.now() / 1000;
  for (const name of names) {
    const value = Number(first.headers.get(name));
    assert.ok(Number.isInteger(value), `${name} is ${first.headers.get(name)}: ${show(first)}`);
  }
  assert.equal(Number(first.headers.get('X-RateLimit-Limit')), 2);
  assert.equal(Number(first.headers.get('X-RateLimit-Remaining')), 1);
  // A Unix time in seconds, within the window.
  const reset = Number(first.headers.get('X-RateLimit-Reset'));
  assert.ok(reset >= seconds - 1 && reset <= seconds + 61, `X-RateLimit-Reset ${reset} at ${seconds}`);
  await request(hearth, 'GET', '/api/config');
  const refused = await request(hearth, 'GET', '/api/config');
  assert.equal(refused.status, 429, show(refused));
  const { success, error, code } = refused.json ?? {};
  assert.deepEqual({ success, error, code }, sample('rate-limit-exceeded.json'), show(refused));
});

test('guide, Rate Limiting, apiRequestWithRetry (retry.ts) gets through a 429', async (t) => {
  // Three requests per 2 s window: the example's backoff (1 s, then 2 s) outlasts it.
  const hearth = await fresh(t, { HEARTH_API_LIMIT: '3', HEARTH_API_LIMIT_WINDOW_SECS: '2' });
  const run = await inPage(browser, hearth, {
    sources: [example('retry.ts')],
    // Three requests use up the window.
    body: `
      for (let i = 0; i < 3; i++) await fetch('/api/ready');
      const response = await apiRequestWithRetry('/api/ready', {});
      return { status: response.status, body: await response.json() };`,
  });
  assert.equal(run.error, undefined, showPage(run));
  assert.ok(
    run.exchanges.some((e) => e.status === 429),
    `the window did not fill up, so the retry went untested:\n  ${showPage(run)}`,
  );
  assert.equal(run.value.status, 200, showPage(run));
});

// ---- Code examples: TypeScript ----

test('guide, Code Examples, getConfig() (get-config.ts): the config with its branding', async (t) => {
  const hearth = await fresh(t);
  const run = await inPage(browser, hearth, { sources: [example('get-config.ts')], body: 'return await getConfig()' });
  assert.equal(run.error, undefined, showPage(run));
  assert.equal(typeof run.value?.branding, 'object', showPage(run));
  assert.equal(typeof run.value.branding.appName, 'string', showPage(run));
});

test('guide, Code Examples, updateConfig() (update-config.ts), then getConfig() shows the change', async (t) => {
  const hearth = await fresh(t);
  const owner = await signUpOwner(hearth);
  // An app loads its config, the admin renames the app, the app reads its config again.
  const run = await inPage(browser, hearth, {
    sources: [example('get-config.ts'), example('update-config.ts')],
    body: `
      const before = await getConfig();
      const updated = await updateConfig(${JSON.stringify(MY_TEAM_CHAT)}, ${JSON.stringify(owner.token)});
      const after = await getConfig();
      return { before, updated, after };`,
  });
  assert.equal(run.error, undefined, showPage(run));
  assert.equal(typeof run.value.before?.branding, 'object', showPage(run));
  assert.equal(run.value.after?.branding?.appName, 'My Team Chat', showPage(run));
});

test('guide, Code Examples, uploadFile() (upload-file.ts): a fileId, and the file downloads', async (t) => {
  const hearth = await fresh(t);
  const owner = await signUpOwner(hearth);
  const content = 'Notes from the nchat guide\n';
  const run = await inPage(browser, hearth, {
    sources: [example('upload-file.ts')],
    prelude: `const file = new File([${JSON.stringify(content)}], 'notes.txt', { type: 'text/plain' });`,
    body: `return await uploadFile(file, ${JSON.stringify(owner.token)})`,
  });
  assert.equal(run.error, undefined, showPage(run));
  assert.ok(typeof run.value === 'string' && run.value.length > 0, showPage(run));
  const download = await request(hearth, 'GET', `/api/files/${encodeURIComponent(run.value)}`, { token: owner.token });
  assert.equal(download.status, 200, show(download));
  assert.equal(download.text, content, show(download));
});

test('guide, Code Examples, searchMessages() (search-messages.ts): a list, empty for an anonymous caller', async (t) => {
  const hearth = await fresh(t);
  const owner = await signUpOwner(hearth);
  const channelId = await groupWithMessage(hearth, owner, 'project update: we ship on Friday');
  // The example sends no token; the group is private, so an anonymous search finds nothing.
  const run = await inPage(browser, hearth, {
    sources: [example('search-messages.ts')],
    body: `return await searchMessages('project update', ${JSON.stringify(channelId)})`,
  });
  assert.equal(run.error, undefined, showPage(run));
  assert.ok(Array.isArray(run.value), showPage(run));
  assert.equal(run.value.length, 0, showPage(run));
});

// ---- Code examples: Python ----

test('guide, Code Examples, Python sign_in() (client.py): the accessToken', async (t) => {
  const hearth = await fresh(t);
  const owner = await signUpOwner(hearth);
  const outcome = await callPython(hearth, 'sign_in', owner.email, owner.password);
  assert.equal(outcome.error, undefined, showPython('sign_in', outcome));
  assert.equal(typeof outcome.value?.accessToken, 'string', showPython('sign_in', outcome));
  assert.equal(outcome.value.user?.email, owner.email, showPython('sign_in', outcome));
});

test('guide, Code Examples, Python get_config() (client.py): with and without a token', async (t) => {
  const hearth = await fresh(t);
  const owner = await signUpOwner(hearth);
  for (const args of [[], [owner.token]]) {
    const outcome = await callPython(hearth, 'get_config', ...args);
    assert.equal(outcome.error, undefined, showPython('get_config', outcome));
    assert.equal(typeof outcome.value?.branding, 'object', showPython('get_config', outcome));
  }
});

test('guide, Code Examples, Python update_config() (client.py), then get_config() shows it', async (t) => {
  const hearth = await fresh(t);
  const owner = await signUpOwner(hearth);
  const updated = await callPython(hearth, 'update_config', MY_TEAM_CHAT, owner.token);
  assert.equal(updated.error, undefined, showPython('update_config', updated));
  const read = await callPython(hearth, 'get_config');
  assert.equal(read.value?.branding?.appName, 'My Team Chat', showPython('get_config', read));
});

// ---- Code examples: cURL ----

test('guide, Code Examples, curl sign in (curl-signin.sh): 200 with an accessToken', async (t) => {
  const hearth = await fresh(t);
  await signUpOwner(hearth);
  const user = await signUp(hearth, { email: 'user@example.com', username: 'user' });
  // `pass123` is shorter than the 8 characters every Hearth password has, so no account can have
  // it: the example's password is filled like a placeholder.
  const answer = await curl(hearth, 'curl-signin.sh', { '"password":"pass123"': `"password":"${user.password}"` });
  assert.equal(answer.status, 200, show(answer));
  assert.equal(typeof answer.json?.accessToken, 'string', show(answer));
});

test('guide, Code Examples, curl get config (curl-get-config.sh)', async (t) => {
  const hearth = await fresh(t);
  const answer = await curl(hearth, 'curl-get-config.sh');
  assert.equal(answer.status, 200, show(answer));
  assert.equal(typeof answer.json?.config?.branding, 'object', show(answer));
});

test('guide, Code Examples, curl update config (curl-update-config.sh), then the config has it', async (t) => {
  const hearth = await fresh(t);
  const owner = await signUpOwner(hearth);
  const answer = await curl(hearth, 'curl-update-config.sh', { '<token>': owner.token });
  assert.equal(answer.status, 200, show(answer));
  assert.equal(answer.json?.config?.branding?.appName, 'My Team Chat', show(answer));
  const { answer: read, name } = await appName(hearth);
  assert.equal(name, 'My Team Chat', show(read));
});

test('guide, Code Examples, curl search (curl-search.sh): results as a list', async (t) => {
  const hearth = await fresh(t);
  const answer = await curl(hearth, 'curl-search.sh');
  assert.equal(answer.status, 200, show(answer));
  assert.ok(Array.isArray(answer.json?.results), show(answer));
});

test('guide, Code Examples, curl send webhook (curl-webhook.sh): the message is posted', async (t) => {
  const hearth = await fresh(t);
  const owner = await signUpOwner(hearth);
  const chatId = await groupWithMessage(hearth, owner, 'Deploys go here');
  const created = await request(hearth, 'POST', '/api/webhooks', {
    token: owner.token,
    body: { chatId, name: 'CI' },
  });
  const [id, token] = [field(created.json, 'id'), field(created.json, 'token')];
  assert.ok(id && token, `setup: creating a webhook failed: ${show(created)}`);
  const answer = await curl(hearth, 'curl-webhook.sh', { 'webhook-id/token': `${id}/${token}` });
  // nchat's spec: 200 with {success, messageId, channelId}.
  assert.equal(answer.status, 200, show(answer));
  assert.equal(answer.json?.success, true, show(answer));
  assert.ok(answer.json.messageId, show(answer));
  assert.equal(String(answer.json.channelId), chatId, show(answer));
  const history = await request(hearth, 'POST', '/chat/messages', { token: owner.token, body: { chatID: chatId } });
  const texts = (field(history.json, 'messages') ?? []).map((m) => m.message);
  assert.ok(texts.includes('Deployment successful!'), show(history));
});
