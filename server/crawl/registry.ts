// The crawls a hub runs: creating one from a spec, its life cycle (running,
// paused, finished, cancelled) and its end. A crawl ends by itself when nothing
// is queued, leased or pending, or when a limit is reached, and records why.
// A status changes in memory at once (so no lease goes out for a paused crawl)
// and is written to storage in order behind it.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { assertSpec, type Spec } from '../../shared/spec/schema.ts';
import { normalizeUrl, urlKey } from '../../shared/url/canonical.ts';
import type { CrawlRow, CrawlStatus, NewRequest, NewSource, Storage } from '../storage/storage.ts';
import { CrawlFrontier, type FrontierGate } from '../frontier/frontier.ts';
import type { Clock } from '../clock.ts';
import { Crawl, type CountDelta, type FinishReason } from './crawl.ts';
import { respec, type Respecced } from './respec.ts';
import { HubError } from '../../shared/errors.ts';

export interface CrawlEvents {
  /** Status changed (started, paused, resumed, finished, cancelled). */
  status: [crawl: Crawl];
  /** A crawl stopped granting leases for good or for now: its leases must be taken back. */
  revoke: [crawl: Crawl];
  /** New work may be available (crawl created or resumed, rows read from storage). */
  work: [crawl: Crawl | undefined];
  /** A crawl has a new current spec version (respec.ts): it is sent to every connected worker. */
  specChanged: [crawl: Crawl];
  /** A crawl's counters changed (storage committed the change): pages, items, validation figures. */
  count: [crawl: Crawl, delta: CountDelta];
}

/** What the engine adds to every crawl: its politeness gate, and its start sources besides start URLs. */
export interface CrawlHooks {
  /** The frontier's gate (robots.txt, Crawl-delay). */
  gate?(crawl: Crawl): FrontierGate | undefined;
  /** A new crawl's sources (sitemaps, robots.txt files), recorded with it. */
  sourcesFor?(spec: Spec): NewSource[];
  /** A background write or read failed. */
  onError?(error: unknown, what: string): void;
}

export class CrawlRegistry extends EventEmitter<CrawlEvents> {
  private readonly storage: Storage;
  private readonly clock: Clock;
  private readonly crawls = new Map<string, Crawl>();
  private durationTimer: ReturnType<Clock['setInterval']> | undefined;
  private readonly hooks: CrawlHooks;

  constructor(storage: Storage, clock: Clock, hooks: CrawlHooks = {}) {
    super();
    this.storage = storage;
    this.clock = clock;
    this.hooks = hooks;
  }

  /** Loads every crawl from storage; active ones get their frontier back. */
  async loadAll(): Promise<void> {
    for (const row of (await this.storage.listCrawls()).reverse()) {
      const crawl = this.materialize(row);
      // Older versions too: a re-check of a page extracted under one uses it.
      for (const v of await this.storage.listSpecVersions(row.id)) {
        crawl.keepVersion(assertSpec(JSON.parse(v.spec)));
        crawl.droppedBySpec += v.dropped;
      }
      if (crawl.isActive || crawl.status === 'created') {
        crawl.frontier.load(await this.storage.countQueued(crawl.id));
        crawl.pendingSources = await this.storage.countPendingSources(crawl.id);
        // A hub killed between a crawl's last result and storing its end finds it over now.
        this.checkFinished(crawl);
      }
    }
    this.durationTimer = this.clock.setInterval(() => this.checkDurations(this.clock.now()), 1000);
  }

  close(): void {
    this.clock.clearInterval(this.durationTimer);
  }

  private materialize(row: CrawlRow): Crawl {
    const spec = assertSpec(JSON.parse(row.spec));
    const frontier = new CrawlFrontier(
      this.storage,
      row.id,
      { concurrency: spec.politeness.perHostConcurrency, delayMs: spec.politeness.perHostDelayMs },
      {
        clock: this.clock,
        onWork: () => this.emit('work', undefined),
        onError: (error) => this.hooks.onError?.(error, `reading the queue of crawl ${row.id}`),
      },
    );
    const crawl = new Crawl(row, spec, frontier);
    crawl.onCount = (delta) => this.emit('count', crawl, delta);
    frontier.gate = this.hooks.gate?.(crawl);
    this.crawls.set(crawl.id, crawl);
    return crawl;
  }

  /** Creates a crawl from a spec (throws SpecError listing every problem) and, by default, starts it. */
  async create(specInput: unknown, options: { start?: boolean } = {}): Promise<Crawl> {
    const spec = assertSpec(specInput);
    const now = this.clock.now();
    const id = `${now.toString(36)}-${randomBytes(4).toString('hex')}`;
    const startUrls: NewRequest[] = [];
    for (const url of spec.startUrls) {
      const normalized = normalizeUrl(url);
      if (normalized) startUrls.push({ url: normalized, key: urlKey(normalized), host: new URL(normalized).host, depth: 0 });
    }
    const created = await this.storage.createCrawl({
      id,
      name: spec.name,
      spec: JSON.stringify(spec),
      specVersion: spec.version,
      createdAt: now,
      startUrls,
      sources: this.hooks.sourcesFor?.(spec) ?? [],
    });
    const crawl = this.materialize(created.row);
    crawl.frontier.added(created.queued);
    crawl.pendingSources = created.sources;
    if (options.start !== false) this.start(id);
    return crawl;
  }

