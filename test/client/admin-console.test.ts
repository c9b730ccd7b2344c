import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../server/browser/chromium.ts';
import { expectedQuotes, quotesSite } from '../fixtures/site/quotes.ts';
import { startFixtureServer } from '../fixtures/site/server.ts';
import { quotesSpec, startTestHub, startWorkers, TEST_ADMIN_TOKEN, waitForCrawlEnd } from '../helpers/hub.ts';
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

test('the Contributors page shows the fleet\'s hubs, trust per contributor, issues and revokes a worker token, and lifts a ban made through the API', async () => {
  // A volunteer of its own address crawls two pages: on probation, both results checked.
  const [worker] = await startWorkers(hub.url, 1, { name: 'ui-volunteer', clientId: 'ui-volunteer-client-0001', localAddress: '127.0.0.4' });
  const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { name: 'trust-ui', limits: { maxPages: 2 } }));
  const summary = await waitForCrawlEnd(hub, crawl.id);
  await worker!.stop();
  assert.deepEqual([summary.pagesDone, summary.validation.checked], [2, 2]);

  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await signIn(page);
    // The crawl's page shows its validation figures.
    await page.goto(`${hub.url}/admin/crawls/${encodeURIComponent(crawl.id)}`);
    await page.waitForFunction(() => document.querySelector('[data-validation="checked"]')?.textContent === '2');
    assert.equal(await page.locator('[data-validation="rejected"]').textContent(), '0');
    assert.equal(await page.locator('[data-validation="pending"]').textContent(), '0');

    await page.getByRole('link', { name: /Contributors/ }).click();
    // The fleet: this hub, alive, at its address (a SQLite hub is a fleet of one).
    const hubRow = page.locator(`tr[data-hub="${hub.fleet.id}"]`);
    await hubRow.waitFor();
    assert.equal(await hubRow.getAttribute('data-alive'), 'true');
    assert.match(await hubRow.textContent() ?? '', new RegExp(`${hub.url.replace(/[.]/g, '\\.')}.*alive`));
    const browserRow = page.locator('tr[data-trust="client:ui-volunteer-client-0001"]');
    await browserRow.waitFor();
    assert.equal(await browserRow.getAttribute('data-state'), 'probation');
    assert.match(await browserRow.textContent() ?? '', /ui-volunteer/);
    assert.equal(await page.locator('tr[data-trust="address:127.0.0.4"]').getAttribute('data-state'), 'probation');

    // A worker token: shown once, with the command lines that use it; then revoked.
    await page.getByLabel('Token name').fill('edge-ui');
    await page.getByRole('button', { name: 'Issue token' }).click();
    const shown = page.locator('[data-issued-token]');
    await shown.waitFor();
    const token = (await shown.textContent())!;
    assert.match(token, /^cct_/);
    assert.ok(hub.engine.trust.tokenValid(token), 'the hub issued that token');
    assert.equal(await page.locator('[data-command="flag"]').textContent(), `crowdcrawl workers --hub ${hub.url} --token ${token}`);
    assert.equal(await page.locator('[data-command="env"]').textContent(), `CROWDCRAWL_WORKER_TOKEN=${token} crowdcrawl workers --hub ${hub.url}`);
    const listed = page.locator('[data-token-id]', { hasText: 'edge-ui' });
    await listed.waitFor();
    await listed.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await listed.waitFor({ state: 'detached' });
    await shown.waitFor({ state: 'detached' });
    assert.equal(hub.engine.trust.tokenValid(token), false, 'revoked');

    // A ban made through the API shows up (the page reads again every few seconds), and Unban lifts it.
    const res = await fetch(`${hub.url}/api/bans`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ address: '127.0.0.4', reason: 'forged prices' }),
    });
    assert.equal(res.status, 201);
    const banRow = page.locator('tr[data-ban="address:127.0.0.4"]');
    await banRow.waitFor();
    assert.match(await banRow.textContent() ?? '', /forged prices/);
    await page.locator('tr[data-trust="address:127.0.0.4"][data-state="banned"]').waitFor();
    assert.equal(await page.locator('table.trust tbody tr').first().getAttribute('data-trust'), 'address:127.0.0.4', 'banned first');
    await banRow.getByRole('button', { name: 'Unban' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Unban' }).click();
    await banRow.waitFor({ state: 'detached' });
    assert.equal(hub.engine.isBanned('any-client', '127.0.0.4'), false);
    await page.locator('tr[data-trust="address:127.0.0.4"][data-state="probation"]').waitFor();
  } finally {
    await context.close();
  }
});

test('a crawl\'s page lists its spec versions and pushes a new one with the spec editor', async () => {
  const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { name: 'respec' }), { start: false });
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await signIn(page);
    await page.goto(`${hub.url}/admin/crawls/${crawl.id}`);
    const table = page.locator('table.spec-versions');
    await table.locator('tr[data-version="1"]').waitFor();
    await page.getByRole('button', { name: 'Push a new version…' }).click();
    await page.getByRole('tab', { name: 'JSON' }).click();
    const json = page.getByLabel('Spec as JSON');
    const draft = JSON.parse(await json.inputValue());
    assert.equal(draft.version, undefined, 'the hub gives the next version');
    await json.fill(JSON.stringify({ ...draft, follow: [{ selector: 'li.next a', deny: ['*/page/4/*'] }] }, null, 2));
    await page.getByRole('button', { name: 'Push version' }).click();
    await table.locator('tr[data-version="2"]').filter({ hasText: 'current' }).waitFor();
    await page.getByText('Spec version 2 is live').waitFor();
    assert.equal(hub.engine.crawls.require(crawl.id).specVersion, 2);
    assert.deepEqual(hub.engine.crawls.require(crawl.id).spec.follow[0]!.deny, ['*/page/4/*']);
  } finally {
    await context.close();
  }
});
