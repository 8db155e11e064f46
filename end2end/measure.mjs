// Figures for the browser app (not a test): time to first byte and first render of `/`, and
// the time from a post in one browser to its display in another. `node measure.mjs` after
// `cargo xtask bundle --release` and a release server build (HEARTH_BIN=../target/release/hearth).

import { hydrated, launchBrowser, signUp, startHearth, startSmtp } from './tests/harness.mjs';

const smtp = await startSmtp();
const hearth = await startHearth({ smtpUrl: smtp.url });
const browser = await launchBrowser();
try {
  const ttfb = [];
  for (let i = 0; i < 50; i++) {
    const started = performance.now();
    const response = await fetch(hearth.base + '/');
    await response.text();
    ttfb.push(performance.now() - started);
  }
  ttfb.sort((a, b) => a - b);
  console.log(`GET / (server render, whole page): median ${ttfb[25].toFixed(2)} ms, p95 ${ttfb[47].toFixed(2)} ms`);

  const page = await (await browser.newContext()).newPage();
  await page.goto(hearth.base + '/');
  const paint = await page.evaluate(() => performance.getEntriesByType('paint').map((p) => [p.name, p.startTime]));
  console.log(`first paint in Chromium: ${paint.map(([n, t]) => `${n} ${t.toFixed(0)} ms`).join(', ')}`);
  await hydrated(page);
  const hydration = await page.evaluate(() => performance.now());
  console.log(`interactive (hydrated) after ${hydration.toFixed(0)} ms`);

  const alice = page;
  const bob = await (await browser.newContext()).newPage();
  await signUp(alice, hearth, smtp, 'alice');
  await signUp(bob, hearth, smtp, 'bob');
  await alice.getByRole('button', { name: 'New chat' }).click();
  await alice.getByLabel('Chat with (username)').fill('bob');
  await alice.getByRole('button', { name: 'Start chat' }).click();
  await alice.waitForURL(/\/chat\/\d+$/);
  await bob.getByRole('link', { name: /alice/ }).click();
  const box = alice.getByRole('textbox', { name: 'Message', exact: true });
  const delays = [];
  for (let i = 0; i < 20; i++) {
    const text = `ping ${i}`;
    const seen = bob.waitForFunction((t) => [...document.querySelectorAll('.log .text')].some((e) => e.textContent === t), text, { polling: 'raf' });
    await box.fill(text);
    const sent = Date.now();
    await box.press('Enter');
    await seen;
    delays.push(Date.now() - sent);
  }
  delays.sort((a, b) => a - b);
  console.log(`post in one browser to display in the other: median ${delays[10]} ms, max ${delays[19]} ms`);
} finally {
  await browser.close();
  await hearth.stop();
  smtp.close();
}
