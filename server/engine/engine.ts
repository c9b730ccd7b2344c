// The hub's core, without transport: crawls, frontier, leases, outcomes and
// workers wired together. The socket layer, the relay route and the admin API
// all call into this one object.
import { EventEmitter } from 'node:events';
import { ErrorCode, type FailurePayload, type ProtocolError, type Reply, type ResultPayload } from '../../shared/protocol.ts';
import type { Store } from '../storage/store.ts';
import type { PageFetcher } from '../relay/fetch-page.ts';
import { RobotsCache, type RobotsOptions } from '../politeness/robots.ts';
import { CrawlRegistry, type Crawl } from '../crawl/crawls.ts';
import { LeaseManager, type LeaseRecord } from '../lease/leases.ts';
import { Outcomes, type RetryPolicy } from '../results/outcomes.ts';
import { hubOptionsSchema } from '../options.ts';
import { HubPoliteness } from '../politeness/gate.ts';
import { SitemapLoader } from '../politeness/sitemaps.ts';
import { Dispatcher, WorkerRegistry, type WorkerSession } from '../lease/workers.ts';

export interface HubCoreOptions {
  leaseTtlMs: number;
  leaseSweepMs: number;
  retry: RetryPolicy;
  log: (line: string) => void;
  /** The relay's fetcher, for robots.txt and sitemaps; without one every robots.txt counts as absent. */
  fetcher?: PageFetcher;
  robots?: RobotsOptions & { maxCrawlDelayMs: number };
}

/** The hub options' robots defaults, for a core made without them (tests, benchmarks). */
export const DEFAULT_ROBOTS_OPTIONS: RobotsOptions & { maxCrawlDelayMs: number } = hubOptionsSchema.shape.robots.parse(undefined);

export interface HubCoreEvents {
  /** A page's result was recorded. */
  page: [worker: WorkerSession | undefined, crawl: Crawl, items: number];
  /** A page failed (final) or will be retried. */
  pageFailed: [crawl: Crawl, code: string, final: boolean];
  crawlStatus: [crawl: Crawl];
  workerJoined: [worker: WorkerSession];
  workerLeft: [worker: WorkerSession];
}

function fail(code: ErrorCode, message: string): { ok: false; error: ProtocolError } {
  return { ok: false, error: { code, message } };
}

export class HubCore extends EventEmitter<HubCoreEvents> {
  readonly store: Store;
  readonly crawls: CrawlRegistry;
  readonly leases: LeaseManager;
  readonly workers = new WorkerRegistry();
  readonly dispatcher: Dispatcher;
  readonly outcomes: Outcomes;
  readonly robots: RobotsCache;
  readonly politeness: HubPoliteness;
  readonly sitemaps: SitemapLoader;
  readonly log: (line: string) => void;
  private readonly banned = new Set<string>();
  private readonly sweepTimer: NodeJS.Timeout;

  constructor(store: Store, options: HubCoreOptions) {
    super();
    this.store = store;
    this.log = options.log;
    const robotsOptions = options.robots ?? DEFAULT_ROBOTS_OPTIONS;
    this.robots = new RobotsCache(options.fetcher, robotsOptions, options.log);
    this.crawls = new CrawlRegistry(store, {
      gate: (crawl) => this.politeness.gateFor(crawl),
      registerSources: (crawl) => this.sitemaps.register(crawl),
    });
    this.leases = new LeaseManager(this.crawls, options.leaseTtlMs);
    this.dispatcher = new Dispatcher(this.workers, this.leases, this.crawls);
    this.outcomes = new Outcomes(store, this.crawls, this.leases, options.retry, {
      onPageDone: (record, items) => {
        const worker = this.workers.get(record.workerId);
        if (worker) {
          worker.pagesDone++;
          worker.items += items;
          worker.recent.push(Date.now());
          if (worker.recent.length > 600) worker.recent.splice(0, worker.recent.length - 600);
          this.workers.markHungry(worker);
        }
        this.emit('page', worker, record.crawl, items);
      },
      onPageFailed: (record, code, final) => {
        const worker = this.workers.get(record.workerId);
        if (worker) {
          worker.failures++;
          this.workers.markHungry(worker);
        }
        this.emit('pageFailed', record.crawl, code, final);
      },
      onWork: () => this.dispatcher.runNow(),
    });
    this.politeness = new HubPoliteness({
      robots: this.robots,
      maxCrawlDelayMs: robotsOptions.maxCrawlDelayMs,
      skip: (crawl, entry, code, message) => this.outcomes.skipQueued(crawl, entry, code, message),
      onReleased: () => this.dispatcher.kick(),
    });
    this.sitemaps = new SitemapLoader({
      store,
      crawls: this.crawls,
      robots: this.robots,
      fetcher: options.fetcher,
      retry: options.retry,
      log: options.log,
      onQueued: () => this.dispatcher.kick(),
    });
    this.crawls.on('work', (crawl) => {
      this.sitemaps.kick(crawl);
      this.dispatcher.kick();
    });
    this.crawls.on('status', (crawl) => this.emit('crawlStatus', crawl));
    this.crawls.on('revoke', (crawl) => {
      for (const [workerId, ids] of this.leases.revokeCrawl(crawl.id)) {
        const worker = this.workers.get(workerId);
        if (worker) {
          worker.revoke(ids);
          this.workers.markHungry(worker);
        }
      }
      this.dispatcher.kick();
    });
    for (const id of JSON.parse(store.getMeta('banned') ?? '[]') as string[]) this.banned.add(id);
    this.crawls.loadAll();
    for (const crawl of this.crawls.running()) this.sitemaps.kick(crawl);
    this.sweepTimer = setInterval(() => this.sweep(), options.leaseSweepMs);
    this.sweepTimer.unref();
  }

