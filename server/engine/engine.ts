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
import type { FailurePayload, Lease, ProtocolError, Reply, ResultPayload } from '../../shared/protocol.ts';
import { ErrorCode, recordedWorkerFailure } from '../../shared/errors.ts';
import type { Storage } from '../storage/storage.ts';
import type { PageFetcher } from '../relay/fetch-page.ts';
import type { FailedFetches } from './lease-fetch.ts';
import { RelayReports } from './relay-reports.ts';
import { Prefetcher, type PagePushOptions } from './prefetch.ts';
import { RobotsCache, type RobotsOptions } from '../politeness/robots.ts';
import { HubPoliteness } from '../politeness/gate.ts';
import { SitemapLoader } from '../politeness/sitemaps.ts';
import type { Crawl } from '../crawl/crawl.ts';
import { CrawlRegistry } from '../crawl/registry.ts';
import type { RetryPolicy } from '../crawl/retry.ts';
import { LeaseManager, type LeaseRecord } from '../lease/leases.ts';
import { WorkerRegistry, type WorkerSession } from '../lease/workers.ts';
import { Dispatcher } from '../lease/dispatcher.ts';
import { Results } from '../results/results.ts';
import { parserOf, type Check } from '../validate/validator.ts';
import { systemClock, type Clock, type ClockTimer } from '../clock.ts';
import { WorkerStats } from './worker-stats.ts';
import { TrustKeeper, contributorOf, type TrustKeeperOptions } from './trust-keeper.ts';
import type { Logger } from '../log.ts';
import { StorageOutage } from './storage-outage.ts';

export interface EngineOptions {
  leaseTtlMs: number;
  leaseSweepMs: number;
  retry: RetryPolicy;
  log: Logger;
  /** The relay's fetcher, for robots.txt and sitemaps; without one every robots.txt counts as absent. */
  fetcher?: PageFetcher;
  robots: RobotsOptions & { maxCrawlDelayMs: number };
  /** Relay fetches started per worker as soon as its leases are granted (the relay's maxConcurrentPerWorker); 0: only when the worker asks. */
  prefetchPerWorker?: number;
  pushPages?: PagePushOptions; // page push (issue 11, page-push.ts): prefetched pages go to the workers that take them
  /** Validation and trust (docs/trust.md). */
  validation: TrustKeeperOptions & { maxLeasesPerAddress: number };
  clock?: Clock;
  /** Draws which results of trusted contributors are checked (tests make it predictable). */
  random?: () => number;
  /** Storage is shared by a fleet of hubs (PostgreSQL): a crawl's end and maxPages are decided on it (server/crawl/sync.ts). */
  shared?: boolean;
}

export interface EngineEvents {
  /** A page's result was recorded. */
  page: [worker: WorkerSession | undefined, crawl: Crawl, items: number];
  /** A page failed (final) or will be retried. */
  pageFailed: [crawl: Crawl, code: ErrorCode, final: boolean];
  crawlStatus: [crawl: Crawl];
  workerJoined: [worker: WorkerSession];
  workerLeft: [worker: WorkerSession];
  relayFetch: [outcome: 'ok' | 'error', elapsedMs: number]; // the relay's fetch of a page from its site (metrics)
  storageError: [error: unknown]; // a storage write or read failed (the fleet's heartbeat then checks whether storage is away)
  storage: [status: StorageOutage['status']]; // storage went away or came back (storage-outage.ts)
}

export class Engine extends EventEmitter<EngineEvents> {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly log: Logger;
  readonly crawls: CrawlRegistry;
  readonly workers = new WorkerRegistry();
  private readonly leases: LeaseManager;
  private readonly dispatcher: Dispatcher;
  /** Public for server/ops/recrawl.ts, which records a re-crawl's unchanged pages with Results.carry. */ readonly results: Results;
  private readonly robots: RobotsCache;
  private readonly politeness: HubPoliteness;
  private readonly sitemaps: SitemapLoader;
  private readonly stats: WorkerStats;
  readonly trust: TrustKeeper;
  private sweepTimer: ClockTimer | undefined;
  private readonly prefetcher: Prefetcher;
  /** The relay's fetches report here (server/transport/relay-route.ts, prefetch.ts). */
  readonly relay: RelayReports;
  /** Storage out of reach: no leases granted or expired meanwhile (storage-outage.ts; the fleet's heartbeat says when). */
  readonly storageOutage: StorageOutage;

