// What the admin console shows live, gathered from the core's events: every
// crawl's progress and rate, every connected worker, the workers that worked on
// each crawl, retries by error code, and pages-per-time series for the charts.
//
// Work per page is O(1). Once a tick (about a second) the console's sockets get
// a fresh `AdminUpdate` when it differs from the last one, and each watched
// crawl its `AdminCrawlDetail` when that changed. Error groups come from
// SQLite, and are read again only for crawls that had a failure since.
// With other hubs on the database, each tick also tells them this hub's view
// of its crawls and merges theirs into the update (admin-fleet.ts).
import { WORKER_KINDS, type WorkerKind } from '../../shared/protocol.ts';
import type {
  AdminCrawlContributor,
  AdminCrawlDetail,
  AdminCrawlProgress,
  AdminErrorGroup,
  AdminRateSeries,
  AdminTotals,
  AdminUpdate,
  AdminWorker,
} from '../../shared/admin-protocol.ts';
import type { Engine } from '../engine/engine.ts';
import type { Crawl } from '../crawl/crawl.ts';
import type { WorkerSession } from '../lease/workers.ts';
import { Ticker } from './ticker.ts';
import { pagesInLastMinute, workerBasics } from '../engine/worker-view.ts';
import type { FleetBus } from '../storage/fleet-bus.ts';
import { AdminFleet } from './admin-fleet.ts';

/** A series keeps at most this many buckets; past it, neighbours merge and buckets double in width. */
export const MAX_RATE_BUCKETS = 600;
const RATE_WINDOW_MS = 10_000;
const MAX_CONTRIBUTORS_PER_CRAWL = 1000;

/** Pages recorded per time bucket, from a start time on, in bounded memory. */
export class RateSeries {
  startAt: number;
  bucketMs: number;
  counts: number[] = [];

  constructor(startAt: number, bucketMs = 1000) {
    this.startAt = startAt;
    this.bucketMs = bucketMs;
  }

  /** Makes the series reach `at` (zeros for quiet buckets) and returns the bucket index of `at`. */
  extendTo(at: number): number {
    let index = Math.max(0, Math.floor((at - this.startAt) / this.bucketMs));
    while (index >= MAX_RATE_BUCKETS) {
      const merged: number[] = [];
      for (let i = 0; i < this.counts.length; i += 2) merged.push(this.counts[i]! + (this.counts[i + 1] ?? 0));
      this.counts = merged;
      this.bucketMs *= 2;
      index = Math.floor((at - this.startAt) / this.bucketMs);
    }
    while (this.counts.length <= index) this.counts.push(0);
    return index;
  }

  add(at: number, n = 1): void {
    const index = this.extendTo(at);
    this.counts[index]! += n;
  }

  view(): AdminRateSeries {
    return { startAt: this.startAt, bucketMs: this.bucketMs, counts: [...this.counts] };
  }
}

interface CrawlLive {
  /** Made once the crawl has started. */
  series: RateSeries | undefined;
  /** Completion times within the last RATE_WINDOW_MS. */
  recent: number[];
  retries: Map<string, number>;
  contributors: Map<string, { name: string; kind: WorkerKind; pages: number; items: number }>;
  errors: AdminErrorGroup[] | undefined;
  errorsStale: boolean;
}

export interface AdminLiveListener {
  update(update: AdminUpdate): void;
  crawl(detail: AdminCrawlDetail): void;
}

export interface AdminLiveOptions {
  /** Time between two pushes; 0 runs no timer (call tick() yourself). */
  intervalMs?: number;
  now?: () => number;
  /** The other hubs on this database (docs/scale-out.md); none on SQLite. */
  bus?: FleetBus;
  /** Another hub not heard of for this long is taken for gone. */
  staleHubAfterMs?: number;
}

export class AdminLive {
  private readonly core: Engine;
  private readonly now: () => number;
  /** Series of crawls started before this begin here: what happened earlier is not known. */
  private readonly bornAt: number;
  private readonly crawls = new Map<string, CrawlLive>();
  private readonly hubRecent: number[] = [];
  private lastUpdateJson = '';
  private readonly lastDetailJson = new Map<string, string>();
  private readonly ticker: Ticker<AdminLiveListener>;
  private readonly unsubscribe: () => void;
  private readonly fleet: AdminFleet | undefined;
  /** When each crawl's status last changed on this hub (the latest change wins across the fleet). */
  private readonly statusAt = new Map<string, number>();

