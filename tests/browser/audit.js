// Real-browser test of the audit trail, in headless Chromium driven by
// playwright-core, run by scripts/browser after review.js against the same
// demo (see support.js), so the review's views and decisions are in the log:
// sign in as the supervisor, open the trail from the menu, find the report
// and photo views and the two decisions, filter by action, download the CSV
// and check it holds the page's rows, see the download itself audited; the
// page at 1366x768 and on a 768x1024 tablet (no sideways scrolling), in
// Chinese and in English; the admin sees at least as much.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const { ADMIN, SUPERVISOR, base, noProblems, ok, run, screenshot, signIn } = require('./support');

const COLUMNS = ['id', 'at', 'user_id', 'user', 'role', 'device_id', 'action', 'target_kind', 'target_id', 'refusal'];

// The rows of the audit table as shown.
async function auditRows(page) {
  return page.$$eval('table.audit tbody tr', (rows) =>
    rows.map((row) => ({
      id: Number(row.dataset.id),
      action: row.dataset.action,
      user: row.children[1].textContent.trim(),
      target: row.children[3].getAttribute('title'),
      link: row.children[3].querySelector('a')?.getAttribute('href') ?? null,
      refusal: row.children[4].textContent.trim(),
    })),
  );
}

async function total(page) {
  return Number(await page.textContent('#audit-total'));
}

