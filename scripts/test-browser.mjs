// The browser test (npm run test:browser): builds the live training page, serves it on loopback, drives it in
// headless Chromium (Debian's package, through playwright-core) and checks that training starts, the loss falls,
// the accuracy rises above chance, the LR finder plots, and the page logs no errors. Saves a screenshot.
// Ends with the plain line "N passed, N failed".
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? '✓' : '✘'} ${name}${detail ? ` — ${detail}` : ''}`);
}

if (!existsSync(CHROMIUM)) {
  console.log(`Chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
execFileSync(process.execPath, ['scripts/build-browser.mjs'], { stdio: 'inherit' });
const server = await serve(new URL('../examples/browser/dist', import.meta.url).pathname);
const url = `http://127.0.0.1:${server.address().port}/`;
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
const errors = [];
try {
  const page = await browser.newPage({ viewport: { width: 1150, height: 1000 } });
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('ready'), null, {
    timeout: 60_000,
  });
  const ready = await page.textContent('#status');
  check('the worker loads the digits and the wasm backend', /backend wasm/.test(ready), ready);
  const isolated = await page.evaluate(() => crossOriginIsolated);
  check(
    'the page is cross-origin isolated, so the kernels run on several threads',
    isolated && /\d+ threads/.test(ready),
    ready,
  );

  await page.click('#lrfind');
  await page.waitForFunction(() => document.getElementById('status').textContent.includes('suggested peak lr'), null, {
    timeout: 120_000,
  });
  const lrPoints = await page.evaluate(() => document.querySelectorAll('#lrplot canvas').length);
  check('the LR finder runs and plots its curve', lrPoints > 0, await page.textContent('#status'));

  await page.fill('#lr', '0.05');
  await page.selectOption('#variant', 'both');
  await page.click('#start');
  // Train until both models have been evaluated a few times (or the run ends).
  await page.waitForFunction(
    () => {
      const s = document.getElementById('status').textContent;
      const m = s.match(/^step (\d+)/);
      return (m && Number(m[1]) >= 60) || s.includes('finished');
    },
    null,
    { timeout: 240_000 },
  );
  const status = await page.textContent('#status');
  const accs = [...status.matchAll(/(BatchNorm|deconvolution) ([\d.]+)%/g)].map((m) => [m[1], Number(m[2])]);
  check('both models train side by side', accs.length === 2, status);
  check(
    'test accuracy rises well above chance (10%)',
    accs.every(([, a]) => a > 50),
    status,
  );
  check('the loss chart is drawn', (await page.$$('#loss .uplot canvas')).length > 0);
  const loss = await page.evaluate(() => ({ ...document.getElementById('loss').dataset }));
  for (const v of ['bn', 'deconv']) {
    const first = Number(loss[`${v}FirstLoss`]);
    const now = Number(loss[`${v}Loss`]);
    check(`the ${v} loss falls`, now < first / 2, `first ${first.toFixed(3)}, recent mean ${now.toFixed(3)}`);
  }
  const grid = await page.$$eval('#grid .digit', (cells) => cells.map((c) => c.textContent));
  check('the digit grid shows predictions', grid.length === 16, grid.slice(0, 4).join(', '));
  await page.click('#stop');
  await page.waitForFunction(() => !document.getElementById('start').disabled, null, { timeout: 30_000 });
  check('stop ends training and re-enables start', true);
  mkdirSync('test-results', { recursive: true });
  await page.screenshot({ path: 'test-results/browser.png', fullPage: true });
  check('no console errors', errors.length === 0, errors.join(' | '));
} catch (e) {
  check('the page runs', false, e.message);
} finally {
  await browser.close();
  server.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
