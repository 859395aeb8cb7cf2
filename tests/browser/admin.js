// Real-browser test of the admin pages (issue 14 §1), run by scripts/browser
// after review.js against the same demo: the demo's admin signs in, creates a
// supervisor on the users page; the demo's supervisor is locked out by five
// wrong passwords, the admin unlocks them from the users page and they sign
// in again at once (from the same address); the admin deactivates the
// supervisor's phone on the phones page, which then waits for the phone's
// wipe; on the teams page an agent is moved to the new supervisor's team and
// back; at the end the new supervisor signs in to the console. (A real phone
// wiping and its confirmation on the phones page are tested in Rust:
// tests/tests/remote_wipe.rs and server/tests/console_admin.rs, since wiping a
// demo agent's phone here would take it from the tests that follow.)
// Screenshots of each page at 1366x768 and 768x1024, in Chinese, and the
// users page in English too.
'use strict';

const assert = require('node:assert/strict');
const { ADMIN, PASSWORD, SUPERVISOR, base, noProblems, ok, run, screenshot, signIn } = require('./support');

const NEW_SUPERVISOR = 'zhou.supervisor';
const NEW_PASSWORD = 'zhou-supervisor-2026';
const SIZES = [
  [1366, 768],
  [768, 1024],
];

async function shots(page, name) {
  for (const [width, height] of SIZES) {
    await page.setViewportSize({ width, height });
    const { scroll, inner } = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      inner: window.innerWidth,
    }));
    assert.ok(scroll <= inner + 1, `${name}: page is ${scroll} px wide in a ${inner} px window`);
    await screenshot(page, `admin-${name}-${width}x${height}`);
  }
  await page.setViewportSize({ width: 1024, height: 768 });
}

// One sign-in through the console's form outside the browser (so that the
// refusals, 401 and 429, are not the page's errors): its HTTP status.
async function signInStatus(username, password) {
  const form = await fetch(`${base}/console/login`);
  const cookie = (form.headers.getSetCookie?.() ?? [form.headers.get('set-cookie')])
    .map((c) => c.split(';')[0])
    .find((c) => c.startsWith('doorstep_login='));
  const csrf = (await form.text()).match(/name="csrf" value="([^"]+)"/)[1];
  const answer = await fetch(`${base}/console/login`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password, csrf }).toString(),
    redirect: 'manual',
  });
  return answer.status;
}

// The users table's row of `name`.
function userRow(page, name) {
  return page.locator('#users tbody tr', { has: page.locator(`td:first-child bdi:text-is("${name}")`) });
}