// RFC 4180: fields separated by commas, quoted when they hold a comma, a
// quote or a line break, quotes doubled inside.
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else {
      field += c;
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

// Signs in with a wrong password through the sign-in form, as a browser
// would post it (its token and cookie first); the answer's status.
async function mistype(username) {
  const form = await fetch(`${base}/console/login`);
  const cookie = form.headers.getSetCookie().find((c) => c.startsWith('doorstep_login='));
  const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())[1];
  const answer = await fetch(`${base}/console/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookie.split(';')[0] },
    body: new URLSearchParams({ username, password: 'not-the-password', csrf }).toString(),
  });
  return answer.status;
}

// Nothing wider than the window: the document does not scroll sideways.
async function fitsTheWidth(page, what) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  assert.ok(scrollWidth <= innerWidth, `${what}: ${scrollWidth} px of content in a ${innerWidth} px window`);
  // Nor does the table scroll inside its box: every column is in view.
  const table = await page.$eval('div.scroll', (box) => ({ scrollWidth: box.scrollWidth, clientWidth: box.clientWidth }));
  assert.ok(table.scrollWidth <= table.clientWidth, `${what}: the table is ${table.scrollWidth} px in a ${table.clientWidth} px box`);
  return { scrollWidth, innerWidth };
}

run(
  'audit',
  async (context, page) => {
    // 0. A mistyped password first, from another client (so that the page
    // shows no failed request): a refused sign-in under the supervisor's name.
    assert.equal(await mistype(SUPERVISOR), 401);

    // 1. The supervisor opens the trail from the menu.
    await signIn(page, SUPERVISOR);
    await Promise.all([page.waitForURL(/\/console\/audit$/), page.click('header nav a[href="/console/audit"]')]);
    assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
    assert.equal((await page.textContent('h1')).trim(), '审计记录');
    const all = await auditRows(page);
    const shown = await total(page);
    assert.ok(all.length > 0 && all.length <= 50, `one page of rows (${all.length})`);
    assert.ok(shown >= all.length);
    const ids = all.map((r) => r.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first');
    ok(`the trail from the menu: ${shown} rows of the team, newest first`);

    // 2. The review's reads and decisions are there, linked to the visit.
    const decisions = all.filter((r) => r.action === 'review');
    assert.ok(decisions.length >= 2, `the return and the approval in ${JSON.stringify(all.map((r) => r.action))}`);
    const visit = decisions[0].target;
    assert.ok(decisions.slice(0, 2).every((r) => r.target === visit), 'both decisions on one visit');
    assert.equal(decisions[0].link, `/console/visits/${visit}`);
    assert.ok(decisions.every((r) => r.user.includes(SUPERVISOR)), 'decided by the supervisor');
    const views = all.filter((r) => r.action === 'console_view_visit' && r.target === visit);
    assert.ok(views.length >= 3, `the report viewed before and after each decision (${views.length})`);
    const photos = all.filter((r) => r.action === 'console_view_attachment' && r.target === visit);
    assert.ok(photos.length >= 1, 'the photo viewed');
    assert.ok(all.some((r) => r.action === 'console_sign_in'), 'the sign-in');
    await screenshot(page, 'audit-zh-1366');
    await fitsTheWidth(page, 'the trail at 1366 px');
    noProblems('opening the trail');
    ok(`visit ${visit}: ${views.length} report views, ${photos.length} photo views, ${decisions.length} decisions`);

    // 3. Filtered by action, through the form.
    await page.selectOption('select[name=action]', 'review');
    await Promise.all([page.waitForURL(/\/console\/audit\?.*action=review/), page.click('#audit-filters button[type=submit]')]);
    const reviews = await auditRows(page);
    assert.ok(reviews.length >= 2 && reviews.every((r) => r.action === 'review'));
    assert.equal(await total(page), reviews.length);
    assert.deepEqual(
      reviews.map((r) => r.id),
      decisions.map((r) => r.id),
      'the same decisions as on the unfiltered page',
    );
    ok(`filtered by action: ${reviews.length} decisions only`);

    // The mistyped password, among the refused attempts, said in words.
    await page.selectOption('select[name=action]', 'refused');
    await Promise.all([page.waitForURL(/action=refused/), page.click('#audit-filters button[type=submit]')]);
    const refused = await auditRows(page);
    const mistyped = refused.find((r) => r.action === 'sign_in_refused' && r.user.includes(SUPERVISOR));
    assert.ok(mistyped, `the refused sign-in in ${JSON.stringify(refused)}`);
    assert.equal(mistyped.refusal, '用户名或密码错误');
    assert.equal(await page.locator('table.audit tr.refused').count(), refused.length);
    await screenshot(page, 'audit-refused-zh-1366');
    ok(`refused attempts: ${refused.length}, the mistyped password among them ("${mistyped.refusal}")`);
    await page.goto(`${base}/console/audit?action=review`);

    // 4. The CSV of the same filter: the page's rows, in order.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#audit-csv')]);
    assert.equal(download.suggestedFilename(), 'audit.csv');
    const text = fs.readFileSync(await download.path(), 'utf8');
    const [header, ...lines] = parseCsv(text).filter((row) => row.length > 1);
    assert.deepEqual(header, COLUMNS);
    assert.deepEqual(
      lines.map((l) => Number(l[0])),
      reviews.map((r) => r.id),
      'the CSV holds the page rows',
    );
    for (const line of lines) {
      assert.equal(line[6], 'review');
      assert.equal(line[3], SUPERVISOR);
      assert.equal(line[4], 'supervisor');
      assert.match(line[1], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'times in UTC');
      assert.equal(line[7], 'visit');
    }
    assert.equal(lines[0][8], visit);
    ok(`downloaded audit.csv: ${lines.length} rows, the page's, in order`);

    // 5. The download is itself audited, linking back to its filter.
    await page.goto(`${base}/console/audit?action=console_export_audit`);
    const exports = await auditRows(page);
    assert.ok(exports.length >= 1);
    assert.equal(exports[0].link, '/console/audit?action=review');
    assert.ok(exports[0].user.includes(SUPERVISOR));
    noProblems('exporting');
    ok('the export is audited with its filter');

    // 6. On a tablet, 768 px wide: no sideways scrolling, in both languages.
    await page.goto(`${base}/console/audit`);
    await page.setViewportSize({ width: 768, height: 1024 });
    let fit = await fitsTheWidth(page, 'the trail at 768 px, in Chinese');
    await screenshot(page, 'audit-zh-768');
    await Promise.all([page.waitForURL(/\/console\/audit$/), page.click('header .lang a[lang=en]')]);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal((await page.textContent('h1')).trim(), 'Audit trail');
    assert.ok((await page.textContent('table.audit')).includes('Decided on a visit'));
    fit = await fitsTheWidth(page, 'the trail at 768 px, in English');
    await screenshot(page, 'audit-en-768');
    await page.setViewportSize({ width: 1366, height: 768 });
    await fitsTheWidth(page, 'the trail at 1366 px, in English');
    await screenshot(page, 'audit-en-1366');
    noProblems('the tablet');
    ok(`fits a 768 px tablet (${fit.scrollWidth} px of content) and 1366 px, in Chinese and English`);

    // 7. The admin sees every row, at least the team's.
    await Promise.all([page.waitForURL(/\/console\/login$/), page.click('header form button[type=submit]')]);
    await signIn(page, ADMIN);
    await page.goto(`${base}/console/audit`);
    const everything = await total(page);
    assert.ok(everything >= shown, `the admin's ${everything} rows hold the team's ${shown}`);
    const adminRows = await auditRows(page);
    assert.ok(adminRows.some((r) => r.action === 'console_sign_in' && r.user.includes(ADMIN)));
    noProblems('the admin');
    ok(`the admin sees ${everything} rows`);
  },
  { viewport: { width: 1366, height: 768 } },
);
