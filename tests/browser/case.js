// Real-browser test of a case's page (run by scripts/browser after review.js,
// against the same demo): from the case list, open the case of the visit
// review.js approved; read its story (visits, notices, promises, timeline);
// record the feedback given to the customer on the approved visit and the
// bank's decision to visit again; the agent's real phone receives both on its
// next sync (the case due again that day, the feedback with the visit).
// Screenshots at 1366x768 and 768x1024; the page fits 768 px.
'use strict';

const assert = require('node:assert/strict');
const { SUPERVISOR, base, noProblems, ok, phone, run, screenshot, signIn } = require('./support');

async function fitsWidth(page, what) {
  const { scroll, inner } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    inner: window.innerWidth,
  }));
  assert.ok(scroll <= inner, `${what}: page is ${scroll} px wide in a ${inner} px window`);
}

run('case', async (context, page) => {
  await page.setViewportSize({ width: 1366, height: 768 });
  await signIn(page, SUPERVISOR);

  // The approved visit (review.js approved one): its report links to its case.
  await page.goto(`${base}/console/visits?state=approved`);
  const visitHref = await page.getAttribute('table.visits a.open', 'href');
  const visit = visitHref.split('/').pop();
  const agent = (await page.textContent('table.visits tbody tr td:nth-child(5)')).trim().split(/\s/)[0];
  await page.goto(`${base}${visitHref}`);
  await Promise.all([page.waitForURL(/\/console\/cases\/[0-9a-f-]+$/), page.click('#case-link')]);
  const caseUrl = page.url();
  assert.ok(await page.isVisible('#case-facts'));
  const visits = await page.$$eval('#case-visits a.button', (as) => as.map((a) => a.getAttribute('href')));
  assert.ok(visits.includes(visitHref), `the case lists its visit ${visitHref} among ${visits}`);
  assert.ok((await page.locator('#timeline li').count()) >= 4, 'a timeline across the visit');
  await screenshot(page, 'case-1366');
  await fitsWidth(page, 'case page at 1366');
  ok(`case page of ${agent}'s approved visit: facts, ${visits.length} visit(s), timeline`);

  // Feedback given to the customer on the approved visit.
  await page.click('#case-visits details summary');
  await page.selectOption('.feedback-form select[name=channel]', 'phone_call');
  await page.fill('.feedback-form input[name=delivered_at]', '2026-12-07T10:30');
  await page.fill('.feedback-form textarea[name=summary]', '已电话告知客户：银行同意分期，首期下月 1 日。');
  await page.check('.feedback-form input[name=customer_confirmed]');
  await Promise.all([page.waitForURL(/saved=feedback/), page.click('.feedback-form button[type=submit]')]);
  assert.match(await page.textContent('#case-visits'), /已电话告知客户/);
  noProblems('recording feedback');
  ok('feedback recorded on the approved visit');

  // The bank's decision: visit the customer again in three days.
  const next = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
  await page.selectOption('#decide select[name=kind]', 'schedule_visit');
  await page.selectOption('#decide select[name=after_visit]', visit);
  await page.fill('#decide input[name=date]', next);
  await page.fill('#decide textarea[name=note]', '核实新地址后再访。');
  await Promise.all([page.waitForURL(/saved=decision/), page.click('#decide button[type=submit]')]);
  const decisions = await page.textContent('#decisions ol');
  assert.ok(decisions.includes(next) && decisions.includes('核实新地址后再访。'), decisions);
  noProblems('recording a decision');
  ok(`decision recorded: visit again on ${next}`);

  // The agent's real phone receives the feedback and the case due again.
  const synced = phone(agent, visit, 'sync');
  assert.equal(synced.feedback.length, 1, JSON.stringify(synced));
  assert.equal(synced.case_due_date, next, JSON.stringify(synced));
  assert.equal(synced.case_status, 'new');
  ok(`${agent}'s phone holds the feedback and the case due on ${next}`);

  // A refused decision (a date in the past) says why and stores nothing. Posted
  // with the session's cookies outside the page, whose console would report
  // the 422 document as an error.
  await page.goto(caseUrl);
  const before = await page.locator('#decisions ol li').count();
  const csrf = await page.getAttribute('#decide input[name=csrf]', 'value');
  const refused = await context.request.post(`${caseUrl}/decide`, {
    form: { csrf, kind: 'schedule_visit', date: '2020-01-01' },
    maxRedirects: 0,
  });
  assert.equal(refused.status(), 422);
  assert.match(await refused.text(), /无法记录该决定或反馈/);
  await page.goto(caseUrl);
  assert.equal(await page.locator('#decisions ol li').count(), before);
  ok('a decision dated in the past is refused (422) with the reason, and nothing is stored');

  await page.setViewportSize({ width: 768, height: 1024 });
  await page.goto(caseUrl);
  await fitsWidth(page, 'case page at 768');
  await screenshot(page, 'case-768');
  ok('the case page fits a 768 px tablet');
});

