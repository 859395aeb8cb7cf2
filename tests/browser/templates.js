// Real-browser test of the admin's checklist templates page (run by
// scripts/browser against the demo): the admin opens the templates page from
// the menu, uploads the home-verification checklist's version 2 as an XLSForm
// workbook (tests/fixtures/xlsform/home_verification_v2.xlsx), checks it,
// publishes it, sees it listed as the newest version and previews it as the
// phone asks it (its new questions, the condition in words, zh and en
// labels). (A refused file answers 422, which this harness counts as a page
// problem: server/tests/console_admin_templates.rs covers it.) The field
// policy page shows the values in force. A
// supervisor does not see the admin's pages in the menu. That the phone
// receives the new version on its next sync and submits a visit on it is
// tests/tests/admin_console_sync.rs (a real device core).
'use strict';

const assert = require('node:assert/strict');
const path = require('node:path');
const { ADMIN, SUPERVISOR, base, noProblems, ok, run, screenshot, signIn } = require('./support');

const WORKBOOK = path.join(__dirname, '..', 'fixtures', 'xlsform', 'home_verification_v2.xlsx');

// Chooses `file` in the upload field and presses the `run` button.
async function upload(page, file, run) {
  await page.setInputFiles('input[name=file]', file);
  await Promise.all([page.waitForLoadState('load'), page.click(`button[name=run][value=${run}]`)]);
}

run('templates', async (context, page) => {
  await page.setViewportSize({ width: 1366, height: 768 });
  await signIn(page, SUPERVISOR);
  assert.equal(await page.locator('a[href="/console/admin/templates"]').count(), 0);
  ok('a supervisor has no templates page in the menu');
  await context.clearCookies();

  await signIn(page, ADMIN);
  await Promise.all([
    page.waitForURL(/\/console\/admin\/templates$/),
    page.click('a[href="/console/admin/templates"]'),
  ]);
  const rows = page.locator('#versions tbody tr');
  assert.equal(await rows.count(), 1);
  assert.match(await rows.first().innerText(), /home-verification\s+1/);
  ok('the admin opens the templates page from the menu: version 1 is published');
  await screenshot(page, 'templates-list');

  await upload(page, WORKBOOK, 'check');
  assert.match(await page.locator('#clean').innerText(), /home-verification@2/);
  assert.equal(await rows.count(), 1);
  ok('checking the workbook says what it would publish, and publishes nothing');

  await upload(page, WORKBOOK, 'publish');
  assert.match(await page.locator('#published').innerText(), /home-verification@2/);
  assert.equal(await rows.count(), 2);
  assert.match(await rows.nth(1).innerText(), /home-verification\s+2/);
  ok('the workbook is published and listed as version 2');
  await screenshot(page, 'templates-published');
  noProblems('publishing');

  await Promise.all([
    page.waitForURL(/\/console\/admin\/templates\/home-verification\/2$/),
    page.click('a[href="/console/admin/templates/home-verification/2"]'),
  ]);
  const items = page.locator('#items tbody tr');
  assert.equal(await items.count(), 17);
  const ids = await items.evaluateAll((trs) => trs.map((tr) => tr.id));
  assert.ok(ids.indexOf('item-other_debts') < ids.indexOf('item-other_debts_total'));
  assert.ok(ids.indexOf('item-other_debts_total') < ids.indexOf('item-premises_photos'));
  const total = await page.locator('#item-other_debts_total').innerText();
  assert.match(total, /其他负债总额（人民币）/);
  assert.match(total, /Total of other debts \(CNY\)/);
  assert.match(total, /当「其他负债」包含「民间借贷」时/);
  ok('the preview lists the questions in order, with zh and en labels and the condition in words');
  await screenshot(page, 'template-preview');

  await page.goto(`${base}/console/admin/policy`);
  assert.ok(await page.locator('#fields').isVisible());
  assert.equal(await page.locator('#f-geofence_radius_m').inputValue(), '300');
  ok('the field policy page shows the values in force');
  await screenshot(page, 'policy');
});
