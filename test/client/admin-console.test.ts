import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../server/browser/chromium.ts';
import { expectedQuotes, quotesSite } from '../fixtures/site/quotes.ts';
import { startFixtureServer } from '../fixtures/site/server.ts';
import { startTestHub, startWorkers, TEST_ADMIN_TOKEN, waitForCrawlEnd } from '../helpers/hub.ts';
import { parseCsv } from '../server/transport/admin/helpers.ts';

type Site = Awaited<ReturnType<typeof startFixtureServer>>;
type TestHub = Awaited<ReturnType<typeof startTestHub>>;
const PAGES = 5;

let browser: Browser;
let site: Site;
let hub: TestHub;

before(async () => {
  browser = await launchChromium();
  site = await startFixtureServer(quotesSite({ pages: PAGES }));
  hub = await startTestHub();
});
after(async () => {
  await browser?.close();
  await hub?.cleanup();
  await site?.close();
});

async function signIn(page: Page): Promise<void> {
  await page.goto(`${hub.url}/admin`);
  await page.getByLabel('Admin token').fill(TEST_ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: 'New crawl' }).first().waitFor();
}

test('the operator signs in, builds the quotes crawl in the form, previews it, starts it, watches it finish and downloads the CSV', async () => {
  const workers = await startWorkers(hub.url, 2);
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  try {
    // A wrong token first: refused, with the reason, and no session.
    await page.goto(`${hub.url}/admin`);
    await page.getByLabel('Admin token').fill('not-the-admin-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: "not this hub's admin token" }).waitFor();
    assert.equal((await context.cookies()).length, 0);

    await page.getByLabel('Admin token').fill(TEST_ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'New crawl' }).first().click();
    assert.match(page.url(), /\/admin\/new$/, 'the token never goes in a URL');
    const cookies = await context.cookies();
    assert.equal(cookies.length, 1);
    assert.equal(cookies[0]!.httpOnly, true);
    assert.equal(cookies[0]!.sameSite, 'Strict');

    await page.getByLabel('Crawl name').fill('quotes');
    await page.getByLabel('Start URLs').fill(`${site.origin}/page/1/`);
    await page.getByLabel('Item selector').fill('div.quote');
    await page.getByLabel('Field 1 name').fill('text');
    await page.getByLabel('Field 1 selector').fill('span.text::text');
    await page.getByRole('button', { name: 'Add a field' }).click();
    await page.getByLabel('Field 2 name').fill('author');
    await page.getByLabel('Field 2 selector').fill('small.author::text');
    await page.getByLabel('Follow', { exact: true }).selectOption('selector');
    await page.getByLabel('Link selector').fill('li.next a::attr(href)');
    await page.getByLabel('Obey robots.txt').uncheck();

    // The form checks as the operator types, and says so at the input at fault.
    await page.getByLabel('Field 2 selector').fill('small.author::txt');
    const selectorError = page.locator('#err-fieldSelector-1');
    await selectorError.waitFor();
    assert.match(await selectorError.textContent() ?? '', /unknown pseudo-element "::txt"/);
    assert.equal(await page.getByLabel('Field 2 selector').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByRole('button', { name: 'Start crawl' }).isDisabled(), true);
    await page.getByLabel('Field 2 selector').fill('small.author::text');
    await selectorError.waitFor({ state: 'detached' });

    await page.getByRole('button', { name: 'Preview' }).click();
    const rows = page.locator('table.preview-items tbody tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 10);
    const expected = expectedQuotes(1);
    assert.deepEqual(await rows.locator('td:nth-child(2)').allTextContents(), expected.map((q) => q.text));
    assert.deepEqual(await rows.locator('td:nth-child(3)').allTextContents(), expected.map((q) => q.author));
    assert.deepEqual(await page.locator('ol.preview-links li').evaluateAll((items) => items.map((li) => li.getAttribute('title'))), [`${site.origin}/page/2/`]);
    assert.equal(hub.engine.crawls.list().length, 0, 'previewing starts nothing');

    await page.getByRole('button', { name: 'Start crawl' }).click();
    await page.waitForURL(/\/admin\/crawls\/[^/]+$/);
    const crawlId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    const summary = await waitForCrawlEnd(hub, crawlId);
    assert.equal(summary.status, 'finished');
    assert.equal(summary.pagesDone, PAGES);

    // The page shows it finished, with the right counts (live, about once a second).
    await page.locator('[data-status="finished"]').first().waitFor({ timeout: 30_000 });
    await page.waitForFunction(
      (expected) => document.querySelector('[data-count="done"]')?.textContent === expected.done && document.querySelector('[data-count="items"]')?.textContent === expected.items,
      { done: String(PAGES), items: String(PAGES * 10) },
      { timeout: 30_000 },
    );
    assert.equal(await page.locator('[data-count="failed"]').textContent(), '0');
    assert.equal(await page.locator('[data-finish-reason]').getAttribute('data-finish-reason'), 'completed');
    await page.locator('table.results tbody tr').first().waitFor();

    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('a[data-export="csv"]').click()]);
    assert.match(download.suggestedFilename(), /\.csv$/);
    const csv = parseCsv(await readFile((await download.path())!, 'utf8'));
    const stored = (await Array.fromAsync(hub.storage.iterateItems(crawlId))).map((item) => {
      const data = JSON.parse(item.data) as { text: string; author: string };
      return [item.url, item.type, data.text, data.author];
    });
    assert.deepEqual(csv[0], ['url', 'type', 'text', 'author']);
    assert.equal(stored.length, PAGES * 10);
    assert.deepEqual(csv.slice(1), stored);
  } finally {
    await context.close();
    await Promise.all(workers.map((w) => w.stop()));
  }
});

