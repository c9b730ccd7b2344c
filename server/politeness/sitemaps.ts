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
import { SourceState, type SourceRow, type Store } from '../storage/store.ts';
import type { Crawl, CrawlRegistry } from '../crawl/crawls.ts';
import { retryDelayMs, retryPolicyFor, type RetryPolicy } from '../results/outcomes.ts';

/** Sitemap indexes may not nest (sitemaps.org); a few levels are tolerated, no more. */
export const MAX_SITEMAP_NESTING = 4;

export interface SitemapLoaderOptions {
  store: Store;
  crawls: CrawlRegistry;
  robots: RobotsCache;
  fetcher: PageFetcher | undefined;
  retry: RetryPolicy;
  log: (line: string) => void;
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
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly abort = new AbortController();
  private closed = false;

  constructor(options: SitemapLoaderOptions) {
    this.o = options;
  }

  close(): void {
    this.closed = true;
    this.abort.abort();
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /** Records a new crawl's sources; call inside the transaction that creates it. Returns how many. */
  register(crawl: Crawl): number {
    const rules = crawl.spec.sitemaps;
    if (!rules) return 0;
    let count = 0;
    for (const url of rules.urls) {
      const normalized = normalizeUrl(url);
      if (normalized && this.o.store.insertSource(crawl.id, normalized, 'sitemap', normalized, 0)) count++;
    }
    if (rules.fromRobotsTxt) {
      for (const start of crawl.spec.startUrls) {
        const normalized = normalizeUrl(start);
        if (!normalized) continue;
        const robotsUrl = `${new URL(normalized).origin}/robots.txt`;
        if (this.o.store.insertSource(crawl.id, robotsUrl, 'robots', robotsUrl, 0)) count++;
      }
    }
    return count;
  }

  /** Reads the crawl's pending sources, unless that is already under way. */
  kick(crawl: Crawl): void {
    if (this.closed || crawl.pendingSources === 0 || crawl.status !== 'running' || this.running.has(crawl.id)) return;
    clearTimeout(this.timers.get(crawl.id));
    this.timers.delete(crawl.id);
    this.running.add(crawl.id);
    void this.drain(crawl)
      .catch((error: unknown) => this.o.log(`sitemaps of crawl ${crawl.id}: ${(error as Error).stack ?? String(error)}`))
      .finally(() => this.running.delete(crawl.id));
  }

  private async drain(crawl: Crawl): Promise<void> {
    // URLs the crawl's sitemaps have queued so far, against sitemaps.maxUrls (summed once, then counted).
    const queued = { count: this.o.store.sumSourceUrls(crawl.id) };
    while (!this.closed && crawl.status === 'running') {
      const row = this.o.store.nextPendingSource(crawl.id);
      if (!row) break;
      const now = Date.now();
      if (row.not_before > now) {
        const timer = setTimeout(() => {
          this.timers.delete(crawl.id);
          this.kick(crawl);
        }, row.not_before - now);
        timer.unref();
        this.timers.set(crawl.id, timer);
        return;
      }
      if (row.kind === 'robots') await this.readRobots(crawl, row);
      else await this.readSitemap(crawl, row, queued);
      if (this.closed) return;
      crawl.pendingSources = this.o.store.countPendingSources(crawl.id);
      this.o.crawls.checkFinished(crawl);
      this.o.onQueued();
    }
  }

  private async readRobots(crawl: Crawl, row: SourceRow): Promise<void> {
    const origin = new URL(row.url).origin;
    const verdict = await this.o.robots.load(origin, crawl.spec.politeness.userAgent);
    if (!crawl.isActive) return;
    const now = Date.now();
    if (verdict.state === 'unreachable') {
      this.o.store.retrySource(crawl.id, row.url, row.attempts + 1, verdict.retryAt, 'ROBOTS_UNREACHABLE', verdict.reason);
      return;
    }
    if (verdict.state !== 'ready') {
      const message = verdict.state === 'gaveUp' ? verdict.reason : 'robots.txt could not be read';
      this.o.store.endSource(crawl.id, row.url, SourceState.FAILED, { attempts: row.attempts + 1, urlsQueued: 0, code: 'ROBOTS_UNREACHABLE', message, at: now });
      return;
    }
    this.o.store.transaction(() => {
      for (const sitemap of verdict.rules.sitemaps()) {
        const url = normalizeUrl(sitemap);
        // A robots.txt may name sitemaps anywhere (cross-submission); their pages are still scoped to this origin.
        if (url) this.o.store.insertSource(crawl.id, url, 'sitemap', row.url, 0);
      }
      this.o.store.endSource(crawl.id, row.url, SourceState.DONE, { attempts: row.attempts + 1, urlsQueued: 0, at: now });
    });
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
      if (parsed.truncated) this.o.log(`sitemap ${row.url} lists more than ${parsed.urls.length} URLs; the rest are ignored`);
      urls = parsed.urls;
      kind = parsed.kind;
    } catch (error) {
      if (this.closed || !crawl.isActive) return;
      this.failed(crawl, row, attempts, error);
      return;
    }
    if (!crawl.isActive) return;
    let queued: number;
    try {
      queued = this.o.store.transaction(() => this.record(crawl, row, kind, urls, attempts, rules.maxUrls - queuedSoFar.count));
    } catch (error) {
      // Nothing was stored: the frontier's memory is rebuilt, and the source stays pending for the next round.
      crawl.frontier.resync();
      throw error;
    }
    queuedSoFar.count += queued;
    this.o.log(`sitemap ${row.url}: ${kind === 'index' ? `${urls.length} sitemap(s)` : `${queued} new URL(s) of ${urls.length}`}`);
  }

