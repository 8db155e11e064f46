// Runs the code examples of nchat's API guide the way their readers run them: TypeScript in
// Chromium on Hearth's origin, Python with `requests`, cURL in a shell. nchat's guide is nchat's
// text under nchat's licence, so Hearth's repository holds none of it: each example is cut, at
// test time, out of the reference copy beside the clone (`../shared/reference/nchat-api.txt`, or
// HEARTH_NCHAT_REFERENCE_DIR) by the text that starts and ends it, and runs as it is there. Only
// the guide's origin is replaced and its placeholders filled.

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { transformSync } from 'esbuild';

import { root } from './harness.mjs';

const exec = promisify(execFile);

/** The origin the guide's examples call. */
export const GUIDE_ORIGIN = 'http://localhost:3000';

/** nchat's guide and spec, as every developer machine and CI have them beside the clone. */
export const referenceDir = path.resolve(
  root,
  process.env.HEARTH_NCHAT_REFERENCE_DIR ?? path.join('..', 'shared', 'reference'),
);
export const guidePath = path.join(referenceDir, 'nchat-api.txt');

// Without the guide there is nothing to run: that is a failure, never a silent skip.
if (!existsSync(guidePath)) {
  throw new Error(
    `nchat's API guide is not at ${guidePath}: put the reference copies (nchat-api.txt, ` +
      'nchat-openapi.yaml) there, or set HEARTH_NCHAT_REFERENCE_DIR to the folder holding them',
  );
}
const guide = readFileSync(guidePath, 'utf8');

/** `end` of an example that ends where the first brace it opens closes (a JSON body, a function). */
const CLOSING_BRACE = Symbol('the closing brace');

// Where each example is in the guide. That copy is a rendered page: indentation and blank lines
// are gone and a block may run into the prose after it, so an example is found by the text that
// starts it (`after` + `start`, which must occur exactly once; `after` is not part of it) and ends
// with the first `end` after that start (included), or just before the first `until`.
const EXAMPLES = {
  // Authentication
  'auth-signin.sh': { after: 'Endpoint: POST /api/auth/signin\n', start: 'curl -X POST', end: "}'" },
  'auth-signin-response.json': { start: '{\n"user": {', end: CLOSING_BRACE },
  'auth-signup.sh': { start: 'curl -X POST http://localhost:3000/api/auth/signup', end: "}'" },
  'auth-config-history.sh': { start: 'curl -X GET http://localhost:3000/api/config?history=true', end: '-token>"' },
  // Common patterns
  'json-payload.sh': { start: 'curl -X POST <endpoint>', end: `'{ "key": "value" }'` },
  'success-response.jsonc': { start: '{\n"success": true,', end: CLOSING_BRACE },
  'error-response.json': { start: '{\n"success": false,\n"error": "Human-readable', end: CLOSING_BRACE },
  'pagination.sh': { start: 'curl "http://localhost:3000/api/search?q=hello', end: 'offset=0"' },
  'pagination-response.jsonc': { start: '{\n"items": [...]', end: CLOSING_BRACE },
  'filtering-quick.http': { start: '# Quick search\n', end: 'limit=20' },
  'filtering-advanced.http': { start: '# Advanced search with filters\n', end: CLOSING_BRACE },
  // Error handling and rate limiting
  'validation-error.json': { start: '{\n"success": false,\n"error": "Validation failed', end: CLOSING_BRACE },
  'error-handling.ts': { start: 'try {', end: "console.error('API error:', error.message)\n}" },
  'rate-limit-headers.txt': { start: 'X-RateLimit-Limit: 60\n', end: 'X-RateLimit-Reset: 1640000000' },
  'rate-limit-exceeded.json': { start: '{\n"success": false,\n"error": "Rate limit exceeded', end: CLOSING_BRACE },
  'retry.ts': { start: 'async function apiRequestWithRetry(', end: CLOSING_BRACE },
  // Code examples
  'get-config.ts': { start: 'async function getConfig()', end: CLOSING_BRACE },
  'update-config.ts': { start: 'async function updateConfig(', end: CLOSING_BRACE },
  'upload-file.ts': { start: 'async function uploadFile(', end: CLOSING_BRACE },
  'search-messages.ts': { start: 'async function searchMessages(', end: CLOSING_BRACE },
  'client.py': { start: 'import requests\n', until: '# Sign in\ncurl' },
  // The guide's cURL block, one request at a time.
  'curl-signin.sh': { start: '# Sign in\ncurl', end: `"pass123"}'` },
  'curl-get-config.sh': { start: '# Get config\ncurl', end: '/api/config' },
  'curl-update-config.sh': { start: '# Update config (admin)\n', end: "}'" },
  'curl-search.sh': { start: '# Search\ncurl', end: "}'" },
  'curl-webhook.sh': { start: '# Send webhook\n', end: "}'" },
};