  constructor(core: Engine, options: AdminLiveOptions = {}) {
    this.core = core;
    this.now = options.now ?? Date.now;
    this.bornAt = this.now();
    const onPage = (worker: WorkerSession | undefined, crawl: Crawl, items: number) => this.onPage(worker, crawl, items);
    const onFailed = (crawl: Crawl, code: string, final: boolean) => this.onFailed(crawl, code, final);
    const onStatus = (crawl: Crawl) => this.statusAt.set(crawl.id, this.now());
    core.on('page', onPage);
    core.on('pageFailed', onFailed);
    core.on('crawlStatus', onStatus);
    this.unsubscribe = () => {
      core.off('page', onPage);
      core.off('pageFailed', onFailed);
      core.off('crawlStatus', onStatus);
    };
    this.fleet = options.bus && new AdminFleet(options.bus, { now: this.now, staleHubAfterMs: options.staleHubAfterMs ?? 10_000 });
    this.ticker = new Ticker(() => void this.tick().catch((error: unknown) => core.log.error({ err: error }, 'admin feed: a tick failed')), {
      intervalMs: options.intervalMs,
      onUnwatched: (crawlId) => this.lastDetailJson.delete(crawlId),
    });
  }

  subscribe(listener: AdminLiveListener): () => void {
    return this.ticker.subscribe(listener);
  }

  /** Counts a watcher of a crawl; returns the function that stops watching. */
  watch(crawlId: string): () => void {
    return this.ticker.watch(crawlId);
  }

  close(): void {
    this.ticker.close();
    this.unsubscribe();
    this.fleet?.close();
  }

  private live(crawl: Crawl): CrawlLive {
    let live = this.crawls.get(crawl.id);
    if (!live) {
      live = {
        series: undefined,
        recent: [],
        retries: new Map(),
        contributors: new Map(),
        errors: undefined,
        errorsStale: true,
      };
      this.crawls.set(crawl.id, live);
    }
    return live;
  }

  private seriesOf(crawl: Crawl, live: CrawlLive): RateSeries | undefined {
    if (!live.series && crawl.startedAt !== null) live.series = new RateSeries(Math.max(crawl.startedAt, this.bornAt));
    return live.series;
  }

  private onPage(worker: WorkerSession | undefined, crawl: Crawl, items: number): void {
    const now = this.now();
    const live = this.live(crawl);
    this.seriesOf(crawl, live)?.add(now);
    live.recent.push(now);
    this.hubRecent.push(now);
    if (worker) {
      let entry = live.contributors.get(worker.id);
      if (!entry && live.contributors.size < MAX_CONTRIBUTORS_PER_CRAWL) {
        entry = { name: worker.name, kind: worker.kind, pages: 0, items: 0 };
        live.contributors.set(worker.id, entry);
      }
      if (entry) {
        entry.pages++;
        entry.items += items;
      }
    }
  }

  private onFailed(crawl: Crawl, code: string, final: boolean): void {
    const live = this.live(crawl);
    if (final) live.errorsStale = true;
    else live.retries.set(code, (live.retries.get(code) ?? 0) + 1);
  }

  /** Drops completion times older than the rate window; returns pages per second over it. */
  private rate(recent: number[], now: number): number {
    let drop = 0;
    while (drop < recent.length && recent[drop]! <= now - RATE_WINDOW_MS) drop++;
    if (drop > 0) recent.splice(0, drop);
    return Math.round((recent.length / (RATE_WINDOW_MS / 1000)) * 10) / 10;
  }

  /** What the console shows: this hub's update, with the other hubs' crawls and totals merged in. */
  update(): AdminUpdate {
    const local = this.localUpdate();
    return this.fleet ? this.fleet.merge(local, this.statusAt) : local;
  }

