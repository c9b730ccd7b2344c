// The crawls a hub runs: creating one from a spec, its life cycle (running,
// paused, finished, cancelled) and its counters. A crawl ends by itself when
// nothing is queued or leased, or when a limit is reached, and records why.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { assertSpec, type Spec } from '../../shared/spec/schema.ts';
import { normalizeUrl, urlKey } from '../../shared/url/canonical.ts';
import { RequestState } from '../storage/db.ts';
import type { CrawlRow, CrawlStatus, Store } from '../storage/store.ts';
import { CrawlFrontier } from '../frontier/frontier.ts';
import { HubError } from './errors.ts';

export type FinishReason = 'completed' | 'maxPages' | 'maxDuration' | 'cancelled';

export interface CrawlSummary {
  id: string;
  name: string;
  status: CrawlStatus;
  finishReason: string | null;
  specVersion: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  pagesDone: number;
  pagesFailed: number;
  pagesSkipped: number;
  items: number;
  queued: number;
  inFlight: number;
}

export class Crawl {
  readonly id: string;
  readonly name: string;
  readonly spec: Spec;
  readonly specVersion: number;
  readonly createdAt: number;
  status: CrawlStatus;
  finishReason: string | null;
  startedAt: number | null;
  finishedAt: number | null;
  pagesDone: number;
  pagesFailed: number;
  pagesSkipped: number;
  items: number;
  readonly frontier: CrawlFrontier;
  /** Field names per item type, to check what a worker sends back. */
  readonly itemFields: Map<string, Set<string>>;

  constructor(row: CrawlRow, spec: Spec, frontier: CrawlFrontier) {
    this.id = row.id;
    this.name = row.name;
    this.spec = spec;
    this.specVersion = row.spec_version;
    this.createdAt = row.created_at;
    this.status = row.status;
    this.finishReason = row.finish_reason;
    this.startedAt = row.started_at;
    this.finishedAt = row.finished_at;
    this.pagesDone = row.pages_done;
    this.pagesFailed = row.pages_failed;
    this.pagesSkipped = row.pages_skipped;
    this.items = row.items_count;
    this.frontier = frontier;
    this.itemFields = new Map();
    for (const rule of spec.items) {
      const fields = this.itemFields.get(rule.type) ?? new Set<string>();
      for (const name of Object.keys(rule.fields)) fields.add(name);
      this.itemFields.set(rule.type, fields);
    }
  }

  get isActive(): boolean {
    return this.status === 'running' || this.status === 'paused';
  }

  /** How many more leases this crawl may grant without going over maxPages. */
  leaseBudget(): number {
    const max = this.spec.limits.maxPages;
    if (max === undefined) return Number.POSITIVE_INFINITY;
    return Math.max(0, max - this.pagesDone - this.frontier.inFlight);
  }

  summary(): CrawlSummary {
    return {
      id: this.id,
      name: this.name,
      status: this.status,
      finishReason: this.finishReason,
      specVersion: this.specVersion,
      createdAt: this.createdAt,
      startedAt: this.startedAt,
      finishedAt: this.finishedAt,
      pagesDone: this.pagesDone,
      pagesFailed: this.pagesFailed,
      pagesSkipped: this.pagesSkipped,
      items: this.items,
      queued: this.frontier.queued,
      inFlight: this.frontier.inFlight,
    };
  }
}

export interface CrawlEvents {
  /** Status changed (started, paused, resumed, finished, cancelled). */
  status: [crawl: Crawl];
  /** A crawl stopped granting leases for good or for now: its leases must be taken back. */
  revoke: [crawl: Crawl];
  /** New work may be available (crawl created or resumed). */
  work: [crawl: Crawl];
}

export class CrawlRegistry extends EventEmitter<CrawlEvents> {
  private readonly store: Store;
  private readonly crawls = new Map<string, Crawl>();
  private durationTimer: NodeJS.Timeout | undefined;

  constructor(store: Store) {
    super();
    this.store = store;
  }

  /** Loads every crawl from storage; active ones get their frontier back. */
  loadAll(): void {
    for (const row of this.store.listCrawls().reverse()) {
      const crawl = this.materialize(row);
      if (crawl.isActive || crawl.status === 'created') {
        const counts = this.store.countByState(crawl.id);
        crawl.frontier.load(counts[RequestState.QUEUED] ?? 0);
      }
    }
    this.durationTimer = setInterval(() => this.checkDurations(Date.now()), 1000);
    this.durationTimer.unref();
  }

