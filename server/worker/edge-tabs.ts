// Headless edge workers: one Chromium (through Playwright) with N tabs of the
// hub's edge worker page (client/edge.html: kind 'headless', started at once,
// no UI at all). Each tab is a full browser worker: the same loop, DOMParser,
// the relay.
//
// Each tab gets its own browser context, so each has its own 6 connections per
// host (a browser's limit) and its own crash domain. All tabs share one clientId
// and nickname, so the board shows one contributor with N sessions. A crashed
// tab is reopened; a tab whose page went out of date (the hub was upgraded) is
// reloaded; a browser that died is relaunched. stop() has every tab hand its
// leases back before the browser closes.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../browser/chromium.ts';
import { silentLogger, type Logger } from '../log.ts';
import type { CrowdcrawlPageApi, VolunteerStatus } from '../../shared/page-api.ts';
import { ErrorCode } from '../../shared/errors.ts';

export interface EdgeTabsOptions {
  hubUrl: string;
  tabs: number;
  /** The nickname every tab shows on the board. */
  name: string;
  /** The id all-time totals are kept under (16-64 of [A-Za-z0-9_-]). */
  clientId: string;
  /** Pages in flight per tab. */
  concurrency?: number;
  minDelayMs?: number;
  /** An operator's worker token (docs/trust.md): the tabs' results are trusted without checks. */
  token?: string;
  /** Use this browser instead of launching one (it is left open by stop()). */
  browser?: Browser;
  /** Where tab crashes, reloads and relaunches are reported (default: nowhere). */
  log?: Logger;
}

export interface EdgeTabsStatus {
  tabs: number;
  /** Tabs whose page answered the last poll. */
  open: number;
  /** How many tabs are in each worker state. */
  states: Record<string, number>;
  pages: number;
  items: number;
  failures: number;
  restarts: number;
  /** Set when the hub turned these workers away (a ban): retrying will not help. */
  fatal: { code: string; message: string } | null;
  lastError: { code: string; message: string } | null;
}

interface Tab {
  readonly index: number;
  context: BrowserContext | undefined;
  page: Page | undefined;
  /** Totals of this slot's earlier pages (before a crash or reload). */
  carried: { pages: number; items: number; failures: number };
  last: VolunteerStatus | undefined;
  opening: Promise<void> | undefined;
  reloadedAt: number;
}

const STATUS_TIMEOUT_MS = 2000;
const STOP_TIMEOUT_MS = 5000;
const PAGE_READY_TIMEOUT_MS = 30_000;
/** An outdated tab is reloaded at most this often. */
const RELOAD_EVERY_MS = 30_000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    }),
  ]);
}

/** The edge worker page URL of an edge tab (no board, no activity rendering: only the worker loop). */
export function edgeTabUrl(options: Pick<EdgeTabsOptions, 'hubUrl' | 'name' | 'clientId' | 'concurrency' | 'minDelayMs' | 'token'>): string {
  const url = new URL('/edge.html', options.hubUrl);
  url.searchParams.set('worker', 'headless');
  url.searchParams.set('name', options.name);
  url.searchParams.set('clientId', options.clientId);
  url.searchParams.set('autostart', '1');
  url.searchParams.set('concurrency', String(options.concurrency ?? 4));
  url.searchParams.set('minDelayMs', String(options.minDelayMs ?? 0));
  // In the fragment: the page reads it, and no request line or log ever holds it.
  if (options.token) url.hash = new URLSearchParams({ token: options.token }).toString();
  return url.href;
}

/**
 * Checks that `hubUrl` serves a built contributor page, so a wrong URL gives a
 * clear message rather than tabs that never start.
 */