run('admin', async (context, page) => {
  await signIn(page, ADMIN);
  await page.goto(`${base}/console/admin/users`);
  assert.equal(await page.locator('#users tbody tr').count() >= 4, true);
  assert.ok(await page.isVisible('nav a[href="/console/admin/teams"]'), 'the admin menu');
  noProblems('opening the users page');
  ok('the admin opens the users page');

  // Create a supervisor.
  await page.fill('#create input[name=username]', NEW_SUPERVISOR);
  await page.fill('#create input[name=password]', NEW_PASSWORD);
  await page.selectOption('#create select[name=role]', 'supervisor');
  await Promise.all([page.waitForURL(/done=created/), page.click('#create button[type=submit]')]);
  assert.ok(await page.isVisible('#done'));
  assert.equal(await userRow(page, NEW_SUPERVISOR).count(), 1);
  noProblems('creating a user');
  ok(`${NEW_SUPERVISOR} created`);

  // The demo's supervisor types a wrong password five times: locked out.
  for (let n = 0; n < 5; n += 1) {
    assert.equal(await signInStatus(SUPERVISOR, 'not-the-password'), 401, `wrong password ${n + 1}`);
  }
  assert.equal(await signInStatus(SUPERVISOR, PASSWORD), 429, 'locked out');
  await page.goto(`${base}/console/admin/users?q=supervisor`);
  assert.match(await userRow(page, SUPERVISOR).locator('.sign-in').textContent(), /锁定/);
  await shots(page, 'users-locked');
  ok(`${SUPERVISOR} locked out after five wrong passwords, and the users page says so`);

  // The admin unlocks them: they sign in at once, from the same address.
  await Promise.all([
    page.waitForURL(/done=unlocked/),
    userRow(page, SUPERVISOR).locator('button[name=unlock]').click(),
  ]);
  assert.ok(await page.isVisible('#done'));
  assert.doesNotMatch(await userRow(page, SUPERVISOR).locator('.sign-in').textContent(), /锁定/);
  assert.equal(await signInStatus(SUPERVISOR, PASSWORD), 303, 'signed in after the unlock');
  noProblems('unlocking');
  ok(`unlocked from the users page: ${SUPERVISOR} signs in again`);

  // The same page in English.
  await page.goto(`${base}/console/language/en?next=/console/admin/users`);
  assert.ok(await page.isVisible('text=Create a user'));
  await screenshot(page, 'admin-users-en-1024x768');
  await page.goto(`${base}/console/language/zh?next=/console/admin/users`);

  // The phones page: the supervisor's phone is deactivated and waits for its wipe.
  await page.goto(`${base}/console/admin/devices`);
  const devices = await page.locator('#devices tbody tr').count();
  assert.ok(devices >= 3, `${devices} phones listed`);
  const supervisorPhone = page.locator('#devices tbody tr', {
    has: page.locator(`td:first-child bdi:text-is("${SUPERVISOR}")`),
  });
  await shots(page, 'devices');
  await Promise.all([
    page.waitForURL(/done=deactivated/),
    supervisorPhone.locator('button[name=deactivate]').click(),
  ]);
  assert.ok(await supervisorPhone.locator('.wipe-waiting').isVisible());
  noProblems('deactivating a phone');
  await shots(page, 'devices-deactivated');
  ok(`${SUPERVISOR}'s phone deactivated; the phones page waits for its wipe`);

  // The teams page: an agent moves to the new supervisor's team, and back.
  await page.goto(`${base}/console/admin/teams`);
  const firstTeam = page.locator('section.team').first();
  const agent = firstTeam.locator('li').first();
  const agentName = (await agent.locator('bdi').textContent()).trim();
  const agentId = await agent.getAttribute('data-agent');
  const home = await firstTeam.getAttribute('data-supervisor');
  const zhou = await page
    .locator(`section.team:has(h2 bdi:text-is("${NEW_SUPERVISOR}"))`)
    .getAttribute('data-supervisor');
  await agent.locator('select[name=supervisor]').selectOption(zhou);
  await Promise.all([page.waitForURL(/done=moved/), agent.locator('button').click()]);
  const moved = page.locator(`section.team[data-supervisor="${zhou}"] li[data-agent="${agentId}"]`);
  assert.equal(await moved.count(), 1, `${agentName} in ${NEW_SUPERVISOR}'s team`);
  await shots(page, 'teams-moved');
  await moved.locator('select[name=supervisor]').selectOption(home);
  await Promise.all([page.waitForURL(/done=moved/), moved.locator('button').click()]);
  assert.equal(await page.locator(`section.team[data-supervisor="${home}"] li[data-agent="${agentId}"]`).count(), 1);
  noProblems('moving an agent');
  ok(`${agentName} moved to ${NEW_SUPERVISOR}'s team and back`);

  // The new supervisor signs in to the console.
  await page.click('header form button[type=submit]');
  await signIn(page, NEW_SUPERVISOR, NEW_PASSWORD);
  assert.match(page.url(), /\/console\/queue/);
  assert.ok(!(await page.isVisible('nav a[href="/console/admin/users"]')), 'no admin menu for a supervisor');
  noProblems(`${NEW_SUPERVISOR} signing in`);
  ok(`${NEW_SUPERVISOR} signs in to the console`);
});
