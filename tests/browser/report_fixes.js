// Real-browser test of what was seen to be wrong on the report (issue 12 §5),
// run by scripts/browser after review.js against the same demo (see
// support.js); it reads only. The visit review.js returned and approved: its
// timeline in the case's offset (UTC+08:00) naming both decisions, two-digit
// list numbers in view, whole photos in the thumbnails, the phone label in
// Chinese, a map whose words never overlap and use 米; then a thumbnail opens
// the photo's own page (the report's header, the image decoded, a way back)
// without a console error under the console's Content-Security-Policy.
'use strict';

const assert = require('node:assert/strict');
const { SUPERVISOR, base, noProblems, ok, run, screenshot, signIn } = require('./support');

run('report_fixes', async (context, page) => {
  await page.setViewportSize({ width: 1366, height: 768 });
  await signIn(page, SUPERVISOR);
  await page.goto(`${base}/console/visits?state=approved`);
  const href = await page.getAttribute('table.visits a.open', 'href');
  await page.goto(`${base}${href}`);

  // The timeline: every time in UTC+08:00, both reviews named by decision.
  const times = await page.$$eval('ol.timeline li span.muted', (s) => s.map((x) => x.textContent));
  assert.ok(times.length >= 10, `a two-digit timeline: ${times.length} entries`);
  assert.ok(times.every((t) => t.endsWith('(UTC+08:00)')), `times in the case's offset: ${times}`);
  const kinds = await page.$$eval('ol.timeline li bdi', (b) => b.map((x) => x.textContent));
  assert.ok(kinds.includes('通过') && kinds.includes('退回修改'), `decisions named: ${kinds}`);
  ok(`timeline: ${times.length} entries, all UTC+08:00, the return and the approval named`);

  // Two-digit numbers fit in the list's left padding.
  for (const list of ['ol.timeline', 'ol.notes', 'ol.reviews']) {
    const { padding, needed } = await page.$eval(list, (ol) => {
      const probe = document.createElement('span');
      probe.textContent = '99.\u00a0';
      probe.style.position = 'absolute';
      ol.appendChild(probe);
      const needed = probe.getBoundingClientRect().width;
      probe.remove();
      return { padding: parseFloat(getComputedStyle(ol).paddingLeft), needed };
    });
    assert.ok(padding >= needed, `${list}: ${padding} px of padding for a ${needed} px number`);
  }
  ok('two-digit list numbers fit in the lists\' padding');

  // Whole photos in the thumbnails.
  const fits = await page.$$eval('ul.photos img', (imgs) => imgs.map((i) => getComputedStyle(i).objectFit));
  assert.ok(fits.length >= 1 && fits.every((f) => f === 'contain'), `thumbnails: ${fits}`);
  // The phone's label in Chinese.
  const facts = await page.textContent('section.card dl');
  assert.ok(facts.includes('手机 ') && !facts.includes('mobile'), 'the phone label is translated');
  ok('thumbnails show whole photos; the phone label is in Chinese');

  // The map: no two words overlap, all inside the drawing, lengths in 米.
  const boxes = await page.$$eval('figure.map svg text', (texts) =>
    texts.map((t) => {
      const b = t.getBoundingClientRect();
      return { text: t.textContent, left: b.left, right: b.right, top: b.top, bottom: b.bottom };
    }),
  );
  const svg = await page.$eval('figure.map svg', (s) => {
    const b = s.getBoundingClientRect();
    return { left: b.left, right: b.right, top: b.top, bottom: b.bottom };
  });
  assert.ok(boxes.length >= 4, `the map's words: ${JSON.stringify(boxes)}`);
  for (const [i, a] of boxes.entries()) {
    assert.ok(a.left >= svg.left && a.right <= svg.right + 0.5 && a.top >= svg.top && a.bottom <= svg.bottom + 0.5,
      `"${a.text}" inside the map`);
    for (const b of boxes.slice(i + 1)) {
      const apart = a.right <= b.left || b.right <= a.left || a.bottom <= b.top || b.bottom <= a.top;
      assert.ok(apart, `"${a.text}" and "${b.text}" overlap`);
    }
  }
  const words = boxes.map((b) => b.text).join(' | ');
  assert.ok(/\d 米/.test(words) && !/\d m\b/.test(words), `one unit: ${words}`);
  await screenshot(page, 'report-fixes-1366');
  ok(`map: ${boxes.length} words apart, inside the drawing, in 米`);

  // A thumbnail opens the photo's page, CSP-clean.
  noProblems('the report');
  await Promise.all([page.waitForURL(/\/photos\/0$/), page.click('ul.photos a >> nth=0')]);
  const width = await page.$eval('figure.photo-full img', async (img) => {
    if (!img.complete) await new Promise((done) => img.addEventListener('load', done, { once: true }));
    await img.decode();
    return img.naturalWidth;
  });
  assert.equal(width, 320, 'the photo decoded at full size');
  assert.ok(await page.isVisible('header.bar'), 'the console header');
  assert.ok((await page.textContent('h1')).includes('走访报告'), "the report's header");
  await screenshot(page, 'photo-page-1366');
  noProblems('the photo page');
  await Promise.all([page.waitForURL(`${base}${href}`), page.click('#back-to-report')]);
  ok('the photo opens on its own page (no console error) and leads back to the report');
});