/** Where the first brace from `from` closes (just past it). Braces in strings are counted too:
 * those of the guide's examples are balanced (`${token}`, `{token}`). */
function closingBrace(text, from) {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return i + 1;
  }
  return -1;
}

/** The example `name`, cut out of the guide as it is; an example not found fails its test. */
export function example(name) {
  const place = EXAMPLES[name];
  if (!place) throw new Error(`no example ${name} in the table of the guide's examples`);
  const { after = '', start, end, until } = place;
  const anchor = after + start;
  const found = guide.indexOf(anchor);
  const where = `in the guide (${guidePath})`;
  if (found < 0) throw new Error(`${name}: ${JSON.stringify(anchor)} is no longer ${where}`);
  if (guide.indexOf(anchor, found + 1) >= 0) throw new Error(`${name}: ${JSON.stringify(anchor)} is twice ${where}`);
  const from = found + after.length;
  let to;
  if (end === CLOSING_BRACE) {
    to = closingBrace(guide, from);
  } else if (until !== undefined) {
    to = guide.indexOf(until, from + start.length);
  } else {
    to = guide.indexOf(end, from + start.length);
    if (to >= 0) to += end.length;
  }
  if (to < 0) throw new Error(`${name}: its end (${String(until ?? end)}) is not ${where} after its start`);
  return guide.slice(from, to).trim();
}

/**
 * The guide's Python client with its indentation back. That copy of the guide lost every line's
 * indentation, which Python needs; it comes back by this rule, never by editing the text, from
 * the simple block structure of the guide's client: `import` and `def` lines are at the top level
 * (comment lines, whose indentation Python ignores, stay at the left); a `def` body is one level
 * in; an `if` body is one more, for its one statement (each `if` there has one); a line inside
 * brackets its statement opened is one level deeper than it, except a line that starts by closing
 * them.
 */
export function reindentPython(source) {
  let body = 0; // the level of the current block's statements
  let single; // the level of an `if`'s one statement, next
  let statement = 0; // the level of the statement the line belongs to
  let open = 0; // brackets open from earlier lines
  return source
    .split('\n')
    .map((raw) => {
      const line = raw.trim();
      // Python ignores the indentation of comment lines, so they stay where they are.
      if (!line || (open === 0 && line.startsWith('#'))) return line;
      let level;
      if (open > 0) {
        level = /^[)\]}]/.test(line) ? statement : statement + 1;
      } else {
        if (/^(import|from|def)\b/.test(line)) body = 0;
        statement = single ?? body;
        single = undefined;
        level = statement;
        if (/^def\b.*:$/.test(line)) body = statement + 1;
        else if (/^if\b.*:$/.test(line)) single = statement + 1;
      }
      open += bracketBalance(line);
      return '    '.repeat(level) + line;
    })
    .join('\n');
}

