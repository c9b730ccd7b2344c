// The engine: the one component that moves data between the steps, as
// Scrapy's engine does between its scheduler, downloader and spiders. A crawl
// (crawl/) feeds its frontier (frontier/), whose gate asks politeness
// (politeness/); the dispatcher turns workers' free capacity into leases
// (lease/); the relay's fetch is reported here (relay-route); a worker's
// result is checked and recorded (results/); storage is written by the steps
// it hands the data to, and only after it commits does memory change. The
// steps never call each other in circles: each gets what it needs from here.
// Transport (sockets, HTTP) and live views call the engine, never the steps.
import { EventEmitter } from 'node:events';
import type { FailurePayload, ProtocolError, Reply, ResultPayload } from '../../shared/protocol.ts';
import { ErrorCode, recordedWorkerFailure } from '../../shared/errors.ts';
import type { Storage } from '../storage/storage.ts';
import type { PageFetcher } from '../relay/fetch-page.ts';
import { RobotsCache, type RobotsOptions } from '../politeness/robots.ts';
import { HubPoliteness } from '../politeness/gate.ts';
import { SitemapLoader } from '../politeness/sitemaps.ts';
import type { Crawl } from '../crawl/crawl.ts';
import { CrawlRegistry } from '../crawl/registry.ts';
import type { RetryPolicy } from '../crawl/retry.ts';
import { LeaseManager, type LeaseRecord } from '../lease/leases.ts';
import { WorkerRegistry, type WorkerSession } from '../lease/workers.ts';
import { Dispatcher } from '../lease/dispatcher.ts';
import { Results, type Failure } from '../results/results.ts';
import { checkResult } from '../results/check.ts';
import { systemClock, type Clock, type ClockTimer } from '../clock.ts';
import { WorkerStats } from './worker-stats.ts';
import { Bans } from './bans.ts';
import type { Logger } from '../log.ts';

export interface EngineOptions {
  leaseTtlMs: number;
  leaseSweepMs: number;
  retry: RetryPolicy;
  log: Logger;
  /** The relay's fetcher, for robots.txt and sitemaps; without one every robots.txt counts as absent. */
  fetcher?: PageFetcher;
  robots: RobotsOptions & { maxCrawlDelayMs: number };
  clock?: Clock;
}

export interface EngineEvents {
  /** A page's result was recorded. */
  page: [worker: WorkerSession | undefined, crawl: Crawl, items: number];
  /** A page failed (final) or will be retried. */
  pageFailed: [crawl: Crawl, code: ErrorCode, final: boolean];
  crawlStatus: [crawl: Crawl];
  workerJoined: [worker: WorkerSession];
  workerLeft: [worker: WorkerSession];
}

function fail(code: ErrorCode, message: string): { ok: false; error: ProtocolError } {
  return { ok: false, error: { code, message } };
}

export class Engine extends EventEmitter<EngineEvents> {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly log: Logger;
  readonly crawls: CrawlRegistry;
  readonly workers = new WorkerRegistry();
  private readonly leases: LeaseManager;
  private readonly dispatcher: Dispatcher;
  private readonly results: Results;
  private readonly robots: RobotsCache;
  private readonly politeness: HubPoliteness;
  private readonly sitemaps: SitemapLoader;
  private readonly stats: WorkerStats;
  private readonly bans: Bans;
  private sweepTimer: ClockTimer | undefined;

  private constructor(storage: Storage, options: EngineOptions) {
    super();
    this.storage = storage;
    this.clock = options.clock ?? systemClock;
    this.log = options.log;
    const onError = (error: unknown, what: string) => this.log.error({ err: error }, `${what} failed`);
    this.robots = new RobotsCache(options.fetcher, options.robots, options.log.child({ component: 'robots' }), this.clock);
    this.crawls = new CrawlRegistry(storage, this.clock, {
      gate: (crawl) => this.politeness.gateFor(crawl),
      sourcesFor: (spec) => SitemapLoader.sourcesFor(spec),
      onError,
    });
    this.leases = new LeaseManager(options.leaseTtlMs);
    this.dispatcher = new Dispatcher(this.workers, this.leases, this.crawls, this.clock);
    this.stats = new WorkerStats(this.workers, this.clock);
    this.bans = new Bans(storage);
    this.results = new Results(storage, this.crawls, this.leases, options.retry, this.clock, {
      onPageDone: (record, items) => this.emit('page', this.stats.pageDone(record.workerId, items), record.crawl, items),
      onPageFailed: (record, code, final) => {
        this.stats.pageFailed(record.workerId);
        this.emit('pageFailed', record.crawl, code, final);
      },
      onWork: () => this.dispatcher.runSoon(),
      onError,
    });
    this.politeness = new HubPoliteness({
      robots: this.robots,
      maxCrawlDelayMs: options.robots.maxCrawlDelayMs,
      clock: this.clock,
      skip: (crawl, entry, code, message) => this.results.skipQueued(crawl, entry, code, message),
      onReleased: () => this.dispatcher.kick(),
    });
    this.sitemaps = new SitemapLoader({
      storage,
      crawls: this.crawls,
      clock: this.clock,
      robots: this.robots,
      fetcher: options.fetcher,
      retry: options.retry,
      log: options.log.child({ component: 'sitemaps' }),
      onQueued: () => this.dispatcher.kick(),
    });
    this.crawls.on('work', (crawl) => {
      if (crawl) this.sitemaps.kick(crawl);
      this.dispatcher.kick();
    });
    this.crawls.on('status', (crawl) => this.emit('crawlStatus', crawl));
    this.crawls.on('revoke', (crawl) => this.revokeCrawl(crawl));
    this.sweepTimer = this.clock.setInterval(() => this.sweep(), options.leaseSweepMs);
  }

