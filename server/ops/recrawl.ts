// Re-crawls that fetch only what changed. An incremental schedule's run is a
// new crawl seeded with every URL of the previous run (at its depth), and for
// each page the previous run fetched, its ETag, Last-Modified and content
// hash. The relay asks the site with If-None-Match / If-Modified-Since; a 304,
// or a 200 whose bytes hash the same, means the page is unchanged: it is not
// sent to a worker, and storage records it with the previous run's items,
// marked carried. Its links need no queuing: they were the previous run's
// links, which are all seeded already, so new pages are found through the
// pages that changed. When the spec itself changed, every page is fetched and
// extracted again (the previous items were made with other rules).
import type { Engine } from '../engine/engine.ts';
import type { Crawl } from '../crawl/crawl.ts';
import type { LeaseRecord } from '../lease/leases.ts';
import type { FetchedPage } from '../relay/fetch-page.ts';
import type { PreviousPage } from '../storage/storage.ts';
import { HubError } from '../../shared/errors.ts';

export class Recrawls {
  private readonly engine: Engine;
  /** Each re-crawl and the crawl it revisits. */
  private readonly previous = new Map<string, string>();

  constructor(engine: Engine) {
    this.engine = engine;
  }

  async load(): Promise<void> {
    for (const r of await this.engine.storage.listRecrawls()) this.previous.set(r.crawlId, r.previousCrawlId);
  }

  previousOf(crawlId: string): string | undefined {
    return this.previous.get(crawlId);
  }

  /** Creates and starts a crawl of `spec`: a re-crawl of `previousCrawlId` when that crawl is still kept. */
  async start(spec: unknown, previousCrawlId: string | undefined): Promise<Crawl> {
    const before = previousCrawlId === undefined ? undefined : this.engine.crawls.get(previousCrawlId);
    if (!before) return this.engine.createCrawl(spec);
    const crawl = await this.engine.createCrawl(spec, { start: false });
    const sameSpec = JSON.stringify(before.spec) === JSON.stringify(crawl.spec);
    await this.engine.storage.seedRecrawl(crawl.id, before.id, sameSpec);
    this.previous.set(crawl.id, before.id);
    await crawl.frontier.resync();
    return this.engine.control(crawl.id, 'start');
  }

  /** What to ask the site with for this lease's page, when its crawl is a re-crawl that knows the page. */
  async previousPage(record: LeaseRecord): Promise<PreviousPage | undefined> {
    if (!this.previous.has(record.crawl.id) || record.check) return undefined;
    return this.engine.storage.previousPage(record.crawl.id, record.entry.key);
  }

  /** Whether a fetched page is the same as the previous run's. */
  static unchanged(page: FetchedPage, previous: PreviousPage | undefined): boolean {
    return previous !== undefined && (page.status === 304 || (previous.contentHash !== null && page.contentHash === previous.contentHash));
  }

  /** Keeps a fetched page's validators for the next run (a write of its own; a failure only costs a full fetch next time). */
  fetched(record: LeaseRecord, page: FetchedPage): void {
    const etag = page.headers.etag ?? null;
    const lastModified = page.headers['last-modified'] ?? null;
    if (etag === null && lastModified === null) return;
    this.engine.storage.setValidators(record.crawl.id, record.entry.key, { etag, lastModified }).catch((error: unknown) => {
      this.engine.log.warn({ err: error }, `keeping the validators of a page of crawl ${record.crawl.id} failed`);
    });
  }

  /** The relay's ConditionalFetch: true when the page had not changed and is recorded with the previous run's items. */
  async carryIfUnchanged(record: LeaseRecord, page: FetchedPage, previous: PreviousPage): Promise<boolean> {
    if (!Recrawls.unchanged(page, previous)) return false;
    await this.carry(record, page, previous);
    return true;
  }

  /** Records an unchanged page with the previous run's items; false when its lease had ended. */
  carry(record: LeaseRecord, page: FetchedPage, previous: PreviousPage): Promise<boolean> {
    const previousCrawlId = this.previous.get(record.crawl.id)!;
    return this.engine.results.carry(record, () =>
      this.engine.storage.carryPage({
        crawlId: record.crawl.id,
        key: record.entry.key,
        previousCrawlId,
        finalUrl: page.finalUrl,
        httpStatus: page.status,
        contentHash: page.status === 304 ? (previous.contentHash ?? '') : page.contentHash,
        etag: page.headers.etag ?? null,
        lastModified: page.headers['last-modified'] ?? null,
        specVersion: record.crawl.specVersion,
        doneAt: this.engine.clock.now(),
      }),
    );
  }

  /**
   * Deletes an ended crawl and its data. A running or paused crawl is refused
   * (CRAWL_ACTIVE: cancel it first), and so is the crawl a running re-crawl
   * revisits (its items are still being carried).
   */
  async deleteCrawl(id: string): Promise<void> {
    const crawl = this.engine.crawls.require(id);
    if (crawl.isActive) throw new HubError('CRAWL_ACTIVE', `crawl ${id} is ${crawl.status}: cancel it first (POST /api/crawls/${id}/cancel)`);
    for (const [next, previous] of this.previous) {
      if (previous === id && this.engine.crawls.get(next)?.isActive) {
        throw new HubError('CRAWL_ACTIVE', `crawl ${next}, still going, re-crawls crawl ${id} and carries its items: delete it once ${next} has ended`);
      }
    }
    await this.engine.storage.deleteCrawl(id);
    this.engine.crawls.forget(id);
    for (const [next, previous] of this.previous) if (next === id || previous === id) this.previous.delete(next);
  }
}