  /** `listWorkers` false: the workers counted, not listed (what the fleet's notice needs: no row per worker). */
  private localUpdate(listWorkers = true): AdminUpdate {
    const now = this.now();
    const crawls: AdminCrawlProgress[] = this.core.crawls.list().map((crawl) => {
      const live = this.crawls.get(crawl.id);
      return {
        id: crawl.id,
        name: crawl.name,
        status: crawl.status,
        finishReason: crawl.finishReason,
        createdAt: crawl.createdAt,
        startedAt: crawl.startedAt,
        finishedAt: crawl.finishedAt,
        done: crawl.pagesDone,
        failed: crawl.pagesFailed,
        skipped: crawl.pagesSkipped,
        queued: Math.max(0, crawl.frontier.queued),
        inFlight: crawl.frontier.inFlight,
        items: crawl.items,
        maxPages: crawl.spec.limits.maxPages ?? null,
        pagesPerSecond: live ? this.rate(live.recent, now) : 0,
        validation: { ...crawl.validation, pending: crawl.pendingChecks },
      };
    });
    const workers = listWorkers ? this.workers(now) : [];
    const byKind = Object.fromEntries(WORKER_KINDS.map((kind) => [kind, 0])) as Record<WorkerKind, number>;
    for (const w of this.core.workers.all()) byKind[w.kind]++;
    const totals: AdminTotals = {
      workers: this.core.workers.size,
      workersByKind: byKind,
      leasesInFlight: this.core.leasesInFlight,
      pagesPerSecond: this.rate(this.hubRecent, now),
    };
    return { at: now, crawls, workers, totals, storage: this.core.storageOutage.status };
  }

  private workers(now: number): AdminWorker[] {
    const out: AdminWorker[] = [];
    for (const w of this.core.workers.all()) {
      const leasesByCrawl = this.core.leasesByCrawl(w.id);
      out.push({ ...workerBasics(this.core, w), leasesByCrawl, pagesPerMinute: pagesInLastMinute(w, now) });
    }
    return out.sort((a, b) => a.connectedAt - b.connectedAt || (a.id < b.id ? -1 : 1));
  }

  /** A crawl's details, or undefined when there is no such crawl. */
  async detail(crawlId: string): Promise<AdminCrawlDetail | undefined> {
    const crawl = this.core.crawls.get(crawlId);
    if (!crawl) return undefined;
    const now = this.now();
    const live = this.live(crawl);
    // A running crawl's chart reaches the present; an ended one stops where it ended.
    const series = this.seriesOf(crawl, live);
    series?.extendTo(crawl.isActive ? now : (crawl.finishedAt ?? now));
    if (live.errorsStale || live.errors === undefined) {
      live.errorsStale = false;
      live.errors = await this.core.storage.errorGroups(crawl.id);
    }
    const contributors: AdminCrawlContributor[] = [];
    const online = new Map<string, WorkerSession>();
    for (const w of this.core.workers.all()) online.set(w.id, w);
    const seen = new Set<string>();
    for (const [workerId, entry] of live.contributors) {
      seen.add(workerId);
      contributors.push({ workerId, ...entry, online: online.has(workerId), leasesHeld: this.leasesOn(workerId, crawl.id) });
    }
    // Workers holding leases on it that have not finished a page yet.
    for (const w of online.values()) {
      if (seen.has(w.id)) continue;
      const held = this.leasesOn(w.id, crawl.id);
      if (held > 0) contributors.push({ workerId: w.id, name: w.name, kind: w.kind, pages: 0, items: 0, online: true, leasesHeld: held });
    }
    contributors.sort((a, b) => Number(b.online) - Number(a.online) || b.pages - a.pages || (a.name < b.name ? -1 : 1));
    return {
      crawlId: crawl.id,
      at: now,
      rate: series?.view() ?? { startAt: now, bucketMs: 1000, counts: [] },
      errors: live.errors ?? [],
      retries: Object.fromEntries(live.retries),
      contributors,
    };
  }

  private leasesOn(workerId: string, crawlId: string): number {
    return this.core.leasesByCrawl(workerId)[crawlId] ?? 0;
  }

  /** Pushes what changed since the last tick to the listeners. */
  async tick(): Promise<void> {
    // The other hubs' consoles hear of this hub's crawls whether or not a console is open here.
    if (this.fleet) this.fleet.publish(this.localUpdate(false), this.statusAt);
    if (!this.ticker.hasListeners) return;
    const update = this.update();
    const json = JSON.stringify({ ...update, at: 0 });
    if (json !== this.lastUpdateJson) {
      this.lastUpdateJson = json;
      this.ticker.broadcast((listener) => listener.update(update));
    }
    for (const crawlId of this.ticker.watched()) {
      const detail = await this.detail(crawlId);
      if (!detail) continue;
      const detailJson = JSON.stringify({ ...detail, at: 0 });
      if (detailJson === this.lastDetailJson.get(crawlId)) continue;
      this.lastDetailJson.set(crawlId, detailJson);
      this.ticker.broadcast((listener) => listener.crawl(detail));
    }
  }
}
