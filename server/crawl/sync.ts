// A crawl across the fleet (docs/scale-out.md): hubs on one shared database
// (PostgreSQL) each hold every crawl in memory, and this tick keeps that
// memory in step with the database, every fleetSyncMs. It reads the crawl
// rows (a handful) and:
// - holds the crawls another hub created (with their spec versions);
// - follows status changes another hub stored (pause: leases revoked; resume;
//   cancel and finish: revoked, the frontier cleared), without writing them again;
// - takes up a spec version another hub stored;
// - shows the row's counters, so every hub's console and API give the same figures;
// - refreshes each running crawl's queue count and pending sources from storage, so
//   its frontier looks for rows other hubs queued or gave back (it claims
//   them itself: a hub's window holds only rows it claimed);
// - asks storage to end a running crawl that holds nothing queued or pending
//   (storage decides, so a hub that had no part in the last pages ends it too).
// On SQLite, a fleet of one, there is no tick: memory is the whole truth.
import type { CrawlRow, Storage } from '../storage/storage.ts';
import type { Clock, ClockTimer } from '../clock.ts';
import type { Crawl } from './crawl.ts';
import type { CrawlRegistry } from './registry.ts';
import { followStoredVersion } from './respec.ts';

export interface FleetSyncHooks {
  /** A read or an adoption failed; the next tick tries again. */
  onError?(error: unknown, what: string): void;
}

export class FleetSync {
  private readonly storage: Storage;
  private readonly clock: Clock;
  private readonly crawls: CrawlRegistry;
  private readonly intervalMs: number;
  private readonly hooks: FleetSyncHooks;
  private timer: ClockTimer | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(storage: Storage, clock: Clock, crawls: CrawlRegistry, intervalMs: number, hooks: FleetSyncHooks = {}) {
    this.storage = storage;
    this.clock = clock;
    this.crawls = crawls;
    this.intervalMs = intervalMs;
    this.hooks = hooks;
  }

  start(): void {
    this.timer ??= this.clock.setInterval(() => void this.tick(), this.intervalMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.clock.clearInterval(this.timer);
    await this.running;
  }

  /** One round; never rejects; a round still under way is not doubled (its promise is answered). */
  tick(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.running ??= this.round()
      .catch((error: unknown) => this.hooks.onError?.(error, 'following the fleet\'s crawls'))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async round(): Promise<void> {
    // This hub's own status writes land first, so the rows read show them; a change made during the read is left for the next round.
    const held = this.crawls.list();
    const statusWrites = new Map(held.map((c) => [c.id, c.statusWrites]));
    const countVersions = new Map(held.map((c) => [c.id, c.countVersion]));
    await Promise.all(statusWrites.values());
    const rows = await this.storage.listCrawls();
    if (this.closed) return;
    const stored = new Set<string>();
    for (const row of rows.reverse()) {
      stored.add(row.id);
      const crawl = this.crawls.get(row.id);
      if (!crawl) {
        await this.adopt(row);
        continue;
      }
      const wasActive = crawl.isActive;
      if (crawl.statusWrites === statusWrites.get(crawl.id)) this.crawls.applyStoredStatus(crawl, row);
      // Ended by another hub: what is left queued is storage's count, not this hub's last view of it.
      if (wasActive && !crawl.isActive) crawl.frontier.queued = await this.storage.countQueued(crawl.id);
      if (crawl.countVersion === countVersions.get(crawl.id)) crawl.setCounts(row);
      if (row.specVersion > crawl.specVersion && !crawl.respecing) {
        followStoredVersion(this.storage, crawl, (c) => this.crawls.emit('specChanged', c)).then(
          () => this.crawls.emit('work', crawl),
          (error: unknown) => this.hooks.onError?.(error, `taking up spec version ${row.specVersion} of crawl ${crawl.id}`),
        );
      }
      if (crawl.status === 'running') await this.refresh(crawl);
    }
    // Deleted by another hub (only an ended crawl can be).
    for (const crawl of held) if (!stored.has(crawl.id) && !crawl.isActive && crawl.status !== 'created') this.crawls.forget(crawl.id);
  }

  private async adopt(row: CrawlRow): Promise<void> {
    const crawl = await this.crawls.adopt(row);
    if (crawl.status === 'running') this.crawls.emit('work', crawl);
  }

  /** The queue as storage holds it: rows other hubs queued, or gave back, are looked for; an empty one is asked to end. */
  private async refresh(crawl: Crawl): Promise<void> {
    const [queued, pendingSources] = await Promise.all([this.storage.countQueued(crawl.id), this.storage.countPendingSources(crawl.id)]);
    if (crawl.status !== 'running') return;
    crawl.pendingSources = pendingSources;
    crawl.frontier.refresh(queued);
    if (queued === 0 && pendingSources === 0) await this.crawls.confirmEnd(crawl);
  }
}