  close(): void {
    clearInterval(this.sweepTimer);
    this.dispatcher.close();
    this.crawls.close();
    this.sitemaps.close();
    this.robots.close();
  }

  isBanned(clientId: string): boolean {
    return this.banned.has(clientId);
  }

  /** Bans a browser (by its client id, so a new nickname does not help) and disconnects its sessions. */
  ban(clientId: string): number {
    this.banned.add(clientId);
    this.store.setMeta('banned', JSON.stringify([...this.banned]));
    let n = 0;
    for (const worker of [...this.workers.all()]) {
      if (worker.clientId === clientId) {
        worker.disconnect('banned');
        n++;
      }
    }
    return n;
  }

  workerJoined(worker: WorkerSession): void {
    this.emit('workerJoined', worker);
    this.dispatcher.kick();
  }

  /** A worker's connection closed (or went silent past the heartbeat): its leases go back at once. */
  workerLeft(worker: WorkerSession): void {
    this.workers.remove(worker.id);
    const released = this.leases.releaseWorker(worker.id);
    if (released > 0) this.log(`worker ${worker.name} left; ${released} lease(s) back to the frontier`);
    this.emit('workerLeft', worker);
    this.dispatcher.kick();
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
    if (record.expiresAt <= Date.now()) return { code: ErrorCode.LEASE_EXPIRED, message: 'the lease expired' };
    return record;
  }

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
    if (found.committing) {
      // The same result sent twice before the first commit finished: the first one wins.
      return { ok: true, duplicate: true };
    }
    if (!found.fetched) return fail(ErrorCode.LEASE_NOT_FETCHED, 'fetch the page through the relay before sending its result');
    if (!found.crawl.isActive) return fail(ErrorCode.CRAWL_NOT_RUNNING, `the crawl is ${found.crawl.status}`);
    const checked = this.outcomes.check(found, payload.items, payload.links);
    if (typeof checked === 'string') {
      // A worker whose extraction does not fit the spec: the page goes back for another worker.
      this.outcomes.fail(found, { code: ErrorCode.RESULT_INVALID, message: checked, retryable: true });
      return fail(ErrorCode.RESULT_INVALID, checked);
    }
    return this.outcomes.submit(found, checked);
  }

  workerFailure(worker: WorkerSession, payload: FailurePayload): Reply {
    const found = this.leaseFor(worker, payload.leaseId);
    if (!('entry' in found)) return { ok: false, error: found };
    this.outcomes.fail(found, { code: `WORKER_${payload.code}`.slice(0, 64), message: payload.message, retryable: true });
    return { ok: true };
  }

  release(worker: WorkerSession, leaseIds: string[]): Reply {
    for (const id of leaseIds) {
      const record = this.leases.get(id);
      if (record && record.workerId === worker.id) this.leases.giveBack(record, 'revoked');
    }
    this.workers.markHungry(worker);
    this.dispatcher.kick();
    return { ok: true };
  }

  /** Expired leases go back to the frontier; a page whose leases keep expiring (it hangs or crashes workers) fails in the end. */
  private sweep(): void {
    const now = Date.now();
    const expired = this.leases.expired(now);
    if (expired.length === 0) return;
    const byWorker = new Map<string, string[]>();
    for (const record of expired) {
      const ids = byWorker.get(record.workerId) ?? [];
      ids.push(record.id);
      byWorker.set(record.workerId, ids);
      this.outcomes.fail(record, { code: 'LEASE_EXPIRED', message: `no result within ${this.leases.ttlMs} ms`, retryable: true }, 'expired');
    }
    for (const [workerId, ids] of byWorker) {
      const worker = this.workers.get(workerId);
      if (worker) {
        worker.revoke(ids);
        this.workers.markHungry(worker);
      }
    }
    this.dispatcher.kick();
  }
}
