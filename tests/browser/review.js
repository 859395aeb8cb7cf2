// Real-browser test of the review loop, in headless Chromium driven by
// playwright-core, run by scripts/browser against the demo (see support.js):
// sign in, filter the queue, open a report and see its photo, return it; the
// agent's real phone receives the return and resubmits; approve it; the
// English queue and dashboard; sign out. Runs first: it expects the demo's
// eight submitted visits untouched.
'use strict';

const assert = require('node:assert/strict');
const path = require('node:path');
const { PASSWORD, SUPERVISOR, base, noProblems, ok, out, phone, run } = require('./support');

const VISITS = 8; // the demo with --agents 2: four visits each, all submitted
const RETURN_COMMENT = '请补拍门牌号照片，并说明为何在 650 米外签到。<b>不是粗体</b>';
const RESUBMIT_NOTE = '已补拍门牌号照片；签到时在对面小区门口，GPS 信号差。';

// The queue's rows: link, agents and flags of each.
async function queueRows(page) {
  return page.$$eval('table.queue tbody tr', (rows) =>
    rows.map((row) => ({
      href: row.querySelector('a.button').getAttribute('href'),
      agents: row.querySelector('td.agents').textContent.trim(),
      flags: [...row.querySelectorAll('.flag')].map((f) => f.textContent.trim()),
    })),
  );
}

// The choices of a filter, with the count shown beside each.
async function filterChoices(page, name) {
  return page.$$eval(`select[name=${name}] option`, (options) =>
    options
      .filter((o) => o.value !== '')
      .map((o) => ({ value: o.value, label: o.textContent, count: Number(/\((\d+)\)\s*$/.exec(o.textContent)?.[1]) })),
  );
}

async function shownOfTotal(page) {
  const text = await page.textContent('p.muted:has(#shown)');
  const [, shown, total] = /(\d+)\s*\/\s*(\d+)/.exec(text);
  return { shown: Number(shown), total: Number(total) };
}

async function filterBy(page, filters) {
  await page.goto(`${base}/console/queue`);
  for (const [name, value] of Object.entries(filters)) {
    await page.selectOption(`select[name=${name}]`, value);
  }
  await Promise.all([page.waitForURL(/\/console\/queue\?/), page.click('form.filters button[type=submit]')]);
}

