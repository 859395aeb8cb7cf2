// Real-browser test of the promise-to-pay follow-up (run by scripts/browser
// after review.js, against the same demo): from the cases page the
// supervisor opens the repayment import, pastes a CSV paying a demo
// customer's promise to pay (5,000.00 CNY) in full today, checks it, then
// imports it; the visit report then shows the promise kept and the
// dashboard the agent's and the team's promise kept rate. The import page
// fits a 1366x768 desk screen and a 768x1024 tablet held upright without
// sideways scrolling; screenshots of each page at both sizes.
'use strict';

const assert = require('node:assert/strict');
const { SUPERVISOR, base, noProblems, ok, run, screenshot, signIn } = require('./support');

// The demo's account references (server/src/demo/seed.rs: CC-2026-004711 on,
// every 17th), of which the reports show the last four characters.
const ACCOUNTS = Array.from({ length: 8 }, (_, n) => `CC-2026-${String(4711 + n * 17).padStart(6, '0')}`);
const SIZES = [
  [1366, 768],
  [768, 1024],
];

async function fitsWidth(page, what) {
  const { scroll, inner } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    inner: window.innerWidth,
  }));
  assert.ok(scroll <= inner, `${what}: page is ${scroll} px wide in a ${inner} px window`);
}

// Today in Beijing, where the demo's cases are: the day the payment is made.
function todayInBeijing() {
  return new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);
}

// The value next to a label of the report's definition lists.
async function reportValue(page, label) {
  return page.$$eval(
    'dl dt',
    (dts, wanted) => {
      const dt = dts.find((d) => d.textContent.trim() === wanted);
      return dt ? dt.nextElementSibling.textContent.trim() : null;
    },
    label,
  );
}

// Opens a visit report and waits for its photos (loaded lazily), so that
// none is still loading when the test moves on.
async function openReport(page, url) {
  await page.goto(url);
  for (const img of await page.locator('ul.photos img').all()) {
    await img.scrollIntoViewIfNeeded();
    await img.evaluate((i) =>
      i.complete ? null : new Promise((done) => { i.onload = done; i.onerror = done; }),
    );
  }
}

// Pastes `csv` into the import form and sends it with the `run` button.
async function send(page, csv, run) {
  await page.fill('textarea[name=csv]', csv);
  await Promise.all([page.waitForLoadState('load'), page.click(`button[name=run][value=${run}]`)]);
}

run('repayments', async (context, page) => {
  await page.setViewportSize({ width: 1366, height: 768 });
  await signIn(page, SUPERVISOR);

  // The import page, from the cases page; it fits both screens.
  await page.goto(`${base}/console/cases`);
  await Promise.all([
    page.waitForURL(/\/console\/repayments\/import$/),
    page.click('a[href="/console/repayments/import"]'),
  ]);
  for (const [width, height] of SIZES) {
    await page.setViewportSize({ width, height });
    await fitsWidth(page, `import page at ${width}x${height}`);
    await screenshot(page, `repayments-import-${width}`);
  }
  await page.setViewportSize({ width: 1366, height: 768 });
  noProblems('opening the import page');
  ok('the repayment import is linked from the cases page and fits 1366 and 768 px');

  // A visit that ended in a promise to pay, and its account: before any
  // repayment its promise is pending.
  await page.goto(`${base}/console/visits?outcome=promise_to_pay`);
  const links = await page.$$eval('table.visits a.open', (as) => as.map((a) => a.getAttribute('href')));
  assert.equal(links.length, 2, `the demo's two promises to pay: ${links}`);
  const report = `${base}${links[0]}`;
  await openReport(page, report);
  const masked = await reportValue(page, '账户编号');
  const account = ACCOUNTS.find((a) => a.slice(-4) === masked.slice(-4));
  assert.ok(account && masked.startsWith('*'), `the account of ${masked}`);
  assert.equal(await reportValue(page, '承诺履行'), '待到期');
  ok('a promise to pay is pending before any repayment');

  // Check, then import, a file paying it in full today.
  const csv = `account_ref,paid_on,amount,currency\n${account},${todayInBeijing()},5000.00,CNY\n`;
  await page.goto(`${base}/console/repayments/import`);
  await send(page, csv, 'check');
  assert.match(await page.textContent('#clean'), /1\s*$/);
  assert.equal(await page.inputValue('textarea[name=csv]'), '', 'nothing of the file is echoed back');
  await send(page, csv, 'import');
  assert.match(await page.textContent('#imported'), /1\s*$/);
  assert.ok(!(await page.content()).includes(account), 'the account is not echoed');
  for (const [width, height] of SIZES) {
    await page.setViewportSize({ width, height });
    await fitsWidth(page, `import result at ${width}x${height}`);
    await screenshot(page, `repayments-imported-${width}`);
  }
  noProblems('importing');
  ok('the file is checked, then imported: 1 repayment');

  // The report shows the promise kept.
  for (const [width, height] of SIZES) {
    await page.setViewportSize({ width, height });
    await openReport(page, report);
    assert.equal(await reportValue(page, '承诺履行'), '守约');
    await screenshot(page, `repayments-report-${width}`);
  }
  ok('the visit report shows the promise kept (守约)');

  // The dashboard: that agent kept 1 of 1 decided promises; the team too.
  for (const [width, height] of SIZES) {
    await page.setViewportSize({ width, height });
    await page.goto(`${base}/console/dashboard`);
    const rates = await page.$$eval('#by-agent tbody td.kept', (tds) => tds.map((td) => td.textContent.trim()));
    assert.deepEqual([...rates].sort(), ['100% (1/1)', '–'], `per agent: ${rates}`);
    assert.equal((await page.textContent('#team-kept-rate')).trim(), '100% (1/1)');
    await fitsWidth(page, `dashboard at ${width}x${height}`);
    await screenshot(page, `repayments-dashboard-${width}`);
  }
  noProblems('the report and the dashboard');
  ok('the dashboard shows the promise kept rate: 100% (1/1) for the agent and the team');
});