  /** An engine with every crawl, its frontier and the bans loaded from storage. */
  static async start(storage: Storage, options: EngineOptions): Promise<Engine> {
    const engine = new Engine(storage, options);
    try {
      await engine.bans.load();
      await engine.crawls.loadAll();
    } catch (error) {
      engine.close();
      throw error;
    }
    for (const crawl of engine.crawls.running()) engine.sitemaps.kick(crawl);
    return engine;
  }

  close(): void {
    this.clock.clearInterval(this.sweepTimer);
    this.dispatcher.close();
    this.crawls.close();
    this.sitemaps.close();
    this.robots.close();
  }

  // Crawls (the admin API and CLI come here)

  async createCrawl(spec: unknown, options: { start?: boolean } = {}): Promise<Crawl> {
    const crawl = await this.crawls.create(spec, options);
    await this.crawls.settled(crawl);
    return crawl;
  }

  /** Starts, pauses, resumes or cancels a crawl; resolves once the new status is stored. */
  async control(id: string, action: 'start' | 'pause' | 'resume' | 'cancel'): Promise<Crawl> {
    const crawl = this.crawls[action](id);
    await this.crawls.settled(crawl);
    return crawl;
  }

  /** The hosts of a crawl as politeness sees them. */
  hostStats(crawl: Crawl, limit?: number) {
    return crawl.hostStats(this.clock.now(), limit);
  }

  // Workers (the socket layer comes here)

  isBanned(clientId: string): boolean {
    return this.bans.has(clientId);
  }

  /** Bans a browser (by its client id, so a new nickname does not help) and disconnects its sessions. */
  async ban(clientId: string): Promise<number> {
    await this.bans.add(clientId);
    let n = 0;
    for (const worker of [...this.workers.all()]) {
      if (worker.clientId === clientId) {
        worker.disconnect('banned');
        n++;
      }
    }
    return n;
  }

  joinWorker(init: Parameters<WorkerRegistry['add']>[0]): WorkerSession {
    const worker = this.workers.add(init, this.clock.now());
    this.emit('workerJoined', worker);
    this.dispatcher.kick();
    return worker;
  }

  /** A worker's connection closed (or went silent past the heartbeat): its leases go back at once. */
  workerLeft(worker: WorkerSession): void {
    this.workers.remove(worker.id);
    let released = 0;
    for (const record of [...this.leases.heldBy(worker.id)]) released += this.giveBack(record) ? 1 : 0;
    if (released > 0) this.log.info({ worker: worker.name, released }, 'a worker left; its leases went back to the frontier');
    this.emit('workerLeft', worker);
    this.dispatcher.kick();
  }

  /** A worker changed how many pages it wants in flight. */
  setCapacity(worker: WorkerSession, capacity: number): void {
    worker.capacity = capacity;
    this.workers.markHungry(worker);
    this.dispatcher.kick();
  }

  leasesHeldBy(workerId: string): number {
    return this.leases.countHeldBy(workerId);
  }