run('review', async (context, page) => {
  // 1. Sign in as the team's supervisor.
  await page.goto(`${base}/console`);
  await page.waitForURL(/\/console\/login$/);
  await page.fill('input[name=username]', SUPERVISOR);
  await page.fill('input[name=password]', PASSWORD);
  await Promise.all([page.waitForURL(/\/console\/queue$/), page.click('button[type=submit]')]);
  assert.match(await page.textContent('header .who'), new RegExp(SUPERVISOR.replace('.', '\\.')));
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
  const cookies = await context.cookies(`${base}/console`);
  const session = cookies.find((c) => c.name === 'doorstep_console');
  assert.ok(session && session.httpOnly && session.sameSite === 'Strict', 'session cookie HttpOnly, SameSite=Strict');
  ok('signed in as the supervisor (Chinese by default, HttpOnly SameSite=Strict session)');

  // 2. The queue: every submitted visit of the team, then filtered.
  let rows = await queueRows(page);
  let counts = await shownOfTotal(page);
  assert.equal(rows.length, VISITS);
  assert.deepEqual(counts, { shown: VISITS, total: VISITS });
  await page.screenshot({ path: path.join(out, 'queue.png'), fullPage: true });
  ok(`queue lists the team's ${VISITS} submitted visits`);

  const allAgents = await filterChoices(page, 'agent');
  assert.equal(allAgents.length, 2);
  assert.equal(allAgents.reduce((sum, a) => sum + a.count, 0), VISITS, 'agent counts add up');
  const flags = await filterChoices(page, 'flag');
  const far = flags.find((f) => f.value === 'far_from_address');
  assert.ok(far, `a far-from-address filter among ${JSON.stringify(flags)}`);
  assert.equal(far.count, 1, 'one visit checked in far from the address');
  await filterBy(page, { flag: 'far_from_address' });
  assert.match(page.url(), /flag=far_from_address/);
  rows = await queueRows(page);
  counts = await shownOfTotal(page);
  assert.equal(rows.length, far.count);
  assert.deepEqual(counts, { shown: far.count, total: VISITS });
  const farLabel = far.label.replace(/\s*\(\d+\)\s*$/, '').trim();
  assert.ok(rows.every((r) => r.flags.includes(farLabel)), `every row flagged ${farLabel}`);
  const target = rows[0];
  const agent = target.agents.split(/[,，、\s]+/)[0];
  assert.match(agent, /^agent\./);
  // The other filters' counts follow the chosen flag.
  const flaggedAgents = await filterChoices(page, 'agent');
  for (const a of flaggedAgents) {
    assert.equal(a.count, a.label.startsWith(`${agent} `) ? 1 : 0, `count of ${a.label} under the flag`);
  }
  ok(`flag filter: ${far.count} of ${VISITS} rows, each flagged "${farLabel}" (by ${agent}); agent counts follow`);

  const mine = allAgents.find((a) => a.label.startsWith(`${agent} `));
  assert.ok(mine && mine.count === 4, `${agent} has 4 visits in ${JSON.stringify(allAgents)}`);
  await filterBy(page, { agent: mine.value });
  rows = await queueRows(page);
  assert.equal(rows.length, mine.count);
  assert.ok(rows.every((r) => r.agents.includes(agent)), `every row is ${agent}'s`);
  assert.ok(rows.some((r) => r.href === target.href), 'the flagged visit is among them');
  await filterBy(page, { agent: mine.value, flag: 'far_from_address' });
  rows = await queueRows(page);
  assert.deepEqual(rows.map((r) => r.href), [target.href]);
  noProblems('filtering');
  ok(`agent filter: ${mine.count} rows, all ${agent}'s; agent + flag: the one visit`);

  // 3. The report, with its photo really loaded.
  await Promise.all([page.waitForURL(`${base}${target.href}`), page.click(`a.button[href="${target.href}"]`)]);
  const visit = target.href.split('/').pop();
  const photos = page.locator('ul.photos img');
  assert.ok((await photos.count()) >= 1, 'the report shows a photo');
  for (const img of await photos.all()) {
    await img.scrollIntoViewIfNeeded();
    await img.evaluate((i) =>
      i.complete ? null : new Promise((done) => { i.onload = done; i.onerror = done; }),
    );
    const width = await img.evaluate((i) => i.naturalWidth);
    assert.equal(width, 320, `photo ${await img.getAttribute('src')} decoded (naturalWidth ${width})`);
  }
  assert.equal(await page.getAttribute('#log-check', 'class'), 'ok', 'event log verified intact');
  assert.ok(await page.isVisible('figure.map svg'), 'the check-in map is drawn');
  await page.screenshot({ path: path.join(out, 'report.png'), fullPage: true });
  noProblems('opening the report');
  ok(`report of visit ${visit}: ${await photos.count()} photo(s) decoded (320 px wide), log intact, map drawn`);

  // 4. Return it with a reason and a comment.
  const reasons = await page.$$eval('select[name=reason_code] option', (o) => o.map((x) => x.value));
  const reason = reasons.includes('missing_photos') ? 'missing_photos' : reasons[0];
  await page.selectOption('select[name=reason_code]', reason);
  await page.fill('textarea[name=comment]', RETURN_COMMENT);
  await Promise.all([page.waitForURL(new RegExp(`/console/visits/${visit}`)), page.click('button.return')]);
  await page.waitForSelector('ol.reviews li');
  assert.equal(await page.isVisible('#decide'), false, 'no decision form on a returned visit');
  const comment = await page.textContent('ol.reviews li:last-child p.note');
  assert.equal(comment, RETURN_COMMENT, 'the comment is shown as typed, markup as text');
  assert.equal(await page.locator('ol.reviews b:text("不是粗体")').count(), 0, 'markup in a comment is not rendered');
  await page.screenshot({ path: path.join(out, 'report-returned.png'), fullPage: true });
  await page.goto(`${base}/console/queue`);
  rows = await queueRows(page);
  assert.equal(rows.length, VISITS - 1);
  assert.ok(!rows.some((r) => r.href === target.href), 'a returned visit leaves the queue');
  noProblems('returning');
  ok(`returned with reason ${reason} and a comment; the queue shows ${VISITS - 1}`);

  // 5. The agent's phone receives the return on its next sync, and resubmits.
  const returned = phone(agent, visit, 'sync');
  assert.equal(returned.state, 'returned', JSON.stringify(returned));
  assert.deepEqual(returned.reviews.at(-1), { decision: 'return', reason_code: reason, comment: RETURN_COMMENT });
  assert.ok(returned.sync.pulled > 0);
  ok(`${agent}'s phone synced: visit returned, reason ${reason}, comment as typed`);
  const resubmitted = phone(agent, visit, 'resubmit', '--note', RESUBMIT_NOTE);
  assert.equal(resubmitted.state, 'submitted', JSON.stringify(resubmitted));
  assert.equal(resubmitted.pending, 0);
  assert.ok(resubmitted.notes.includes(RESUBMIT_NOTE));
  ok(`${agent}'s phone added a note and resubmitted; nothing left to push`);

  // 6. Approve the resubmission in the browser.
  await page.goto(`${base}/console/queue`);
  rows = await queueRows(page);
  assert.equal(rows.length, VISITS);
  assert.ok(rows.some((r) => r.href === target.href), 'the resubmission is back in the queue');
  await Promise.all([page.waitForURL(`${base}${target.href}`), page.click(`a.button[href="${target.href}"]`)]);
  assert.ok((await page.textContent('#since-return')).length > 0, 'what changed since the return is listed');
  const notes = await page.$$eval('ol.notes p.note', (ps) => ps.map((p) => p.textContent));
  assert.ok(notes.includes(RESUBMIT_NOTE), 'the new note is in the report');
  await page.screenshot({ path: path.join(out, 'report-resubmitted.png'), fullPage: true });
  await Promise.all([page.waitForURL(new RegExp(`/console/visits/${visit}`)), page.click('button.approve')]);
  await page.waitForSelector('ol.reviews li:nth-child(2)');
  assert.equal(await page.isVisible('#decide'), false, 'no decision form on an approved visit');
  await page.goto(`${base}/console/queue`);
  rows = await queueRows(page);
  counts = await shownOfTotal(page);
  assert.equal(rows.length, VISITS - 1);
  assert.deepEqual(counts, { shown: VISITS - 1, total: VISITS - 1 });
  assert.ok(!rows.some((r) => r.href === target.href), 'an approved visit leaves the queue');
  await page.screenshot({ path: path.join(out, 'queue-after.png'), fullPage: true });
  noProblems('approving');
  ok(`approved in the browser; the queue no longer lists it (${VISITS - 1} left)`);

  const approved = phone(agent, visit, 'sync');
  assert.equal(approved.state, 'approved', JSON.stringify(approved));
  ok(`${agent}'s phone received the approval`);

  // In English, the team dashboard: charts drawn on the server, one line per agent.
  await Promise.all([page.waitForURL(/\/console\/queue$/), page.click('header .lang a[lang=en]')]);
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.equal((await page.textContent('h1')).trim(), 'Review queue');
  await page.screenshot({ path: path.join(out, 'queue-en.png'), fullPage: true });
  await page.click('header nav a[href="/console/dashboard"]');
  await page.waitForURL(/\/console\/dashboard$/);
  assert.equal(await page.locator('figure.chart svg').count(), 2, 'two charts');
  const agentLines = await page.$$eval('#by-agent tbody tr td:first-child', (tds) => tds.map((t) => t.textContent.trim()));
  assert.deepEqual(agentLines.sort(), allAgents.map((a) => a.label.replace(/\s*\(\d+\)\s*$/, '')).sort());
  await page.screenshot({ path: path.join(out, 'dashboard-en.png'), fullPage: true });
  noProblems('the dashboard');
  ok(`English queue and dashboard: 2 SVG charts, lines for ${agentLines.join(', ')}`);

  // Signing out ends the session: the queue asks for sign-in again.
  await Promise.all([page.waitForURL(/\/console\/login$/), page.click('header form button[type=submit]')]);
  await page.goto(`${base}/console/queue`);
  await page.waitForURL(/\/console\/login$/);
  noProblems('signing out');
  ok('signed out; the queue asks for sign-in again');
});
