// The contributor page's nickname in real Chromium: a refused nickname is said
// at the field, and the page shows the name the hub gave ("alice (2)").
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../server/browser/chromium.ts';
import { quotesSite } from '../fixtures/site/quotes.ts';
import { startFixtureServer } from '../fixtures/site/server.ts';
import { quotesSpec, startTestHub, waitForCrawlEnd } from '../helpers/hub.ts';
import type { PageGlobals } from '../../server/worker/edge-tabs.ts';

type Site = Awaited<ReturnType<typeof startFixtureServer>>;
type TestHub = Awaited<ReturnType<typeof startTestHub>>;

let browser: Browser;
let site: Site;

before(async () => {
  browser = await launchChromium();
  site = await startFixtureServer(quotesSite({ pages: 10 }));
});
after(async () => {
  await browser?.close();
  await site?.close();
});

async function waitForState(page: Page, states: string[]): Promise<void> {
  await page.waitForFunction((wanted) => wanted.includes((globalThis as unknown as PageGlobals).crowdcrawl?.status().state ?? ''), states, { timeout: 30_000 });
}

/** A volunteer's tab in a browser context of its own (its own localStorage, so its own clientId). */
async function volunteer(hub: TestHub, nickname: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(hub.url);
  await page.getByTestId('nickname').fill(nickname);
  await page.getByTestId('contribute').click();
  await waitForState(page, ['idle', 'working']);
  return { context, page };
}

function boardNames(page: Page): Promise<string[]> {
  return page.evaluate(() => [...document.querySelectorAll('[data-testid=board-name]')].map((e) => e.textContent ?? '').sort());
}

test('an invisible nickname is refused at the field with the reason, and the tab does not start', async () => {
  const hub = await startTestHub();
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(hub.url);
    for (const [nickname, reason] of [['\u3164', /U\+3164/], ['ad\u200ba', /U\+200B/], ['...', /letter/]] as const) {
      await page.getByTestId('nickname').fill(nickname);
      await page.getByTestId('contribute').click();
      await page.waitForFunction(() => document.querySelector('[data-testid=nickname]')?.getAttribute('aria-invalid') === 'true');
      assert.match((await page.locator('#nickname-help').textContent()) ?? '', reason, JSON.stringify(nickname));
      assert.equal(await page.evaluate(() => (globalThis as unknown as PageGlobals).crowdcrawl?.status().state), 'off');
    }
    assert.equal(hub.engine.workers.size, 0, 'nothing connected');
  } finally {
    await context.close();
    await hub.cleanup();
  }
});

test('a nickname the hub refuses stops the tab and is said at the field', async () => {
  const hub = await startTestHub();
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    // Stand in for a hub whose rules are stricter than this page's: it refuses every worker's nickname (the board still connects).
    await page.routeWebSocket(/\/socket\.io\//, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((message) => {
        if (/^40\{/.test(String(message))) {
          const error = { code: 'NAME_INVALID', message: 'nicknames cannot contain invisible or control characters (U+3164)' };
          ws.send(`44${JSON.stringify({ message: error.message, data: error })}`);
        } else server.send(message);
      });
    });
    await page.goto(hub.url);
    await page.getByTestId('nickname').fill('ada');
    await page.getByTestId('contribute').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=nickname]')?.getAttribute('aria-invalid') === 'true', undefined, { timeout: 30_000 });
    assert.match((await page.locator('#nickname-help').textContent()) ?? '', /U\+3164/);
    await waitForState(page, ['off']);
  } finally {
    await context.close();
    await hub.cleanup();
  }
});

test('a second "alice" is shown as "alice (2)" on her page and on the board, and keeps her own totals', async () => {
  const hub = await startTestHub();
  const first = await volunteer(hub, 'alice');
  const second = await volunteer(hub, 'alice');
  try {
    assert.equal(await first.page.getByTestId('own-name').textContent(), 'alice');
    await second.page.waitForFunction(() => document.querySelector('[data-testid=own-name]')?.textContent === 'alice (2)');
    assert.match((await second.page.getByTestId('renamed').textContent()) ?? '', /"alice" is taken.*"alice \(2\)"/);
    assert.equal(await first.page.getByTestId('renamed').count(), 0, 'the first alice is not renamed');

    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { startUrls: Array.from({ length: 10 }, (_, i) => `${site.origin}/page/${i + 1}/`), follow: [] }));
    await waitForCrawlEnd(hub, crawl.id);
    hub.board.tick();
    const pagesOf = new Map(hub.board.snapshot().rows.map((r) => [r.name, r.pages]));
    assert.equal([...pagesOf.values()].reduce((a, b) => a + b, 0), 10, 'every validated page is credited to one of them');
    assert.ok([...pagesOf.keys()].every((name) => name === 'alice' || name === 'alice (2)'), [...pagesOf.keys()].join());

    // Each page's all-time row is its own (found by the name the hub gave), and the board names both apart.
    for (const [name, { page }] of [['alice', first], ['alice (2)', second]] as const) {
      const pages = pagesOf.get(name);
      await page.waitForFunction((text) => document.querySelector('[data-testid=alltime-pages]')?.textContent === text, pages ? String(pages) : '–', { timeout: 30_000 });
    }
    const expected = [...pagesOf.keys()].sort();
    await first.page.waitForFunction((names) => {
      const shown = [...document.querySelectorAll('[data-testid=board-name]')].map((e) => e.textContent ?? '').sort();
      return JSON.stringify(shown) === JSON.stringify(names);
    }, expected, { timeout: 30_000 });
    assert.deepEqual(await boardNames(first.page), expected);
  } finally {
    await first.context.close();
    await second.context.close();
    await hub.cleanup();
  }
});
