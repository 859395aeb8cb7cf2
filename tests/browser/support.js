// What every real-browser test of the console shares: the demo's address and
// folders from scripts/browser, numbered checks, the agent's phone, Chromium,
// and the watch on every problem a page reports. Plain JavaScript, no build
// step; each test file is run by scripts/browser as `node FILE` and exits 1 on
// the first failed check, console error, page error, failed request or HTTP
// error response (unless the test expects that status), or on a Chromium that
// cannot start.
'use strict';

const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run scripts/browser)`);
  return value;
};

/// The demo server, its folder, the demo-phone binary, Chromium, where screenshots go.
const base = env('DOORSTEP_URL');
const demoData = env('DOORSTEP_DEMO_DATA');
const demoPhone = env('DOORSTEP_DEMO_PHONE');
const chromiumPath = env('DOORSTEP_CHROMIUM');
const out = env('DOORSTEP_BROWSER_OUT');

/// The demo's people (scripts/browser starts it with --agents 2).
const SUPERVISOR = 'lin.supervisor';
const ADMIN = 'admin';
const PASSWORD = 'doorstep-demo';

let checks = 0;
function ok(what) {
  checks += 1;
  console.log(`ok ${checks} - ${what}`);
}

// Plays the agent's phone: a real doorstep-core syncing with the demo server.
function phone(agent, visit, ...action) {
  const line = execFileSync(
    demoPhone,
    ['--data', demoData, '--server', base, '--agent', agent, '--visit', visit, ...action],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 60_000 },
  );
  return JSON.parse(line);
}

// Every problem the pages report, checked after each step and at the end.
// A test that expects an error status for a URL says so with `expectStatus`.
const problems = [];
const expected = new Set();
function expectStatus(status, url) {
  expected.add(`${status} ${url}`);
}
function watch(page) {
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') {
      problems.push(`console ${message.type()} on ${page.url()}: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => problems.push(`page error on ${page.url()}: ${error.message}`));
  page.on('requestfailed', (request) => {
    problems.push(`request failed: ${request.method()} ${request.url()}: ${request.failure()?.errorText}`);
  });
  page.on('request', (request) => {
    if (process.env.DOORSTEP_BROWSER_TRACE) console.log(`  ${request.method()} ${request.url()}`);
  });
  page.on('response', (response) => {
    const status = response.status();
    if (status >= 400 && !expected.has(`${status} ${response.url()}`)) {
      problems.push(`HTTP ${status} for ${response.request().method()} ${response.url()}`);
    }
  });
}
function noProblems(step) {
  assert.deepEqual(problems, [], `problems in the page after ${step}`);
}

async function launch(userDataDir, viewport = { width: 1024, height: 768 }) {
  const { chromium } = require('playwright-core');
  try {
    return await chromium.launchPersistentContext(userDataDir, {
      executablePath: chromiumPath,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      locale: 'zh-CN',
      viewport,
      timeout: 60_000,
    });
  } catch (error) {
    throw new Error(`Chromium (${chromiumPath}) could not start: ${error.message}`);
  }
}

// Signs `username` in on `page`, ending on the page the console opens with.
async function signIn(page, username, password = PASSWORD) {
  await page.goto(`${base}/console/login`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL((url) => !url.pathname.endsWith('/login')), page.click('button[type=submit]')]);
}

// Runs `body(context, page)` in a fresh Chromium profile and reports the result:
// the number of checks passed, or the failure and every page problem (exit 1).
function run(name, body, { viewport } = {}) {
  (async () => {
    fs.mkdirSync(out, { recursive: true });
    const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'doorstep-chromium-'));
    let context;
    try {
      context = await launch(userDataDir, viewport);
      context.setDefaultTimeout(20_000);
      const page = context.pages()[0] ?? (await context.newPage());
      watch(page);
      await body(context, page);
      noProblems(`the end of ${name}`);
    } finally {
      await context?.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    }
    console.log(`browser ${name}: ${checks} passed, 0 failed`);
  })().catch((error) => {
    console.error(`FAILED (${name}): ${error.stack ?? error}`);
    if (problems.length > 0) console.error(`page problems:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  });
}

// A screenshot named `name.png` in the output folder.
async function screenshot(page, name) {
  await page.screenshot({ path: path.join(out, `${name}.png`), fullPage: true });
}

module.exports = {
  ADMIN,
  PASSWORD,
  SUPERVISOR,
  base,
  demoData,
  expectStatus,
  noProblems,
  ok,
  out,
  phone,
  run,
  screenshot,
  signIn,
  watch,
};