  private constructor(storage: Storage, options: EngineOptions) {
    super();
    this.storage = storage;
    this.clock = options.clock ?? systemClock;
    this.log = options.log;
    const onError = (error: unknown, what: string) => void (this.log.error({ err: error }, `${what} failed`), this.emit('storageError', error));
    this.robots = new RobotsCache(options.fetcher, options.robots, options.log.child({ component: 'robots' }), this.clock, storage);
    this.crawls = new CrawlRegistry(storage, this.clock, {
      gate: (crawl) => this.politeness.gateFor(crawl),
      sourcesFor: (spec) => SitemapLoader.sourcesFor(spec),
      onError,
      shared: options.shared === true,
    });
    this.leases = new LeaseManager(options.leaseTtlMs);
    const outageHooks = { kick: () => this.dispatcher.kick(), changed: (status: StorageOutage['status']) => this.emit('storage', status) };
    this.storageOutage = new StorageOutage({ clock: this.clock, log: this.log, crawls: this.crawls, leases: this.leases }, outageHooks);
    this.stats = new WorkerStats(this.workers, this.clock);
    this.results = new Results(storage, this.crawls, this.leases, options.retry, this.clock, {
      onPageDone: (page, items) => this.emit('page', this.stats.pageDone(page.workerId, items), page.crawl, items),
      onPageFailed: (record, code, final) => {
        this.stats.pageFailed(record.workerId);
        this.emit('pageFailed', record.crawl, code, final);
      },
      onWork: () => this.dispatcher.runSoon(),
      onError,
    });
    this.relay = new RelayReports({
      clock: this.clock,
      politeness: () => this.politeness,
      results: this.results,
      isLive: (record) => this.isLive(record),
      onFetch: (outcome, latencyMs) => this.emit('relayFetch', outcome, latencyMs),
    });
    this.prefetcher = new Prefetcher(this.relay, options.fetcher, options.prefetchPerWorker ?? 0, (id) => this.leases.get(id), options.pushPages);
    this.trust = new TrustKeeper(options.validation, {
      storage,
      crawls: this.crawls,
      workers: this.workers,
      results: this.results,
      clock: this.clock,
      log: options.log.child({ component: 'trust' }),
      ...(options.random ? { random: options.random } : {}),
      kick: () => this.dispatcher.kick(),
      revoke: (record) => {
        if (this.giveBack(record)) this.notifyRevoked([record]);
      },
    });
    const validator = this.trust.validator;
    this.dispatcher = new Dispatcher(this.workers, this.leases, this.crawls, this.clock, {
      maxLeasesPerAddress: options.validation.maxLeasesPerAddress,
      held: () => this.storageOutage.down,
      onGranted: (worker, leases) => this.prefetcher.granted(worker, leases),
      opinions: {
        get wanted() {
          return validator.wanted;
        },
        opinionFor: (worker) => validator.replicaFor(contributorOf(worker), parserOf(worker.kind)),
        leased: (check, record) => validator.leased(check as Check, record),
        unchecked: (worker) => validator.uncheckedOf(worker.id),
      },
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
    this.crawls.on('status', (crawl) => {
      if (!crawl.isActive) this.trust.validator.endCrawl(crawl);
      this.emit('crawlStatus', crawl);
    });
    this.crawls.on('revoke', (crawl) => this.revokeCrawl(crawl));
    this.sweepTimer = this.clock.setInterval(() => this.sweep(), options.leaseSweepMs);
  }

  /** An engine with every crawl, its frontier and the bans loaded from storage. */
  static async start(storage: Storage, options: EngineOptions): Promise<Engine> {
    const engine = new Engine(storage, options);
    try {
      await engine.trust.load();
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
    this.trust.close();
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

  isBanned(clientId: string, address: string): boolean {
    return this.trust.isBanned(clientId, address);
  }

  /** Bans a browser (by its client id, so a new nickname does not help) and/or an address, disconnects their sessions and re-checks what they got in on trust. */
  ban(targets: { clientId?: string; address?: string }, reason = 'banned by the operator'): Promise<number> {
    return this.trust.ban(targets, reason);
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

  /** Runs a pending dispatch round at once (so a result batch's ack can carry what it grants). */
  dispatchNow(): void {
    this.dispatcher.runNow();
  }

  /** A worker changed how many pages it wants in flight. */
  setCapacity(worker: WorkerSession, capacity: number): void {
    worker.capacity = capacity;
    this.workers.markHungry(worker);
    this.dispatcher.kick();
  }

  shareAddressLeases(hubId: string): Promise<void> { return this.dispatcher.shareAddressLeases(this.storage, hubId); } // the fleet's heartbeat: per-address caps (lease/dispatcher.ts)
  leasesHeldBy(workerId: string): number {
    return this.leases.countHeldBy(workerId);
  }

  /** How many leases a worker holds on each crawl. */
  leasesByCrawl(workerId: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const record of this.leases.heldBy(workerId)) out[record.crawl.id] = (out[record.crawl.id] ?? 0) + 1;
    return out;
  }

  get leasesInFlight(): number { return this.leases.size; }
  get pagePush(): boolean { return this.prefetcher.pusher !== undefined; } // page push (issue 11): pages go to workers that ask (page-push.ts)
  get failedFetches(): FailedFetches { return this.prefetcher.failed; } // prefetches that failed (their lease ended): the relay request is told why
  get leaseTtlMs(): number { return this.leases.ttlMs; }

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

  // A worker's answers

  /**
   * Why a result for `leaseId` from `worker` would be refused before its payload is looked at, or undefined when it would be
   * taken (or answered as a duplicate). The result upload asks this before it reads a body.
   */
  resultRefusal(worker: WorkerSession, leaseId: string): ProtocolError | undefined {
    // Storage away: the worker keeps the result and sends it again (storage-outage.ts).
    if (this.storageOutage.down) return { code: ErrorCode.STORAGE_FAILED, message: 'the hub cannot reach its database now; send the result again' };
    const record = this.leases.get(leaseId);
    const ended = record ? undefined : this.leases.endedLease(leaseId);
    // A repeated submission of a result already taken: acknowledged again, recorded once.
    if (ended?.how === 'done' && ended.workerId === worker.id) return undefined;
    const found = this.leaseFor(worker, leaseId);
    if (!('entry' in found)) return found.code === ErrorCode.LEASE_UNKNOWN && record?.committing ? { code: found.code, message: 'the result is being recorded' } : found;
    if (found.committing) return undefined;
    if (!found.fetched) return { code: ErrorCode.LEASE_NOT_FETCHED, message: 'fetch the page through the relay before sending its result' };
    if (!found.crawl.isActive) return { code: ErrorCode.CRAWL_NOT_RUNNING, message: `the crawl is ${found.crawl.status}` };
    return undefined;
  }

  async submitResult(worker: WorkerSession, payload: ResultPayload): Promise<Reply<{ duplicate: boolean; pending?: boolean }>> {
    const refusal = this.resultRefusal(worker, payload.leaseId);
    if (refusal) return { ok: false, error: refusal };
    const found = this.leases.get(payload.leaseId);
    // Taken already, or the same result sent twice before the first commit finished: the first one wins.
    if (!found || found.committing) return { ok: true, duplicate: true };
    const taken = await this.trust.take(found, worker, payload, (how) => this.endAnswered(found, worker, how));
    if (!('record' in taken)) return taken;
    return this.results.submit(found, taken.record.result, taken.record.believed);
  }

  /** A worker says it could not process a page. A page fails only on the relay's own evidence: if it was fetched, the hub has
   * the bytes and the page is decided by other opinions; if not, it simply goes back (no attempt used). */
  workerFailure(worker: WorkerSession, payload: FailurePayload): Reply {
    const found = this.leaseFor(worker, payload.leaseId);
    if (!('entry' in found)) return { ok: false, error: found };
    this.stats.pageFailed(worker.id);
    if (found.check || !found.served) {
      this.giveBack(found);
    } else {
      this.endAnswered(found, worker, 'failed');
      this.trust.validator.open(found, contributorOf(worker), parserOf(worker.kind), undefined);
    }
    this.dispatcher.kick();
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
    // A prefetched body goes with the lease (a fetch still in flight finds the lease gone and keeps nothing).
    if (!record.check) {
      record.served = undefined;
      record.relay = undefined;
    }
    // A second-opinion lease: its page stays with its check, which asks someone else.
    if (record.check) this.trust.validator.dropped(record.check as Check, record);
    else if (record.crawl.isActive) record.crawl.frontier.giveBack(record.entry);
    return true;
  }

  /** A lease answered with something other than a record now: it ends, and its worker may take more. */
  private endAnswered(record: LeaseRecord, worker: WorkerSession, how: 'done' | 'failed'): void {
    this.leases.end(record, how);
    this.workers.markHungry(worker);
    this.dispatcher.kick();
  }

  /** A crawl was paused or ended: its leases are taken back and their workers told. */
  private revokeCrawl(crawl: Crawl): void {
    this.notifyRevoked([...this.leases.ofCrawl(crawl.id)].filter((record) => this.giveBack(record)));
  }

  private notifyRevoked(records: Iterable<LeaseRecord>): void {
    this.workers.revoked(records);
    this.dispatcher.kick();
  }

  /** Expired leases go back to the frontier; a page whose leases keep expiring (it hangs or crashes workers) fails in the end. */
  private sweep(): void {
    if (this.storageOutage.down) return; // nothing expires while results cannot be stored
    void this.trust.flush();
    const expired = this.leases.expired(this.clock.now());
    if (expired.length === 0) return;
    for (const record of expired) {
      if (record.check) this.giveBack(record, 'expired');
      else this.results.fail(record, { code: ErrorCode.LEASE_EXPIRED, message: `no result within ${this.leases.ttlMs} ms`, retryable: true }, 'expired');
    }
    this.notifyRevoked(expired);
  }
}
