// The admin live feed across a fleet of hubs (docs/scale-out.md, "Live views
// across hubs"). Once a tick each hub publishes on the fleet bus its view of
// the crawls it works (status and when it changed here, counters, rate,
// leases in flight) and its totals; every hub merges the others' into the
// update its console gets, so the console of hub B follows a crawl worked on
// hub A: its progress, rate and status changes (started, paused, finished).
//
// Merging a crawl seen by several hubs: the status of the hub that changed it
// last; the counters the largest any hub has (each hub's are the stored ones
// at load plus its own: exact when one hub works the crawl, and caught up by
// every hub reading the crawl's row); rates and leases in flight added up;
// queued the smallest. The workers listed stay this hub's (its sockets); the
// totals add up the fleet's. A hub not heard of for `staleHubAfterMs` is
// dropped; one that closes says so at once.
import { z } from 'zod';
import { WORKER_KINDS } from '../../shared/protocol.ts';
import type { AdminCrawlProgress, AdminTotals, AdminUpdate } from '../../shared/admin-protocol.ts';
import { FLEET_CHANNELS, MAX_NOTICE_BYTES, type FleetBus } from '../storage/fleet-bus.ts';

const count = z.number().min(0);
const progressSchema = z.looseObject({
  id: z.string().max(200),
  name: z.string(),
  status: z.enum(['created', 'running', 'paused', 'finished', 'cancelled', 'failed']),
  done: count,
  failed: count,
  skipped: count,
  queued: count,
  inFlight: count,
  items: count,
  pagesPerSecond: count,
  validation: z.looseObject({}),
});
const noticeSchema = z.object({
  gone: z.literal(true).optional(),
  crawls: z.array(progressSchema).max(1000),
  /** When each crawl's status last changed on the sender (0: not since it started). */
  statusAt: z.record(z.string(), z.number()),
  totals: z.object({
    workers: count,
    workersByKind: z.partialRecord(z.enum(WORKER_KINDS), count),
    leasesInFlight: count,
    pagesPerSecond: count,
  }),
});
/** The schema checks what merging reads; the rest of a crawl's progress is passed on as sent. */
type AdminNotice = Omit<z.infer<typeof noticeSchema>, 'crawls'> & { crawls: AdminCrawlProgress[] };

/** Ended crawls are told to the other hubs for this long after their status changed (then every hub has read their row). */
const ENDED_TOLD_MS = 60_000;

export interface AdminFleetOptions {
  now: () => number;
  staleHubAfterMs: number;
}

export class AdminFleet {
  private readonly bus: FleetBus;
  private readonly options: AdminFleetOptions;
  private readonly hubs = new Map<string, { heardAt: number; notice: AdminNotice }>();
  private readonly unsubscribe: () => void;
  private lastSent = '';
  private lastSentAt = 0;

  constructor(bus: FleetBus, options: AdminFleetOptions) {
    this.bus = bus;
    this.options = options;
    this.unsubscribe = bus.subscribe(FLEET_CHANNELS.admin, {
      message: (from, payload) => this.heard(from, payload),
      reload: (from) => {
        const hub = this.hubs.get(from);
        if (hub) hub.heardAt = options.now();
      },
    });
  }

  /** This tick's view of the crawls worked here: sent when it changed, or every keepalive while there is one. */
  publish(local: AdminUpdate, statusAt: ReadonlyMap<string, number>): void {
    const now = this.options.now();
    const told = local.crawls.filter((c) => ['running', 'paused', 'created'].includes(c.status) || now - (statusAt.get(c.id) ?? 0) < ENDED_TOLD_MS);
    // Busiest and latest changed first: they are what is kept when the notice must be cut to fit.
    told.sort((a, b) => b.inFlight - a.inFlight || b.pagesPerSecond - a.pagesPerSecond || (statusAt.get(b.id) ?? 0) - (statusAt.get(a.id) ?? 0));
    const notice: AdminNotice = {
      crawls: told,
      statusAt: Object.fromEntries(told.map((c) => [c.id, statusAt.get(c.id) ?? 0])),
      totals: local.totals,
    };
    const payload = this.fit(notice);
    const empty = told.length === 0 && local.totals.workers === 0;
    if (payload === this.lastSent && (empty || now - this.lastSentAt < this.options.staleHubAfterMs / 3)) return;
    this.lastSent = payload;
    this.lastSentAt = now;
    this.bus.publish(FLEET_CHANNELS.admin, payload);
  }