  /** How many leases a worker holds on each crawl. */
  leasesByCrawl(workerId: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const record of this.leases.heldBy(workerId)) out[record.crawl.id] = (out[record.crawl.id] ?? 0) + 1;
    return out;
  }

  get leasesInFlight(): number {
    return this.leases.size;
  }

  get leaseTtlMs(): number {
    return this.leases.ttlMs;
  }

  /** Finds a lease for a worker's request, or says why it cannot be used. */
  leaseFor(worker: WorkerSession, leaseId: string): LeaseRecord | ProtocolError {
    const record = this.leases.get(leaseId);
    if (!record) {
      const ended = this.leases.endedLease(leaseId);
      if (ended?.how === 'expired') return { code: ErrorCode.LEASE_EXPIRED, message: 'the lease expired and its URL went back to the queue' };
      if (ended) return { code: ErrorCode.LEASE_UNKNOWN, message: `the lease has ended (${ended.how})` };
      return { code: ErrorCode.LEASE_UNKNOWN, message: 'no such lease' };
    }
    if (record.workerId !== worker.id) return { code: ErrorCode.LEASE_NOT_YOURS, message: 'the lease is held by another worker' };
    if (record.expiresAt <= this.clock.now()) return { code: ErrorCode.LEASE_EXPIRED, message: 'the lease expired' };
    return record;
  }

  /** The lease still stands (the relay checks after its fetch). */
  isLive(record: LeaseRecord): boolean {
    return this.leases.get(record.id) === record;
  }

  // The relay (server/transport/relay-route.ts) reports its fetches here.

  relayFetched(record: LeaseRecord, fetched: NonNullable<LeaseRecord['fetched']>, latencyMs: number): void {
    this.politeness.fetched(record.crawl, record.entry.host, fetched.status, latencyMs);
    if (this.isLive(record)) record.fetched = fetched;
  }

  relayFailed(record: LeaseRecord, failure: Failure): void {
    // Before the lease ends: a 429, 503 or timeout slows the whole host down (AutoThrottle, Retry-After).
    this.politeness.failed(record.crawl, record.entry.host, failure.code, failure.httpStatus, failure.retryAfterMs);
    this.results.fail(record, failure);
  }

  // A worker's answers

  async submitResult(worker: WorkerSession, payload: ResultPayload): Promise<Reply<{ duplicate: boolean }>> {
    const record = this.leases.get(payload.leaseId);
    if (!record) {
      const ended = this.leases.endedLease(payload.leaseId);
      // A repeated submission of a result already recorded: acknowledge it again, record nothing.
      if (ended?.how === 'done' && ended.workerId === worker.id) return { ok: true, duplicate: true };
    }
    const found = this.leaseFor(worker, payload.leaseId);
    if (!('entry' in found)) {
      if (found.code === ErrorCode.LEASE_UNKNOWN && record?.committing) return fail(ErrorCode.LEASE_UNKNOWN, 'the result is being recorded');
      return { ok: false, error: found };
    }
    // The same result sent twice before the first commit finished: the first one wins.
    if (found.committing) return { ok: true, duplicate: true };
    if (!found.fetched) return fail(ErrorCode.LEASE_NOT_FETCHED, 'fetch the page through the relay before sending its result');
    if (!found.crawl.isActive) return fail(ErrorCode.CRAWL_NOT_RUNNING, `the crawl is ${found.crawl.status}`);
    const checked = checkResult(found, payload.items, payload.links);
    if (typeof checked === 'string') {
      // A worker whose extraction does not fit the spec: the page goes back for another worker.
      this.results.fail(found, { code: ErrorCode.RESULT_INVALID, message: checked, retryable: true });
      return fail(ErrorCode.RESULT_INVALID, checked);
    }
    return this.results.submit(found, checked);
  }

  workerFailure(worker: WorkerSession, payload: FailurePayload): Reply {
    const found = this.leaseFor(worker, payload.leaseId);
    if (!('entry' in found)) return { ok: false, error: found };
    this.results.fail(found, { code: recordedWorkerFailure(payload.code), message: payload.message, retryable: true });
    return { ok: true };
  }

  release(worker: WorkerSession, leaseIds: string[]): Reply {
    for (const id of leaseIds) {
      const record = this.leases.get(id);
      if (record && record.workerId === worker.id) this.giveBack(record);
    }
    this.workers.markHungry(worker);
    this.dispatcher.kick();
    return { ok: true };
  }

  /** Gives a lease's URL back to the frontier unworked; false when it could not be (being committed, or gone). */
  private giveBack(record: LeaseRecord, how: 'expired' | 'revoked' = 'revoked'): boolean {
    if (record.committing || !this.isLive(record)) return false;
    this.leases.end(record, how);
    if (record.crawl.isActive) record.crawl.frontier.giveBack(record.entry);
    return true;
  }

  /** A crawl was paused or ended: its leases are taken back and their workers told. */
  private revokeCrawl(crawl: Crawl): void {
    const byWorker = new Map<string, string[]>();
    for (const record of this.leases.ofCrawl(crawl.id)) {
      if (!this.giveBack(record)) continue;
      const ids = byWorker.get(record.workerId) ?? [];
      ids.push(record.id);
      byWorker.set(record.workerId, ids);
    }
    this.notifyRevoked(byWorker);
  }

  private notifyRevoked(byWorker: Map<string, string[]>): void {
    for (const [workerId, ids] of byWorker) {
      const worker = this.workers.get(workerId);
      if (worker) {
        worker.revoke(ids);
        this.workers.markHungry(worker);
      }
    }
    this.dispatcher.kick();
  }

  /** Expired leases go back to the frontier; a page whose leases keep expiring (it hangs or crashes workers) fails in the end. */
  private sweep(): void {
    const expired = this.leases.expired(this.clock.now());
    if (expired.length === 0) return;
    const byWorker = new Map<string, string[]>();
    for (const record of expired) {
      const ids = byWorker.get(record.workerId) ?? [];
      ids.push(record.id);
      byWorker.set(record.workerId, ids);
      this.results.fail(record, { code: ErrorCode.LEASE_EXPIRED, message: `no result within ${this.leases.ttlMs} ms`, retryable: true }, 'expired');
    }
    this.notifyRevoked(byWorker);
  }
}
