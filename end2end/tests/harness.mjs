// Test support: a real SMTP listener, a Hearth server on a random port with a fresh SQLite
// database, and Debian's Chromium driven by Playwright.

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import { simpleParser } from 'mailparser';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '..', '..');
export const artifacts = path.join(root, 'end2end', 'test-results');
mkdirSync(artifacts, { recursive: true });

/** An SMTP server on loopback that keeps every mail it receives. */
export async function startSmtp() {
  const mails = [];
  const server = net.createServer((socket) => {
    let buffer = '';
    let inData = false;
    let to = [];
    let lines = [];
    socket.write('220 hearth-e2e ESMTP\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      let at;
      while ((at = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            // Accepted only once it is readable, so a test never finds an older mail first.
            parseMail(to, lines).then((mail) => {
              mails.push(mail);
              socket.write('250 OK\r\n');
            });
            to = [];
            lines = [];
          } else {
            lines.push(line.startsWith('..') ? line.slice(1) : line);
          }
          continue;
        }
        const verb = line.split(' ')[0].toUpperCase();
        if (verb === 'EHLO') socket.write('250-hearth-e2e\r\n250 8BITMIME\r\n');
        else if (verb === 'RCPT') {
          to.push(line.slice(line.indexOf(':') + 1).trim().replace(/[<>]/g, ''));
          socket.write('250 OK\r\n');
        } else if (verb === 'DATA') {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (verb === 'QUIT') {
          socket.end('221 bye\r\n');
        } else socket.write('250 OK\r\n');
      }
    });
    socket.on('error', () => {});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    close: () => server.close(),
    /** The newest mail to `address` whose subject contains `subject`. */
    async waitFor(address, subject) {
      for (let i = 0; i < 200; i++) {
        const mail = [...mails].reverse().find((m) => m.to.includes(address) && m.subject.includes(subject));
        if (mail) return mail;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no mail to ${address} about ${subject}`);
    },
  };
}

/** Subject and text of a received mail, decoded (encoded words, quoted-printable, base64). */
async function parseMail(to, lines) {
  const mail = await simpleParser(lines.join('\r\n'));
  return { to, subject: mail.subject ?? '', body: mail.text ?? '' };
}

/** Starts `hearth serve` on a random port (or `port`) with a fresh (or the given) data folder. */
export async function startHearth({ smtpUrl, dataDir, port = 0, env = {} }) {
  const dir = dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'hearth-e2e-'));
  const binary = process.env.HEARTH_BIN ?? path.join(root, 'target', 'debug', 'hearth');
  const child = spawn(binary, ['serve'], {
    env: {
      ...process.env,
      HEARTH_ADDR: `127.0.0.1:${port}`,
      DATABASE_URL: `sqlite://${path.join(dir, 'hearth.db')}`,
      HEARTH_DATA_DIR: dir,
      HEARTH_SMTP_URL: smtpUrl,
      HEARTH_SITE_ROOT: path.join(root, 'target', 'site'),
      HEARTH_AUTH_LIMIT_PER_IP: '1000',
      HEARTH_AUTH_LIMIT_PER_ACCOUNT: '1000',
      HEARTH_API_LIMIT: '100000',
      RUST_LOG: 'info',
      NO_COLOR: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Hearth did not start:\n${log}`)), 30_000);
    const onData = (chunk) => {
      log += chunk.toString();
      const found = log.match(/listening on (http:\/\/[0-9.:]+)/);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`Hearth exited with ${code}:\n${log}`)));
  });
  return {
    base,
    dataDir: dir,
    port: Number(new URL(base).port),
    log: () => log,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.on('exit', resolve)));
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export const PASSWORD = 'Corr3ct-horse';

/** Signs up in the browser, reading the code from the mail, and lands on the chat screen. */
export async function signUp(page, hearth, smtp, username) {
  const email = `${username}@example.org`;
  await page.goto(hearth.base + '/');
  await hydrated(page);
  await page.getByRole('button', { name: 'Create an account' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  const mail = await smtp.waitFor(email, 'verification code');
  const code = mail.body.match(/\b\d{6}\b/)[0];
  await page.getByLabel('6-digit code').fill(code);
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.waitForURL('**/chat');
  return email;
}

/** POSTs JSON to one of Hearth's REST routes, as an external client would, and reads the answer. */
export async function api(hearth, route, body) {
  const response = await fetch(`${hearth.base}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return response.json();
}

/** Waits until the wasm has taken over the server-rendered page. */
export function hydrated(page) {
  return page.waitForSelector('body[data-hydrated="true"]', { state: 'attached' });
}

/** Collects the page's console errors, so a test can assert there were none. */
export function watchErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  return errors;
}

export function shot(page, name) {
  return page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: false });
}

/** SMTP, Hearth and Chromium for one test file, stopped when the file's tests end. `hearth` may
 *  be replaced (a restart) and the new one is stopped instead. */
export async function startStack({ env = {} } = {}) {
  const smtp = await startSmtp();
  const stack = { smtp, hearth: await startHearth({ smtpUrl: smtp.url, env }), browser: await launchBrowser() };
  after(async () => {
    await stack.browser.close();
    await stack.hearth.stop();
    smtp.close();
  });
  return stack;
}
