// The crawls a hub runs: creating one from a spec, its life cycle (running,
// paused, finished, cancelled) and its counters. A crawl ends by itself when
// nothing is queued or leased, or when a limit is reached, and records why.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { assertSpec, type Spec } from '../../shared/spec/schema.ts';
import { normalizeUrl, urlKey } from '../../shared/url/canonical.ts';
import { RequestState } from '../storage/db.ts';
import type { CrawlRow, CrawlStatus, Store } from '../storage/store.ts';
import { CrawlFrontier, type FrontierGate, type HostQueue } from '../frontier/frontier.ts';
import type { ThrottleSettings } from '../politeness/auto-throttle.ts';
import { HubError } from './errors.ts';

export type FinishReason = 'completed' | 'maxPages' | 'maxDuration' | 'cancelled';

// What summary() answers with is part of the admin API, declared once in
// shared/admin-api.ts for the hub, the console and the CLI: add fields there.
import type { CrawlSummary } from '../../shared/admin-api.ts';
export type { CrawlSummary };

/** One host of a crawl as politeness sees it (GET /api/crawls/:id/hosts). */
export interface HostStats {
  host: string;
  /** The delay now in force between two fetches. */
  delayMs: number;
  /** Its floor: perHostDelayMs, or robots.txt's Crawl-delay when larger. */
  minDelayMs: number;
  crawlDelayMs: number | null;
  /** Moving average of fetch latency. */
  latencyMs: number | null;
  inFlight: number;
  concurrency: number;
  /** 429/503 answers and timeouts that made it back off. */
  backoffs: number;
  lastStatus: number | null;
  /** Waiting for its robots.txt. */
  held: boolean;
  /** Epoch ms it is paused until (Retry-After, unreachable robots.txt), or null. */
  pausedUntil: number | null;
}

function hostStats(host: HostQueue, now: number): HostStats {
  return {
    host: host.host,
    delayMs: host.delayMs,
    minDelayMs: host.minDelayMs,
    crawlDelayMs: host.crawlDelayMs ?? null,
    latencyMs: host.latencyMs ?? null,
    inFlight: host.inFlight,
    concurrency: host.concurrency,
    backoffs: host.backoffs,
    lastStatus: host.lastStatus ?? null,
    held: host.held,
    pausedUntil: host.pausedUntil > now ? host.pausedUntil : null,
  };
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
  /** AutoThrottle's settings for this crawl's hosts. */
  readonly throttle: ThrottleSettings;
  /** Sources (sitemaps) not yet read: the crawl cannot end before they are. */
  pendingSources = 0;
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
    const auto = spec.politeness.autoThrottle;
    this.throttle = {
      enabled: auto.enabled,
      targetConcurrency: auto.targetConcurrency ?? spec.politeness.perHostConcurrency,
      maxDelayMs: auto.maxDelayMs,
    };
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

  /** The hosts in memory, those that wait longest first. */
  hostStats(limit = 100): HostStats[] {
    const now = Date.now();
    return [...this.frontier.hosts.values()]
      .sort((a, b) => b.delayMs - a.delayMs || b.inFlight - a.inFlight || (a.host < b.host ? -1 : 1))
      .slice(0, limit)
      .map((host) => hostStats(host, now));
  }

  summary(): CrawlSummary {
    let maxHostDelayMs = 0;
    for (const host of this.frontier.hosts.values()) if (host.delayMs > maxHostDelayMs) maxHostDelayMs = host.delayMs;
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
      sourcesPending: this.pendingSources,
      hostsActive: this.frontier.hosts.size,
      maxHostDelayMs,
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

/** What the hub adds to every crawl: its politeness gate, and its start sources besides start URLs. */
export interface CrawlHooks {
  /** The frontier's gate (robots.txt, Crawl-delay). */
  gate?(crawl: Crawl): FrontierGate | undefined;
  /** Records a new crawl's sources (sitemaps) inside its creating transaction; returns how many. */
  registerSources?(crawl: Crawl): number;
}

export class CrawlRegistry extends EventEmitter<CrawlEvents> {
  private readonly store: Store;
  private readonly crawls = new Map<string, Crawl>();
  private durationTimer: NodeJS.Timeout | undefined;
  private readonly hooks: CrawlHooks;

  constructor(store: Store, hooks: CrawlHooks = {}) {
    super();
    this.store = store;
    this.hooks = hooks;
  }

  /** Loads every crawl from storage; active ones get their frontier back. */
  loadAll(): void {
    for (const row of this.store.listCrawls().reverse()) {
      const crawl = this.materialize(row);
      if (crawl.isActive || crawl.status === 'created') {
        const counts = this.store.countByState(crawl.id);
        crawl.frontier.load(counts[RequestState.QUEUED] ?? 0);
        crawl.pendingSources = this.store.countPendingSources(crawl.id);
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
    frontier.gate = this.hooks.gate?.(crawl);
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
      crawl.pendingSources = this.hooks.registerSources?.(crawl) ?? 0;
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
    else if (crawl.frontier.queued === 0 && crawl.frontier.inFlight === 0 && crawl.pendingSources === 0) this.end(crawl, 'finished', 'completed');
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