  /** The local update with the other hubs' crawls and totals merged in. */
  merge(local: AdminUpdate, statusAt: ReadonlyMap<string, number>): AdminUpdate {
    this.dropStale();
    if (this.hubs.size === 0) return local;
    const crawls = new Map<string, { view: AdminCrawlProgress; at: number }>();
    for (const view of local.crawls) crawls.set(view.id, { view, at: statusAt.get(view.id) ?? 0 });
    const totals = { ...local.totals, workersByKind: { ...local.totals.workersByKind } };
    for (const { notice } of this.hubs.values()) {
      for (const remote of notice.crawls) {
        const at = notice.statusAt[remote.id] ?? 0;
        const seen = crawls.get(remote.id);
        crawls.set(remote.id, seen ? { view: mergeCrawl(seen.view, seen.at, remote, at), at: Math.max(at, seen.at) } : { view: remote, at });
      }
      totals.workers += notice.totals.workers;
      for (const kind of WORKER_KINDS) totals.workersByKind[kind] += notice.totals.workersByKind[kind] ?? 0;
      totals.leasesInFlight += notice.totals.leasesInFlight;
      totals.pagesPerSecond = Math.round((totals.pagesPerSecond + notice.totals.pagesPerSecond) * 10) / 10;
    }
    // Newest first, as the local list is.
    const merged = [...crawls.values()].map((c) => c.view).sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1));
    return { ...local, crawls: merged, totals: totals as AdminTotals };
  }

  /** Tells the other hubs this one is gone, and stops listening. */
  close(): void {
    this.unsubscribe();
    const gone: AdminNotice = { gone: true, crawls: [], statusAt: {}, totals: { workers: 0, workersByKind: {}, leasesInFlight: 0, pagesPerSecond: 0 } };
    this.bus.publish(FLEET_CHANNELS.admin, JSON.stringify(gone));
  }

  private fit(notice: AdminNotice): string {
    const room = MAX_NOTICE_BYTES - Buffer.byteLength(this.bus.hubId) - 2;
    let json = JSON.stringify(notice);
    while (Buffer.byteLength(json) > room && notice.crawls.length > 0) {
      notice.crawls = notice.crawls.slice(0, Math.floor(notice.crawls.length / 2));
      json = JSON.stringify(notice);
    }
    return json;
  }

  private heard(from: string, payload: string): void {
    let notice: AdminNotice;
    try {
      notice = noticeSchema.parse(JSON.parse(payload)) as unknown as AdminNotice;
    } catch {
      return; // Not an admin notice this version understands: ignored.
    }
    if (notice.gone) this.hubs.delete(from);
    else this.hubs.set(from, { heardAt: this.options.now(), notice });
  }

  private dropStale(): void {
    const oldest = this.options.now() - this.options.staleHubAfterMs;
    for (const [id, hub] of this.hubs) if (hub.heardAt < oldest) this.hubs.delete(id);
  }
}

/** One crawl as two hubs see it (`aAt`, `bAt`: when its status last changed on each). */
export function mergeCrawl(a: AdminCrawlProgress, aAt: number, b: AdminCrawlProgress, bAt: number): AdminCrawlProgress {
  const status = bAt > aAt ? b : a;
  const most = b.done > a.done ? b : a;
  return {
    ...a,
    status: status.status,
    finishReason: status.finishReason,
    startedAt: status.startedAt ?? a.startedAt ?? b.startedAt,
    finishedAt: status.finishedAt,
    done: Math.max(a.done, b.done),
    failed: Math.max(a.failed, b.failed),
    skipped: Math.max(a.skipped, b.skipped),
    items: Math.max(a.items, b.items),
    queued: Math.min(a.queued, b.queued),
    inFlight: a.inFlight + b.inFlight,
    pagesPerSecond: Math.round((a.pagesPerSecond + b.pagesPerSecond) * 10) / 10,
    validation: most.validation,
  };
}