test('an invalid spec in the JSON editor is shown at the line and path at fault, and the crawl cannot be started', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await signIn(page);
    await page.getByRole('link', { name: 'New crawl' }).first().click();
    await page.getByRole('tab', { name: 'JSON' }).click();
    const spec = {
      name: 'broken',
      startUrls: [`${site.origin}/page/1/`],
      items: [{ selector: 'div.quote', fields: { author: 'small.author::text', text: 'span.text::txt' } }],
    };
    const text = JSON.stringify(spec, null, 2);
    const line = text.split('\n').findIndex((l) => l.includes('"text"')) + 1;
    await page.getByLabel('Spec as JSON').fill(text);

    const problem = page.locator('#json-problems .problem[data-path="$.items[0].fields.text"]');
    await problem.waitFor();
    assert.equal(await problem.getAttribute('data-line'), String(line));
    assert.match(await problem.textContent() ?? '', new RegExp(`line ${line}.*unknown pseudo-element "::txt"`));
    assert.equal(await page.locator('#json-problems .problem').count(), 1);
    assert.equal(await page.locator('.gutter .bad').textContent(), String(line), 'the gutter marks that line');
    const start = page.getByRole('button', { name: 'Start crawl' });
    assert.equal(await start.isDisabled(), true);
    await start.click({ force: true });

    // Not JSON at all: the editor says where, and will not switch to the form until it parses.
    await page.getByLabel('Spec as JSON').fill('{ "name": "broken", ');
    await page.locator('#json-problems .problem', { hasText: 'Not valid JSON' }).waitFor();
    await page.getByRole('tab', { name: 'Form' }).click();
    await page.getByRole('alert').filter({ hasText: 'Fix the JSON first' }).waitFor();
    assert.equal(await page.getByLabel('Spec as JSON').inputValue(), '{ "name": "broken", ', 'the text is kept');
    assert.equal(await start.isDisabled(), true);
    assert.ok(!hub.engine.crawls.list().some((c) => c.name === 'broken'), 'no crawl was created');
  } finally {
    await context.close();
  }
});

test('switching between the form and the JSON editor keeps settings the form does not show', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await signIn(page);
    await page.getByRole('link', { name: 'New crawl' }).first().click();
    await page.getByRole('tab', { name: 'JSON' }).click();
    const spec = {
      name: 'roundtrip',
      startUrls: [`${site.origin}/page/1/`],
      items: [{ selector: 'div.quote', fields: { text: { selector: 'span.text::text', process: ['normalizeWhitespace'] } }, urlPatterns: ['/page/*'] }],
      follow: [{ selector: 'li.next a', deny: ['*/login*'] }],
    };
    await page.getByLabel('Spec as JSON').fill(JSON.stringify(spec, null, 2));
    await page.getByRole('tab', { name: 'Form' }).click();
    await page.getByText('The form does not show them').waitFor();
    await page.getByLabel('Crawl name').fill('roundtrip-2');
    await page.getByRole('tab', { name: 'JSON' }).click();
    const after = JSON.parse(await page.getByLabel('Spec as JSON').inputValue());
    assert.deepEqual(after, { ...spec, name: 'roundtrip-2' });
  } finally {
    await context.close();
  }
});