export async function checkHub(hubUrl: string): Promise<void> {
  let response: Response;
  try {
    response = await fetch(new URL('/', hubUrl), { signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new Error(`cannot reach the hub at ${hubUrl} (${cause}); is "crowdcrawl hub" running there?`);
  }
  const body = await response.text();
  if (!response.ok || !body.includes('id="app"')) {
    const hint = body.includes('not built') ? 'its contributor page is not built: run "npm run build" where the hub runs, and restart it' : 'it does not serve a crowdcrawl contributor page';
    throw new Error(`${hubUrl} answered ${response.status}, but ${hint}`);
  }
}

export class EdgeTabs {
  private readonly options: EdgeTabsOptions;
  private readonly url: string;
  private readonly log: Logger;
  private readonly ownsBrowser: boolean;
  private browser: Browser | undefined;
  private readonly tabs: Tab[];
  private restarts = 0;
  private stopping = false;
  private relaunching: Promise<void> | undefined;

  private constructor(options: EdgeTabsOptions) {
    this.options = options;
    this.url = edgeTabUrl(options);
    this.log = options.log ?? silentLogger;
    this.ownsBrowser = options.browser === undefined;
    this.browser = options.browser;
    this.tabs = Array.from({ length: options.tabs }, (_, index) => ({
      index,
      context: undefined,
      page: undefined,
      carried: { pages: 0, items: 0, failures: 0 },
      last: undefined,
      opening: undefined,
      reloadedAt: 0,
    }));
  }

  /** Launches the browser (unless given one) and opens every tab; resolves once each has started. */
  static async start(options: EdgeTabsOptions): Promise<EdgeTabs> {
    const edge = new EdgeTabs(options);
    try {
      if (!edge.browser) edge.browser = await edge.launch();
      await Promise.all(edge.tabs.map((tab) => edge.open(tab)));
    } catch (error) {
      await edge.stop();
      throw error;
    }
    return edge;
  }

  /** Polls every tab and adds them up. Also where out-of-date tabs get reloaded. */
  async status(): Promise<EdgeTabsStatus> {
    const states: Record<string, number> = {};
    let open = 0;
    let fatal: EdgeTabsStatus['fatal'] = null;
    let lastError: EdgeTabsStatus['lastError'] = null;
    const totals = { pages: 0, items: 0, failures: 0 };
    await Promise.all(
      this.tabs.map(async (tab) => {
        const page = tab.page;
        const status = page && !page.isClosed() ? await withTimeout(readStatus(page), STATUS_TIMEOUT_MS).catch(() => undefined) : undefined;
        if (status) {
          tab.last = status;
          open++;
          if (status.state === 'outdated') this.reloadOutdated(tab);
          if (status.state === 'banned') fatal = status.lastError ?? { code: ErrorCode.BANNED, message: 'banned by the hub' };
          if (status.lastError) lastError = status.lastError;
        }
        const state = status?.state ?? (tab.opening ? 'opening' : 'unresponsive');
        states[state] = (states[state] ?? 0) + 1;
        totals.pages += tab.carried.pages + (tab.last?.pages ?? 0);
        totals.items += tab.carried.items + (tab.last?.items ?? 0);
        totals.failures += tab.carried.failures + (tab.last?.failures ?? 0);
      }),
    );
    return { tabs: this.tabs.length, open, states, ...totals, restarts: this.restarts, fatal, lastError };
  }

  /** Every tab hands its leases back, then the browser closes. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await Promise.all(
      this.tabs.map(async (tab) => {
        await tab.opening?.catch(() => undefined);
        const page = tab.page;
        if (page && !page.isClosed()) {
          await withTimeout(
            page.evaluate(() => (globalThis as unknown as PageGlobals).crowdcrawl?.stop()),
            STOP_TIMEOUT_MS,
          ).catch(() => undefined);
        }
      }),
    );
    if (this.ownsBrowser) await this.browser?.close().catch(() => undefined);
    else await Promise.all(this.tabs.map((tab) => tab.context?.close().catch(() => undefined)));
  }

  private async launch(): Promise<Browser> {
    // Ctrl-C is ours to handle: the tabs must release their leases before the browser goes.
    const browser = await launchChromium({ handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false });
    browser.on('disconnected', () => {
      if (!this.stopping && this.ownsBrowser) void this.relaunch();
    });
    return browser;
  }

  private open(tab: Tab): Promise<void> {
    tab.opening ??= this.openTab(tab).finally(() => {
      tab.opening = undefined;
    });
    return tab.opening;
  }

  private async openTab(tab: Tab): Promise<void> {
    const browser = this.browser;
    if (!browser || this.stopping) return;
    const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
    tab.context = context;
    const page = await context.newPage();
    tab.page = page;
    page.on('crash', () => void this.replace(tab, page, 'crashed'));
    await page.goto(this.url, { waitUntil: 'load', timeout: PAGE_READY_TIMEOUT_MS });
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).crowdcrawl !== undefined, undefined, { timeout: PAGE_READY_TIMEOUT_MS });
  }

  /** A crashed tab: keep its counts, close what is left of it, open a new one. */
  private async replace(tab: Tab, page: Page, why: string): Promise<void> {
    if (this.stopping || tab.page !== page) return;
    this.restarts++;
    this.log.warn({ tab: tab.index + 1 }, `tab ${tab.index + 1} ${why}; reopening it`);
    this.carry(tab);
    const context = tab.context;
    tab.page = undefined;
    tab.context = undefined;
    await context?.close().catch(() => undefined);
    await this.reopen(tab);
  }

  private async reopen(tab: Tab): Promise<void> {
    for (let attempt = 0; !this.stopping; attempt++) {
      try {
        await this.open(tab);
        return;
      } catch (error) {
        this.log.error({ tab: tab.index + 1 }, `tab ${tab.index + 1} could not be reopened: ${(error as Error).message.split('\n')[0]}`);
        await tab.context?.close().catch(() => undefined);
        tab.context = undefined;
        tab.page = undefined;
        await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 1000 * 2 ** attempt)));
      }
    }
  }

  private carry(tab: Tab): void {
    if (tab.last) {
      tab.carried.pages += tab.last.pages;
      tab.carried.items += tab.last.items;
      tab.carried.failures += tab.last.failures;
    }
    tab.last = undefined;
  }

  /** The hub was upgraded under a running tab: load its new page. */
  private reloadOutdated(tab: Tab): void {
    const page = tab.page;
    if (!page || Date.now() - tab.reloadedAt < RELOAD_EVERY_MS) return;
    tab.reloadedAt = Date.now();
    this.restarts++;
    this.log.info({ tab: tab.index + 1 }, `tab ${tab.index + 1}: the hub speaks a newer protocol; reloading its page`);
    this.carry(tab);
    void page
      .goto(this.url, { waitUntil: 'load', timeout: PAGE_READY_TIMEOUT_MS })
      .catch((error: Error) => this.log.error({ tab: tab.index + 1 }, `tab ${tab.index + 1} reload failed: ${error.message.split('\n')[0]}`));
  }

  private relaunch(): Promise<void> {
    this.relaunching ??= (async () => {
      this.log.warn('the browser went away; launching it again');
      for (const tab of this.tabs) {
        this.carry(tab);
        tab.page = undefined;
        tab.context = undefined;
      }
      this.restarts += this.tabs.length;
      for (let attempt = 0; !this.stopping; attempt++) {
        try {
          this.browser = await this.launch();
          break;
        } catch (error) {
          this.log.error(`could not launch the browser: ${(error as Error).message.split('\n')[0]}`);
          await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 1000 * 2 ** attempt)));
        }
      }
      await Promise.all(this.tabs.map((tab) => this.reopen(tab)));
    })().finally(() => {
      this.relaunching = undefined;
    });
    return this.relaunching;
  }
}

/** The contributor page's global object, as the tabs read it. */
export interface PageGlobals {
  crowdcrawl?: CrowdcrawlPageApi;
}

function readStatus(page: Page): Promise<VolunteerStatus | undefined> {
  return page.evaluate(() => (globalThis as unknown as PageGlobals).crowdcrawl?.status());
}