  /**
   * Pushes a new spec version to a running (or paused, or created) crawl;
   * throws SpecError, SPEC_VERSION_STALE or CRAWL_STATE, with nothing stored.
   */
  async updateSpec(id: string, input: unknown): Promise<Respecced> {
    const crawl = this.require(id);
    const out = await respec(this.storage, this.clock, crawl, input, (c) => this.emit('specChanged', c));
    this.emit('work', crawl);
    this.checkFinished(crawl);
    await this.settled(crawl);
    return out;
  }

  get(id: string): Crawl | undefined {
    return this.crawls.get(id);
  }

  require(id: string): Crawl {
    const crawl = this.crawls.get(id);
    if (!crawl) throw new HubError('CRAWL_UNKNOWN', `no crawl with id "${id}"`);
    return crawl;
  }

  /** Forgets an ended crawl (deleted from storage by the caller). */
  forget(id: string): void {
    const crawl = this.crawls.get(id);
    if (crawl?.isActive) throw new HubError('CRAWL_ACTIVE', `crawl ${id} is ${crawl.status}: cancel it first`);
    this.crawls.delete(id);
  }

  list(): Crawl[] {
    return [...this.crawls.values()].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
  }

  /** Crawls that may grant leases now. */
  running(): Crawl[] {
    const out: Crawl[] = [];
    for (const crawl of this.crawls.values()) if (crawl.status === 'running') out.push(crawl);
    return out;
  }

  start(id: string): Crawl {
    const crawl = this.require(id);
    if (crawl.status !== 'created') throw new HubError('CRAWL_STATE', `crawl ${id} is ${crawl.status}; only a created crawl can be started`);
    this.setStatus(crawl, 'running', null);
    this.emit('work', crawl);
    this.checkFinished(crawl);
    return crawl;
  }

  pause(id: string): Crawl {
    const crawl = this.require(id);
    if (crawl.status !== 'running') throw new HubError('CRAWL_STATE', `crawl ${id} is ${crawl.status}; only a running crawl can be paused`);
    this.setStatus(crawl, 'paused', null);
    this.emit('revoke', crawl);
    return crawl;
  }

  resume(id: string): Crawl {
    const crawl = this.require(id);
    if (crawl.status !== 'paused') throw new HubError('CRAWL_STATE', `crawl ${id} is ${crawl.status}; only a paused crawl can be resumed`);
    this.setStatus(crawl, 'running', null);
    this.emit('work', crawl);
    this.checkFinished(crawl);
    return crawl;
  }

  cancel(id: string): Crawl {
    const crawl = this.require(id);
    if (!crawl.isActive && crawl.status !== 'created') {
      throw new HubError('CRAWL_STATE', `crawl ${id} has already ended (${crawl.status})`);
    }
    this.end(crawl, 'cancelled', 'cancelled');
    return crawl;
  }

  /** Ends a crawl that has nothing left to do or has reached a limit. Called after every change to its frontier. */
  checkFinished(crawl: Crawl): void {
    if (crawl.status !== 'running') return;
    const max = crawl.spec.limits.maxPages;
    if (max !== undefined && crawl.pagesDone >= max) this.end(crawl, 'finished', 'maxPages');
    else if (crawl.frontier.queued === 0 && crawl.frontier.inFlight === 0 && crawl.pendingSources === 0) this.end(crawl, 'finished', 'completed');
  }

  /** Resolves once every status change asked for so far is stored (the API answers after it). */
  settled(crawl: Crawl): Promise<void> {
    return crawl.statusWrites;
  }

  private checkDurations(now: number): void {
    for (const crawl of this.crawls.values()) {
      const limit = crawl.spec.limits.maxDurationMs;
      if (crawl.isActive && limit !== undefined && crawl.startedAt !== null && now - crawl.startedAt >= limit) {
        this.end(crawl, 'finished', 'maxDuration');
      }
    }
  }

  private end(crawl: Crawl, status: 'finished' | 'cancelled', reason: FinishReason): void {
    this.setStatus(crawl, status, reason);
    this.emit('revoke', crawl);
    crawl.frontier.clear();
  }

  private setStatus(crawl: Crawl, status: CrawlStatus, reason: string | null): void {
    crawl.setStatus(status, reason, this.clock.now());
    const write = { status, finishReason: reason, startedAt: crawl.startedAt, finishedAt: crawl.finishedAt };
    crawl.statusWrites = crawl.statusWrites
      .then(() => this.storage.setCrawlStatus(crawl.id, write))
      .catch((error: unknown) => this.hooks.onError?.(error, `storing the status of crawl ${crawl.id}`));
    this.emit('status', crawl);
  }
}
