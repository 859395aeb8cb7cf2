// Real-browser test of finding visits (run by scripts/browser after review.js,
// against the same demo): the visits list shows every state, including the
// visit review.js approved; a text search by the customer's name finds it and
// the name never reaches the address bar; sorting and filtering by state work
// without script; the queue shows how long each visit has waited; and at a
// 1366x768 desk screen and a 768x1024 tablet held upright, the queue, the
// visits list, the cases and the import pages fit without sideways scrolling.
'use strict';

const assert = require('node:assert/strict');
const { SUPERVISOR, base, noProblems, ok, run, screenshot, signIn } = require('./support');

// The list's visit links and each row's customer and state, in order.
async function rows(page) {
  return page.$$eval('table.visits tbody tr', (trs) =>
    trs.map((tr) => ({
      href: tr.querySelector('a.open').getAttribute('href'),
      customer: tr.children[3].textContent.trim(),
      state: tr.children[5].textContent.trim(),
      amount: Number(tr.children[7].childNodes[0].textContent.replace(/[^0-9.]/g, '')),
    })),
  );
}

async function fitsWidth(page, what) {
  const { scroll, inner } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    inner: window.innerWidth,
  }));
  assert.ok(scroll <= inner, `${what}: page is ${scroll} px wide in a ${inner} px window`);
}

run('visits', async (context, page) => {
  await page.setViewportSize({ width: 1366, height: 768 });
  await signIn(page, SUPERVISOR);

  // Every visit of the team, the approved one among them.
  await page.click('header nav a[href="/console/visits"]');
  await page.waitForURL(/\/console\/visits$/);
  const all = await rows(page);
  assert.equal(all.length, 8, 'the demo team has eight visits');
  const approvedLabel = (await page.$$eval('select[name=state] option[value=approved]', (o) => o[0].textContent))
    .replace(/\s*\(\d+\)$/, '');
  const approved = all.filter((r) => r.state === approvedLabel);
  assert.equal(approved.length, 1, `one approved visit (by review.js) among ${JSON.stringify(all.map((r) => r.state))}`);
  await screenshot(page, 'visits-1366');
  await fitsWidth(page, 'visits list at 1366');
  ok(`visits list: all ${all.length} visits, the approved one still there`);

  // Search by the approved visit's customer name: posted, never in the URL.
  const name = approved[0].customer;
  await page.fill('input[name=q]', name);
  await Promise.all([page.waitForLoadState('load'), page.click('form#visit-search button[type=submit]')]);
  await page.waitForSelector('table.visits, p.empty');
  assert.equal(new URL(page.url()).search, '', 'nothing typed is in the URL');
  assert.ok(!decodeURIComponent(page.url()).includes(name));
  const found = await rows(page);
  assert.ok(found.length >= 1 && found.every((r) => r.customer === name), JSON.stringify(found));
  assert.ok(found.some((r) => r.href === approved[0].href), 'the approved visit is found');
  // Sorting a searched list posts the search again and keeps it.
  await Promise.all([page.waitForLoadState('load'), page.click('th[data-sort=amount] button')]);
  assert.equal(await page.inputValue('input[name=q]'), name);
  assert.ok((await rows(page)).every((r) => r.customer === name));
  noProblems('searching');
  ok(`search by the customer's name (${found.length} visit(s)) kept out of the URL, also when sorting`);

  // Filter by state and sort by amount with plain links.
  await page.goto(`${base}/console/visits`);
  await page.selectOption('select[name=state]', 'submitted');
  await Promise.all([page.waitForURL(/state=submitted/), page.click('form#visit-search button[type=submit]')]);
  const submitted = await rows(page);
  assert.equal(submitted.length, all.length - approved.length);
  await Promise.all([page.waitForURL(/sort=amount/), page.click('th[data-sort=amount] a')]);
  const amounts = (await rows(page)).map((r) => r.amount);
  assert.deepEqual([...amounts].sort((a, b) => b - a), amounts, `descending amounts ${amounts}`);
  await Promise.all([page.waitForURL(/sort=amount(?!&dir=desc)/), page.click('th[data-sort=amount] a')]);
  const ascending = (await rows(page)).map((r) => r.amount);
  assert.deepEqual([...ascending].sort((a, b) => a - b), ascending, `ascending amounts ${ascending}`);
  noProblems('filtering and sorting');
  ok(`state filter: ${submitted.length} submitted; sorted by amount both ways`);

  // The queue says how long each visit has waited.
  await page.goto(`${base}/console/queue`);
  const waits = await page.$$eval('table.queue td.waiting', (tds) => tds.map((td) => td.textContent.trim()));
  assert.equal(waits.length, submitted.length);
  assert.ok(waits.every((w) => /\d/.test(w)), `a wait on every row: ${waits}`);
  ok(`queue: a waiting time on each of ${waits.length} rows`);

  // No sideways scrolling at a desk screen or on a tablet held upright.
  for (const [width, height] of [[1366, 768], [768, 1024]]) {
    await page.setViewportSize({ width, height });
    for (const [path, name] of [
      ['/console/queue', 'queue'],
      ['/console/visits', 'visits'],
      ['/console/cases', 'cases'],
      ['/console/cases/import', 'import'],
    ]) {
      await page.goto(`${base}${path}`);
      await fitsWidth(page, `${name} at ${width}x${height}`);
      await screenshot(page, `${name}-${width}`);
    }
    // The open action is on screen without scrolling sideways.
    await page.goto(`${base}/console/queue`);
    const button = await page.locator('table.queue a.button').first().boundingBox();
    assert.ok(button && button.x >= 0 && button.x + button.width <= width, `open button at ${JSON.stringify(button)}`);
  }
  noProblems('the layouts');
  ok('queue, visits, cases and import fit 1366 and 768 px without sideways scrolling; open comes first');
});
