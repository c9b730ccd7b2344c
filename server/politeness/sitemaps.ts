// Sitemaps as a start source. A crawl's sources are recorded with it
// (crawl_sources): each sitemap of its spec, and with `fromRobotsTxt` the
// robots.txt of each start URL's origin, read for its Sitemap: lines. The hub
// reads them one at a time per crawl, in the background, through the relay's
// fetcher: a robots.txt adds its sitemaps as sources, a sitemap index its
// sitemaps, and a sitemap queues its pages at depth 0 when they are in scope
// (the spec's `sitemaps.scope`, allow and deny, relative to where the sitemap
// was named), in the transaction that marks the source read. So a hub killed
// halfway reads again exactly the sources not yet read, and a page listed twice
// is queued once. The crawl does not end while a source is pending.
import { normalizeUrl, urlKey } from '../../shared/url/canonical.ts';
import { isInScope } from '../../shared/url/scope.ts';
import { matchesAny } from '../../shared/spec/patterns.ts';
import type { SitemapsSpec } from '../../shared/spec/schema.ts';
import { RelayError, type PageFetcher } from '../relay/fetch-page.ts';
import type { RobotsCache } from './robots.ts';
import { SitemapError, parseSitemap, sitemapBytes } from './sitemap-parse.ts';
import type { NewRequest, NewSource, SourceRow, Storage } from '../storage/storage.ts';
import type { Spec } from '../../shared/spec/schema.ts';
import type { Crawl } from '../crawl/crawl.ts';
import type { CrawlRegistry } from '../crawl/registry.ts';
import { retryDelayMs, retryPolicyFor, type RetryPolicy } from '../crawl/retry.ts';
import type { Clock, ClockTimer } from '../clock.ts';
import { ErrorCode, SkipCode } from '../../shared/errors.ts';
import type { Logger } from '../log.ts';

/** Sitemap indexes may not nest (sitemaps.org); a few levels are tolerated, no more. */
export const MAX_SITEMAP_NESTING = 4;

export interface SitemapLoaderOptions {
  storage: Storage;
  crawls: CrawlRegistry;
  clock: Clock;
  robots: RobotsCache;
  fetcher: PageFetcher | undefined;
  retry: RetryPolicy;
  log: Logger;
  /** New URLs were queued. */
  onQueued: () => void;
}

/** Whether a page a sitemap lists is queued: the spec's sitemap scope relative to where the sitemap was named, then allow and deny. */
export function sitemapAllows(rules: SitemapsSpec, scopeBase: string, url: string): boolean {
  if (!isInScope(rules.scope, scopeBase, url)) return false;
  if (rules.allow.length > 0 && !matchesAny(rules.allow, url)) return false;
  return !(rules.deny.length > 0 && matchesAny(rules.deny, url));
}

export class SitemapLoader {
  private readonly o: SitemapLoaderOptions;
  private readonly running = new Set<string>();
  private readonly timers = new Map<string, ClockTimer>();
  private readonly abort = new AbortController();
  private closed = false;

  constructor(options: SitemapLoaderOptions) {
    this.o = options;
  }

  close(): void {
    this.closed = true;
    this.abort.abort();
    for (const timer of this.timers.values()) this.o.clock.clearTimeout(timer);
    this.timers.clear();
  }

  /** A new crawl's sources: each sitemap of its spec, and with fromRobotsTxt the robots.txt of each start URL's origin. */
  static sourcesFor(spec: Spec): NewSource[] {
    const rules = spec.sitemaps;
    if (!rules) return [];
    const out: NewSource[] = [];
    for (const url of rules.urls) {
      const normalized = normalizeUrl(url);
      if (normalized) out.push({ url: normalized, kind: 'sitemap', scopeBase: normalized, nesting: 0 });
    }
    if (rules.fromRobotsTxt) {
      for (const start of spec.startUrls) {
        const normalized = normalizeUrl(start);
        if (!normalized) continue;
        const robotsUrl = `${new URL(normalized).origin}/robots.txt`;
        out.push({ url: robotsUrl, kind: 'robots', scopeBase: robotsUrl, nesting: 0 });
      }
    }
    return out;
  }

  /** Reads the crawl's pending sources, unless that is already under way. */
  kick(crawl: Crawl): void {
    if (this.closed || crawl.pendingSources === 0 || crawl.status !== 'running' || this.running.has(crawl.id)) return;
    this.o.clock.clearTimeout(this.timers.get(crawl.id));
    this.timers.delete(crawl.id);
    this.running.add(crawl.id);
    void this.drain(crawl)
      .catch((error: unknown) => this.o.log.error({ err: error, crawl: crawl.id }, 'reading the crawl\'s sitemaps failed'))
      .finally(() => this.running.delete(crawl.id));
  }

  private async drain(crawl: Crawl): Promise<void> {
    // URLs the crawl's sitemaps have queued so far, against sitemaps.maxUrls (summed once, then counted).
    const queued = { count: await this.o.storage.sumSourceUrls(crawl.id) };
    while (!this.closed && crawl.status === 'running') {
      const row = await this.o.storage.nextPendingSource(crawl.id);
      if (!row) break;
      const now = this.o.clock.now();
      if (row.notBefore > now) {
        const timer = this.o.clock.setTimeout(() => {
          this.timers.delete(crawl.id);
          this.kick(crawl);
        }, row.notBefore - now);
        this.timers.set(crawl.id, timer);
        return;
      }
      if (row.kind === 'robots') await this.readRobots(crawl, row);
      else await this.readSitemap(crawl, row, queued);
      if (this.closed) return;
      crawl.pendingSources = await this.o.storage.countPendingSources(crawl.id);
      this.o.crawls.checkFinished(crawl);
      this.o.onQueued();
    }
  }