  /** Inside the transaction: an index's sitemaps become sources, a sitemap's pages are queued; the source is marked read. */
  private record(crawl: Crawl, row: SourceRow, kind: 'urlset' | 'index' | 'text', urls: string[], attempts: number, budget: number): number {
    const rules = crawl.spec.sitemaps!;
    let queued = 0;
    if (kind === 'index') {
      for (const child of urls) {
        const url = normalizeUrl(child);
        if (url && row.nesting < MAX_SITEMAP_NESTING && isInScope(rules.scope, row.scope_base, url)) {
          this.o.store.insertSource(crawl.id, url, 'sitemap', row.scope_base, row.nesting + 1);
        }
      }
    } else {
      for (const listed of urls) {
        if (queued >= budget) break;
        const url = normalizeUrl(listed);
        if (!url || !sitemapAllows(rules, row.scope_base, url)) continue;
        if (crawl.frontier.add(url, urlKey(url), new URL(url).host, 0)) queued++;
      }
      this.o.store.bumpCounters(crawl.id, { nextSeq: crawl.frontier.nextSeq });
    }
    this.o.store.endSource(crawl.id, row.url, SourceState.DONE, { attempts, urlsQueued: queued, at: Date.now() });
    return queued;
  }

  private failed(crawl: Crawl, row: SourceRow, attempts: number, error: unknown): void {
    const code = error instanceof RelayError || error instanceof SitemapError ? error.code : 'SITEMAP_FAILED';
    const message = (error as Error)?.message ?? String(error);
    const retryable = error instanceof RelayError && error.retryable;
    const policy = retryPolicyFor(crawl, this.o.retry);
    if (retryable && attempts < policy.maxAttempts) {
      const delay = retryDelayMs(policy, attempts, error.retryAfterMs);
      this.o.store.retrySource(crawl.id, row.url, attempts, Date.now() + delay, code, message);
      return;
    }
    this.o.store.endSource(crawl.id, row.url, SourceState.FAILED, { attempts, urlsQueued: 0, code, message, at: Date.now() });
    this.o.log(`sitemap ${row.url} failed (${code}): ${message}`);
  }
}
