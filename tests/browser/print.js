// Real-browser test of the printable visit record, run by scripts/browser
// after review.js against the same demo (see support.js): sign in as the
// supervisor, open the visit review.js returned and then approved, follow the
// report's print link, wait for every photo to decode, look at it as printed
// (print media), render it to an A4 PDF with Chromium and read the PDF's text
// with pdftotext (Debian's poppler-utils): the customer's reference, the
// event log check, both decisions, and the footer (record id, printed by) on
// every page, every word inside the page. Screenshots of the print view at
// 1366x768 and 768x1024, the print media view, the PDF and its first page as
// a PNG go to the output folder. Reads only: it changes nothing in the demo.
'use strict';

const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { SUPERVISOR, base, noProblems, ok, out, run, screenshot, signIn } = require('./support');

// The Chinese labels the checks read (the browser asks for zh-CN).
const ACCOUNT_REF = '账户编号';
const APPROVED = '通过';
const RETURNED = '退回修改';

// A4 less the print stylesheet's 12 mm side margins, in CSS pixels.
const A4_CONTENT_WIDTH_PX = Math.floor(((210 - 2 * 12) / 25.4) * 96);

// Text with every space and line break taken out: pdftotext breaks lines
// where the page did, and spaces CJK text its own way.
const squeeze = (text) => text.replace(/\s+/g, '');
const count = (text, part) => text.split(part).length - 1;

// The visit review.js returned and approved, from the team's CSV export (its
// only approved visit).
async function approvedVisit(page) {
  const response = await page.request.get(`${base}/console/cases/export.csv`);
  assert.equal(response.status(), 200, 'the export downloads');
  const approved = (await response.text())
    .split(/\r?\n/)
    .map((line) => /^([0-9a-f-]{36}),[^,]*,[^,]*,[^,]*,approved,/.exec(line)?.[1])
    .filter(Boolean);
  assert.equal(approved.length, 1, `one approved visit (review.js ran first): ${approved}`);
  return approved[0];
}

// Waits until every image of the page has loaded and decoded, and returns
// their natural widths.
async function photosDecoded(page) {
  return page.$$eval('img', (images) =>
    Promise.all(
      images.map(async (img) => {
        if (!img.complete) {
          await new Promise((done) => {
            img.addEventListener('load', done, { once: true });
            img.addEventListener('error', done, { once: true });
          });
        }
        await img.decode();
        return img.naturalWidth;
      }),
    ),
  );
}

run('print', async (context, page) => {
  await signIn(page, SUPERVISOR);
  const visit = await approvedVisit(page);

  // From the report, the print link.
  await page.goto(`${base}/console/visits/${visit}`);
  await Promise.all([page.waitForURL(`${base}/console/visits/${visit}/print`), page.click('#print-link')]);
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
  assert.equal(await page.locator('nav, form, button, input, select, textarea, script').count(), 0,
    'no navigation, forms, buttons or scripts');
  const widths = await photosDecoded(page);
  assert.ok(widths.length >= 1, 'the record shows a photo');
  assert.ok(widths.every((w) => w === 320), `every photo decoded, 320 px wide: ${widths}`);
  assert.ok(await page.isVisible('figure.map svg'), 'the map is drawn');
  const reference = (
    await page.$$eval('dl dt', (dts, label) => dts.find((dt) => dt.textContent.trim() === label)
      ?.nextElementSibling?.textContent.trim(), ACCOUNT_REF)
  );
  assert.match(reference ?? '', /^\*{4,}\w{4}$/, `the account reference, masked: ${reference}`);
  const chain = (await page.textContent('#log-check')).trim();
  assert.equal(await page.getAttribute('#log-check', 'class'), 'ok', `the log is intact: ${chain}`);
  const decisions = await page.$$eval('#decisions li > b', (bs) => bs.map((b) => b.textContent.trim()));
  assert.deepEqual(decisions, [RETURNED, APPROVED], 'returned, then approved');
  const footer = squeeze(await page.textContent('#record-footer'));
  assert.ok(footer.includes(visit) && footer.includes(SUPERVISOR), `the footer: ${footer}`);
  noProblems('opening the print view');
  ok(`print view of ${visit}: no navigation or forms, ${widths.length} photo(s) decoded, map, reference ${reference}, "${chain}", decisions ${decisions.join(' → ')}`);

  // As the screen shows it, on a desk and on a tablet.
  await page.setViewportSize({ width: 1366, height: 768 });
  await screenshot(page, 'print-1366x768');
  await page.setViewportSize({ width: 768, height: 1024 });
  await screenshot(page, 'print-768x1024');

  // As printed: the tools line goes, and nothing is wider than A4's text.
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.isVisible('.record-tools'), false, 'the back link and hint are not printed');
  await page.setViewportSize({ width: A4_CONTENT_WIDTH_PX, height: 1024 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the record fits A4's width (${overflow} px too wide)`);
  await screenshot(page, 'print-media');
  ok(`print media: tools hidden, fits ${A4_CONTENT_WIDTH_PX} px (A4 less margins)`);

  // The PDF, and its text.
  const pdf = path.join(out, 'visit-record.pdf');
  await page.pdf({ path: pdf, format: 'A4', printBackground: true });
  const pages = Number(/^Pages:\s+(\d+)$/m.exec(execFileSync('pdfinfo', [pdf], { encoding: 'utf8' }))[1]);
  const size = /^Page size:\s+([\d.]+) x ([\d.]+) pts/m.exec(execFileSync('pdfinfo', [pdf], { encoding: 'utf8' }));
  assert.ok(Math.abs(Number(size[1]) - 595.28) < 1 && Math.abs(Number(size[2]) - 841.89) < 1, `A4: ${size[0]}`);
  const text = squeeze(execFileSync('pdftotext', ['-enc', 'UTF-8', pdf, '-'], { encoding: 'utf8' }));
  assert.ok(text.includes(squeeze(reference)), `the PDF has the reference ${reference}`);
  assert.ok(text.includes(squeeze(chain)), `the PDF has the chain result "${chain}"`);
  assert.ok(text.includes(RETURNED) && text.includes(APPROVED), 'the PDF has both decisions');
  // The record id once in the heading and once in each page's footer.
  assert.equal(count(text, visit), pages + 1, `the record id on each of ${pages} page(s) and in the heading`);
  assert.ok(count(text, `打印人:${SUPERVISOR}`) === pages, `printed by ${SUPERVISOR} on every page`);
  // Every word lies inside the page: nothing is cut at the right edge.
  const boxes = execFileSync('pdftotext', ['-bbox', pdf, '-'], { encoding: 'utf8' });
  const pageWidth = Number(/<page width="([\d.]+)"/.exec(boxes)[1]);
  const widest = Math.max(...[...boxes.matchAll(/xMax="([\d.]+)"/g)].map((m) => Number(m[1])));
  assert.ok(widest <= pageWidth, `every word inside the page (${widest} of ${pageWidth} pt)`);
  execFileSync('pdftoppm', ['-png', '-r', '72', '-f', '1', '-l', '1', pdf, path.join(out, 'visit-record-page')]);
  noProblems('printing');
  ok(`A4 PDF, ${pages} page(s): reference, chain result, both decisions, footer on every page, nothing cut`);
});
