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
  /**
   * Storage is shared by a fleet of hubs (PostgreSQL; server/crawl/sync.ts):
   * a crawl's end and maxPages are decided on storage, not from this hub's
   * memory, and frontiers read every row they lease (claimed) from storage.
   */
  shared?: boolean;
}

export class CrawlRegistry extends EventEmitter<CrawlEvents> {
  private readonly storage: Storage;
  private readonly clock: Clock;
  private readonly crawls = new Map<string, Crawl>();
  private durationTimer: ReturnType<Clock['setInterval']> | undefined;
  private readonly hooks: CrawlHooks;
  /** Crawls whose end is being asked of storage (shared), and whether it must be asked again after. */
  private readonly confirming = new Map<string, boolean>();

  constructor(storage: Storage, clock: Clock, hooks: CrawlHooks = {}) {
    super();
    this.storage = storage;
    this.clock = clock;
    this.hooks = hooks;
  }

  /** Storage is shared by a fleet of hubs (CrawlHooks.shared). */
  get shared(): boolean {
    return this.hooks.shared === true;
  }

  /** Loads every crawl from storage; active ones get their frontier back. */
  async loadAll(): Promise<void> {
    for (const row of (await this.storage.listCrawls()).reverse()) await this.adopt(row);
    this.durationTimer = this.clock.setInterval(() => this.checkDurations(this.clock.now()), 1000);
  }

  /**
   * Holds a stored crawl (at start, or one another hub of the fleet created):
   * its spec versions, and for an active one its queue count and sources.
   */
  async adopt(row: CrawlRow): Promise<Crawl> {
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
    return crawl;
  }

  close(): void {
    this.clock.clearInterval(this.durationTimer);
  }

  /**
   * Follows a status another hub stored (server/crawl/sync.ts): applied in
   * memory with what goes with it (leases revoked, the frontier cleared), and
   * not written again. An ended crawl stays ended.
   */
  applyStoredStatus(crawl: Crawl, row: Pick<CrawlRow, 'status' | 'finishReason' | 'startedAt' | 'finishedAt'>): void {
    if (row.status === crawl.status || (!crawl.isActive && crawl.status !== 'created')) return;
    crawl.setStatus(row.status, row.finishReason, this.clock.now());
    crawl.startedAt = row.startedAt ?? crawl.startedAt;
    if (!crawl.isActive && row.status !== 'created') crawl.finishedAt = row.finishedAt ?? crawl.finishedAt;
    this.emit('status', crawl);
    if (row.status === 'running') {
      this.emit('work', crawl);
      this.checkFinished(crawl);
    } else if (row.status === 'paused') {
      this.emit('revoke', crawl);
    } else if (!crawl.isActive) {
      this.emit('revoke', crawl);
      crawl.frontier.clear();
    }
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
    frontier.shared = this.shared;
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
    if (max !== undefined && crawl.pagesDone >= max) {
      // In a fleet the limit is kept on storage (recordPage ends the crawl in the commit that reaches it).
      if (!this.shared) this.end(crawl, 'finished', 'maxPages');
    } else if (crawl.frontier.queued === 0 && crawl.frontier.inFlight === 0 && crawl.pendingSources === 0) {
      // In a fleet this hub's memory knows only its own part: storage decides (and stores the end).
      if (this.shared) this.confirmEnd(crawl);
      else this.end(crawl, 'finished', 'completed');
    }
  }

  /**
   * Asks storage to end the crawl if it holds nothing queued or pending for it
   * (any hub's leases included); if so, it ends here too. One question per
   * crawl at a time; a call meanwhile asks again after it. The sync tick asks
   * too, so a hub with no part in the crawl's last pages still notices.
   */
  confirmEnd(crawl: Crawl): Promise<void> {
    if (this.confirming.has(crawl.id)) {
      this.confirming.set(crawl.id, true);
      return Promise.resolve();
    }
    this.confirming.set(crawl.id, false);
    // This hub's own status writes first: a pause or cancel stored after the question would be lost to it.
    return crawl.statusWrites
      .then(() => (crawl.status === 'running' ? this.storage.endCrawlIfDrained(crawl.id, this.clock.now()) : false))
      .then(
        (ended) => {
          if (ended) this.applyStoredStatus(crawl, { status: 'finished', finishReason: 'completed', startedAt: crawl.startedAt, finishedAt: this.clock.now() });
        },
        (error: unknown) => this.hooks.onError?.(error, `asking storage whether crawl ${crawl.id} is over`),
      )
      .finally(() => {
        const again = this.confirming.get(crawl.id) === true;
        this.confirming.delete(crawl.id);
        if (again) this.checkFinished(crawl);
      });
  }

  /** recordPage stored the crawl's end at maxPages (a fleet's limit, decided on storage): it ends here, not written again. */
  reachedLimit(crawl: Crawl): void {
    this.applyStoredStatus(crawl, { status: 'finished', finishReason: 'maxPages', startedAt: crawl.startedAt, finishedAt: this.clock.now() });
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