  close(): void {
    clearInterval(this.durationTimer);
  }

  private materialize(row: CrawlRow): Crawl {
    const spec = assertSpec(JSON.parse(row.spec));
    const frontier = new CrawlFrontier(this.store, row.id, {
      concurrency: spec.politeness.perHostConcurrency,
      delayMs: spec.politeness.perHostDelayMs,
    });
    const crawl = new Crawl(row, spec, frontier);
    this.crawls.set(crawl.id, crawl);
    return crawl;
  }

  /** Creates a crawl from a spec (throws SpecError listing every problem) and, by default, starts it. */
  create(specInput: unknown, options: { start?: boolean } = {}): Crawl {
    const spec = assertSpec(specInput);
    const id = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const now = Date.now();
    let crawl!: Crawl;
    this.store.transaction(() => {
      this.store.insertCrawl(id, spec.name, JSON.stringify(spec), spec.version, 'created', now);
      crawl = this.materialize(this.store.getCrawl(id)!);
      for (const url of spec.startUrls) {
        const normalized = normalizeUrl(url);
        if (!normalized) continue;
        crawl.frontier.add(normalized, urlKey(normalized), new URL(normalized).host, 0);
      }
      this.store.bumpCounters(id, { nextSeq: crawl.frontier.nextSeq });
    });
    if (options.start !== false) this.start(id);
    return crawl;
  }

  get(id: string): Crawl | undefined {
    return this.crawls.get(id);
  }

  require(id: string): Crawl {
    const crawl = this.crawls.get(id);
    if (!crawl) throw new HubError('CRAWL_UNKNOWN', `no crawl with id "${id}"`, 404);
    return crawl;
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
    if (crawl.status !== 'created') throw new HubError('CRAWL_STATE', `crawl ${id} is ${crawl.status}; only a created crawl can be started`, 409);
    this.setStatus(crawl, 'running', null);
    this.emit('work', crawl);
    this.checkFinished(crawl);
    return crawl;
  }

  pause(id: string): Crawl {
    const crawl = this.require(id);
    if (crawl.status !== 'running') throw new HubError('CRAWL_STATE', `crawl ${id} is ${crawl.status}; only a running crawl can be paused`, 409);
    this.setStatus(crawl, 'paused', null);
    this.emit('revoke', crawl);
    return crawl;
  }

  resume(id: string): Crawl {
    const crawl = this.require(id);
    if (crawl.status !== 'paused') throw new HubError('CRAWL_STATE', `crawl ${id} is ${crawl.status}; only a paused crawl can be resumed`, 409);
    this.setStatus(crawl, 'running', null);
    this.emit('work', crawl);
    this.checkFinished(crawl);
    return crawl;
  }

  cancel(id: string): Crawl {
    const crawl = this.require(id);
    if (!crawl.isActive && crawl.status !== 'created') {
      throw new HubError('CRAWL_STATE', `crawl ${id} has already ended (${crawl.status})`, 409);
    }
    this.end(crawl, 'cancelled', 'cancelled');
    return crawl;
  }

  /** Ends a crawl that has nothing left to do or has reached a limit. Called after every change to its frontier. */
  checkFinished(crawl: Crawl): void {
    if (crawl.status !== 'running') return;
    const max = crawl.spec.limits.maxPages;
    if (max !== undefined && crawl.pagesDone >= max) this.end(crawl, 'finished', 'maxPages');
    else if (crawl.frontier.queued === 0 && crawl.frontier.inFlight === 0) this.end(crawl, 'finished', 'completed');
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
    crawl.finishedAt = Date.now();
    this.setStatus(crawl, status, reason);
    this.emit('revoke', crawl);
    crawl.frontier.clear();
  }

  private setStatus(crawl: Crawl, status: CrawlStatus, reason: string | null): void {
    const now = Date.now();
    if (status === 'running' && crawl.startedAt === null) crawl.startedAt = now;
    crawl.status = status;
    crawl.finishReason = reason;
    this.store.setStatus(crawl.id, status, reason, crawl.startedAt, crawl.finishedAt);
    this.emit('status', crawl);
  }
}