  private async readRobots(crawl: Crawl, row: SourceRow): Promise<void> {
    const origin = new URL(row.url).origin;
    const verdict = await this.o.robots.load(origin, crawl.spec.politeness.userAgent);
    if (!crawl.isActive) return;
    const now = this.o.clock.now();
    const attempts = row.attempts + 1;
    if (verdict.state === 'unreachable') {
      await this.o.storage.retrySource(crawl.id, row.url, { attempts, notBefore: verdict.retryAt, code: SkipCode.ROBOTS_UNREACHABLE, message: verdict.reason });
      return;
    }
    if (verdict.state !== 'ready') {
      const message = verdict.state === 'gaveUp' ? verdict.reason : 'robots.txt could not be read';
      await this.o.storage.failSource(crawl.id, row.url, { attempts, code: SkipCode.ROBOTS_UNREACHABLE, message, at: now });
      return;
    }
    const sources: NewSource[] = [];
    for (const sitemap of verdict.rules.sitemaps()) {
      const url = normalizeUrl(sitemap);
      // A robots.txt may name sitemaps anywhere (cross-submission); their pages are still scoped to this origin.
      if (url) sources.push({ url, kind: 'sitemap', scopeBase: row.url, nesting: 0 });
    }
    await this.o.storage.completeSource(crawl.id, row.url, { attempts, at: now, sources, urls: [], budget: 0 });
  }

  private async readSitemap(crawl: Crawl, row: SourceRow, queuedSoFar: { count: number }): Promise<void> {
    const rules = crawl.spec.sitemaps!;
    const attempts = row.attempts + 1;
    let urls: string[];
    let kind: 'urlset' | 'index' | 'text';
    try {
      if (!this.o.fetcher) throw new RelayError('RELAY_INTERNAL', 'the hub has no fetcher', { retryable: false });
      const page = await this.o.fetcher.fetchPage(row.url, {
        userAgent: crawl.spec.politeness.userAgent,
        allowedContentTypes: ['*/*'],
        accept: 'application/xml, text/xml;q=0.9, */*;q=0.5',
        signal: this.abort.signal,
      });
      const parsed = await parseSitemap(await sitemapBytes(page.body));
      if (parsed.truncated) this.o.log.warn(`sitemap ${row.url} lists more than ${parsed.urls.length} URLs; the rest are ignored`);
      urls = parsed.urls;
      kind = parsed.kind;
    } catch (error) {
      if (this.closed || !crawl.isActive) return;
      await this.failed(crawl, row, attempts, error);
      return;
    }
    if (!crawl.isActive) return;
    const { sources, urls: requests } = this.plan(crawl, row, kind, urls);
    let queued: number;
    try {
      const done = await this.o.storage.completeSource(crawl.id, row.url, {
        attempts,
        at: this.o.clock.now(),
        sources,
        urls: requests,
        budget: rules.maxUrls - queuedSoFar.count,
      });
      queued = done.queued.length;
      if (crawl.isActive) crawl.frontier.added(done.queued);
    } catch (error) {
      // Nothing was stored: the source stays pending for the next round.
      if (crawl.isActive) await crawl.frontier.resync();
      throw error;
    }
    queuedSoFar.count += queued;
    this.o.log.info(`sitemap ${row.url}: ${kind === 'index' ? `${urls.length} sitemap(s)` : `${queued} new URL(s) of ${urls.length}`}`);
  }

  /** An index's sitemaps become sources; a sitemap's pages in scope are queued at depth 0. */
  private plan(crawl: Crawl, row: SourceRow, kind: 'urlset' | 'index' | 'text', urls: string[]): { sources: NewSource[]; urls: NewRequest[] } {
    const rules = crawl.spec.sitemaps!;
    const sources: NewSource[] = [];
    const requests: NewRequest[] = [];
    if (kind === 'index') {
      for (const child of urls) {
        const url = normalizeUrl(child);
        if (url && row.nesting < MAX_SITEMAP_NESTING && isInScope(rules.scope, row.scopeBase, url)) {
          sources.push({ url, kind: 'sitemap', scopeBase: row.scopeBase, nesting: row.nesting + 1 });
        }
      }
    } else {
      for (const listed of urls) {
        const url = normalizeUrl(listed);
        if (url && sitemapAllows(rules, row.scopeBase, url)) requests.push({ url, key: urlKey(url), host: new URL(url).host, depth: 0 });
      }
    }
    return { sources, urls: requests };
  }

  private async failed(crawl: Crawl, row: SourceRow, attempts: number, error: unknown): Promise<void> {
    const code: ErrorCode = error instanceof RelayError || error instanceof SitemapError ? error.code : ErrorCode.SITEMAP_FAILED;
    const message = (error as Error)?.message ?? String(error);
    const retryable = error instanceof RelayError && error.retryable;
    const policy = retryPolicyFor(crawl.spec, this.o.retry);
    if (retryable && attempts < policy.maxAttempts) {
      const delay = retryDelayMs(policy, attempts, error.retryAfterMs);
      await this.o.storage.retrySource(crawl.id, row.url, { attempts, notBefore: this.o.clock.now() + delay, code, message });
      return;
    }
    await this.o.storage.failSource(crawl.id, row.url, { attempts, code, message, at: this.o.clock.now() });
    this.o.log.warn(`sitemap ${row.url} failed (${code}): ${message}`);
  }
}