/** Brackets a line of Python opens minus those it closes, outside its strings. */
function bracketBalance(line) {
  let balance = 0;
  let quote;
  for (const c of line) {
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#') break;
    else if ('([{'.includes(c)) balance++;
    else if (')]}'.includes(c)) balance--;
  }
  return balance;
}

/** The guide's response samples are JSON with `// comments` and `[...]`; their shape is what counts. */
export function sample(name) {
  const text = example(name)
    .replace(/^\s*\/\/.*$/gm, '')
    .replace(/\[\.\.\.\]/g, '[]');
  return JSON.parse(text);
}

/** Fills the guide's placeholders; an example that no longer has one is an error, not a silent pass. */
export function fill(text, replacements) {
  for (const [placeholder, value] of Object.entries(replacements)) {
    if (!text.includes(placeholder)) throw new Error(`the example has no ${placeholder} to fill:\n${text}`);
    text = text.replaceAll(placeholder, value);
  }
  return text;
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A request of the guide written as HTTP (`# comment`, `METHOD /path`, then a JSON body, if any). */
export function httpExample(name) {
  const lines = example(name).split('\n');
  const at = lines.findIndex((line) => /^[A-Z]+ \//.test(line));
  const [method, route] = lines[at].split(' ');
  const rest = lines.slice(at + 1).join('\n').trim();
  return { method, route, body: rest ? JSON.parse(rest) : undefined };
}

/** One HTTP exchange as a failure message shows it. */
export function show(exchange) {
  const text = exchange.text.length > 800 ? `${exchange.text.slice(0, 800)}…` : exchange.text;
  return `${exchange.label} → ${exchange.status} ${text}`;
}

/** A request from Node (test setup and follow-up checks, not the examples themselves). */
export async function request(hearth, method, route, { body, token } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(hearth.base + route, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { label: `${method} ${route}`, status: response.status, headers: response.headers, text, json: parse(text) };
}

/** Types of the guide's sample values, recursively: what is missing or of another type in `actual`. */
export function shapeErrors(expected, actual, at = '') {
  const kind = (v) => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);
  if (kind(expected) !== kind(actual)) return [`${at || 'the body'} is ${kind(actual)}, the guide has ${kind(expected)}`];
  if (kind(expected) !== 'object') return [];
  return Object.keys(expected).flatMap((key) => shapeErrors(expected[key], actual[key], at ? `${at}.${key}` : key));
}

// curl reads $CURL_HOME/.curlrc before its command line: this one makes it print the status after
// the body (and errors, without a progress meter), so the guide's command text stays as it is.
const curlHome = mkdtempSync(path.join(os.tmpdir(), 'hearth-curl-'));
writeFileSync(path.join(curlHome, '.curlrc'), 'silent\nshow-error\nwrite-out = "\\n%{http_code}"\n');

/** Runs a cURL example in `sh` against `hearth`. */
export async function curl(hearth, name, replacements = {}) {
  const command = fill(example(name).replaceAll(GUIDE_ORIGIN, hearth.base), replacements);
  const { stdout } = await exec('sh', ['-c', command], { env: { ...process.env, CURL_HOME: curlHome } });
  const at = stdout.lastIndexOf('\n');
  const text = stdout.slice(0, at);
  return { label: `${name} (curl)`, status: Number(stdout.slice(at + 1)), text, json: parse(text) };
}

const REQUESTS = 'requests==2.32.5';
const venv = path.resolve(root, process.env.CARGO_TARGET_DIR ?? 'target', 'nchat-python');

/** A Python with `requests`, in a venv under target/ (installed once, then reused). */
async function python() {
  const stamp = path.join(venv, 'installed');
  let installed = '';
  try {
    installed = readFileSync(stamp, 'utf8');
  } catch {}
  if (installed !== REQUESTS) {
    await exec('python3', ['-m', 'venv', venv]);
    await exec(path.join(venv, 'bin', 'pip'), ['install', '-q', REQUESTS]);
    writeFileSync(stamp, REQUESTS);
  }
  return path.join(venv, 'bin', 'python');
}

// Loads the example as a module would be, calls one of its functions and prints what it returned,
// or what it raised (with the HTTP answer behind a `raise_for_status`).
const PYTHON_RUNNER = `
import json, sys
source, base, call = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
scope = {}
exec(compile(source.replace('${GUIDE_ORIGIN}', base), 'client.py', 'exec'), scope)
try:
    print(json.dumps({'value': scope[call['function']](*call['args'])}))
except Exception as error:
    response = getattr(error, 'response', None)
    print(json.dumps({'error': f'{type(error).__name__}: {error}',
                      'status': None if response is None else response.status_code,
                      'body': None if response is None else response.text}))
`;

/** Calls `fn(...args)` of the guide's Python client against `hearth`: `{value}` or `{error, status, body}`. */
export async function callPython(hearth, fn, ...args) {
  const source = reindentPython(example('client.py'));
  if (!source.includes(GUIDE_ORIGIN)) throw new Error('client.py no longer calls the guide origin');
  const call = JSON.stringify({ function: fn, args });
  const { stdout } = await exec(await python(), ['-c', PYTHON_RUNNER, source, hearth.base, call]);
  return JSON.parse(stdout);
}

/** Describes a Python outcome for a failure message. */
export function showPython(fn, outcome) {
  if (!outcome.error) return `${fn}() returned ${JSON.stringify(outcome.value)}`;
  return `${fn}() raised ${outcome.error}${outcome.status ? `; the answer was ${outcome.status} ${outcome.body}` : ''}`;
}

/** TypeScript to JavaScript: esbuild strips the types and changes nothing else. */
export function typescript(source) {
  return transformSync(source, { loader: 'ts' }).code;
}

/**
 * Runs example code in a fresh Chromium page on Hearth's origin, so the examples' relative URLs
 * reach Hearth. `prelude` defines what the example expects its caller to have (a token, a File),
 * `body` is the caller's code. Returns what `body` returned or threw, every HTTP exchange the page
 * made and what it logged to the console.
 */
export async function inPage(browser, hearth, { sources = [], prelude = '', body = '' }) {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    // An empty document on Hearth's origin: the examples' relative URLs resolve, and none of
    // Hearth's own scripts run beside them.
    const blank = `${hearth.base}/nchat-guide-example`;
    await page.route(blank, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>example</title>' }));
    await page.goto(blank);
    const exchanges = [];
    const logs = [];
    page.on('response', (r) => {
      const url = new URL(r.url());
      const label = `${r.request().method()} ${url.pathname}${url.search} (page)`;
      exchanges.push(
        r
          .text()
          .catch(() => '')
          .then((text) => ({ label, status: r.status(), text })),
      );
    });
    page.on('console', (m) => {
      // Messages without arguments are the browser's own (a failed load), not the example's.
      if (m.args().length) logs.push(Promise.all(m.args().map((a) => a.jsonValue())).then((v) => [m.type(), ...v]));
    });
    page.on('pageerror', (e) => logs.push(Promise.resolve(['pageerror', String(e)])));
    const code = sources.map(typescript).join('\n');
    let value;
    let error;
    try {
      value = await page.evaluate(`(async () => {\n${prelude}\n${code}\n${body}\n})()`);
    } catch (e) {
      error = e.message;
    }
    return { value, error, exchanges: await Promise.all(exchanges), console: await Promise.all(logs) };
  } finally {
    await context.close();
  }
}

/** Describes a page run for a failure message: what it returned or threw, and what it exchanged. */
export function showPage(run) {
  const outcome = run.error ? `threw ${run.error}` : `returned ${JSON.stringify(run.value)}`;
  const lines = [outcome, ...run.exchanges.map(show)];
  if (run.console.length) lines.push(`console: ${JSON.stringify(run.console)}`);
  return lines.join('\n  ');
}
