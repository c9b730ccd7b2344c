// The dispatcher turns workers' free capacity into leases. Work is pushed:
// whenever capacity or work appears, it runs (at most once per turn of the
// event loop, or at once after a commit) and sends `leases` events, so a
// serial chain never waits for a poll. It takes one entry at a time from each
// running crawl in turn, so crawls share the workers fairly.
import type { Lease } from '../../shared/protocol.ts';
import type { Clock, ClockTimer } from '../clock.ts';
import type { CrawlRegistry } from '../crawl/registry.ts';
import type { Crawl } from '../crawl/crawl.ts';
import type { FrontierEntry } from '../frontier/frontier.ts';
import type { Storage } from '../storage/storage.ts';
import type { CheckRef, LeaseManager, LeaseRecord } from './leases.ts';
import type { WorkerRegistry, WorkerSession } from './workers.ts';

/** A page waiting for a second opinion (server/validate/), as the dispatcher sees it. */
export interface WantedOpinion extends CheckRef {
  readonly crawl: Crawl;
  readonly entry: FrontierEntry;
}

/** Where second opinions are wanted: served before new pages, to workers allowed to give them. */
export interface OpinionSource {
  /** Whether any check wants an opinion now. */
  readonly wanted: number;
  /** A check this worker may give its opinion on. */
  opinionFor(worker: WorkerSession): WantedOpinion | undefined;
  /** The lease that asks for it was granted. */
  leased(check: WantedOpinion, record: LeaseRecord): void;
  /**
   * This worker's results still waiting for their check: they count against its
   * capacity, so a contributor on probation (a forger among them) has at most
   * its capacity of pages unjudged at once.
   */
  unchecked(worker: WorkerSession): number;
}

export class Dispatcher {
  private readonly workers: WorkerRegistry;
  private readonly leases: LeaseManager;
  private readonly crawls: CrawlRegistry;
  private scheduled = false;
  private readonly clock: Clock;
  private wakeTimer: ClockTimer | undefined;
  private crawlCursor = 0;
  private microScheduled = false;
  private wakeAt = Number.POSITIVE_INFINITY;
  private closed = false;
  private readonly opinions: OpinionSource | undefined;
  private readonly maxLeasesPerAddress: number;
  /** Leases the fleet's other hubs hold per address (as of their last heartbeat): they count against the cap too. */
  leasesElsewhere: ReadonlyMap<string, number> = new Map();
  private readonly onGranted: ((worker: WorkerSession, leases: readonly Lease[]) => void) | undefined;
  private readonly held: () => boolean;

  constructor(
    workers: WorkerRegistry,
    leases: LeaseManager,
    crawls: CrawlRegistry,
    clock: Clock,
    options: {
      opinions?: OpinionSource;
      maxLeasesPerAddress?: number;
      /** While true no lease is granted (storage is out of reach); workers stay hungry until a later round. */
      held?: () => boolean;
      /** Leases just sent to a worker (the engine starts their pages' fetches: prefetch). */
      onGranted?: (worker: WorkerSession, leases: readonly Lease[]) => void;
    } = {},
  ) {
    this.clock = clock;
    this.workers = workers;
    this.leases = leases;
    this.crawls = crawls;
    this.opinions = options.opinions;
    this.maxLeasesPerAddress = options.maxLeasesPerAddress ?? Number.POSITIVE_INFINITY;
    this.onGranted = options.onGranted;
    this.held = options.held ?? (() => false);
  }

  /**
   * The fleet's heartbeat: publishes this hub's leases per address and takes
   * the other hubs' into the per-address cap (bounded over-grant: one
   * heartbeat's worth). When they changed, workers held back may take more.
   */
  async shareAddressLeases(storage: Pick<Storage, 'shareAddressLeases'>, hubId: string): Promise<void> {
    const elsewhere = new Map(Object.entries(await storage.shareAddressLeases(hubId, this.leases.addressCounts())));
    const before = this.leasesElsewhere;
    this.leasesElsewhere = elsewhere;
    if (before.size === 0 && elsewhere.size === 0) return;
    for (const worker of this.workers.all()) this.workers.markHungry(worker);
    this.kick();
  }

  /** Asks for a dispatch round soon (coalesced: at most one per turn of the event loop). */
  kick(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => this.run());
  }

  /**
   * Runs a dispatch round before this turn ends: after a commit, so the next
   * page of a serial chain goes out without waiting a turn. The results of one
   * group commit settle together, and share the round.
   */
  runSoon(): void {
    if (this.microScheduled || this.closed) return;
    this.microScheduled = true;
    queueMicrotask(() => {
      if (!this.microScheduled) return; // runNow() ran it already
      this.microScheduled = false;
      if (!this.closed) this.run();
    });
  }

  /**
   * Runs the round asked for now, if one is: a batch of results whose commits
   * just settled gets the leases they made room for into its own ack.
   */
  runNow(): void {
    if (this.closed || (!this.microScheduled && !this.scheduled)) return;
    this.microScheduled = false;
    this.run();
  }

  close(): void {
    this.closed = true;
    this.clock.clearTimeout(this.wakeTimer);
  }

  private run(): void {
    this.scheduled = false;
    if (this.closed || this.held()) return;
    const now = this.clock.now();
    for (const worker of [...this.workers.hungryWorkers()]) {
      // One address's workers together hold at most maxLeasesPerAddress: more sockets get no more work.
      const free = Math.min(
        worker.capacity - this.leases.countHeldBy(worker.id) - (this.opinions?.unchecked(worker) ?? 0),
        this.maxLeasesPerAddress - this.leases.countByAddress(worker.address) - (this.leasesElsewhere.get(worker.address) ?? 0),
      );
      if (free <= 0) {
        this.workers.notHungry(worker);
        continue;
      }
      const granted = this.secondOpinions(worker, free, now);
      if (granted.length < free) granted.push(...this.grant(worker, free - granted.length, now));
      if (granted.length === 0) {
        // Nothing leasable now: the others would get nothing either, unless a check may want them in particular.
        if ((this.opinions?.wanted ?? 0) === 0) break;
        continue;
      }
      worker.send(granted);
      this.workers.served(worker, granted.length < free);
      this.onGranted?.(worker, granted);
    }
    this.scheduleWake(now);
  }

  /** When politeness delays or retry backoffs hold work back, run again when the first is due. */
  private scheduleWake(now: number): void {
    let next = Number.POSITIVE_INFINITY;
    for (const crawl of this.crawls.running()) {
      const at = crawl.frontier.nextWakeAt();
      if (at !== null && at < next) next = at;
    }
    if (next === Number.POSITIVE_INFINITY || next >= this.wakeAt) return;
    this.clock.clearTimeout(this.wakeTimer);
    this.wakeAt = next;
    this.wakeTimer = this.clock.setTimeout(() => {
      this.wakeAt = Number.POSITIVE_INFINITY;
      this.kick();
    }, Math.max(1, next - now));
  }

  /** Leases for second opinions this worker may give, up to `max`. */
  private secondOpinions(worker: WorkerSession, max: number, now: number): Lease[] {
    const out: Lease[] = [];
    if (!this.opinions || this.opinions.wanted === 0) return out;
    while (out.length < max) {
      const check = this.opinions.opinionFor(worker);
      if (!check) break;
      const lease = this.leases.open(worker, check.crawl, check.entry, now, check);
      this.opinions.leased(check, this.leases.get(lease.id)!);
      out.push(lease);
    }
    return out;
  }

  /** Up to `max` leases for a worker, one entry at a time from each running crawl in turn. */
  private grant(worker: WorkerSession, max: number, now: number): Lease[] {
    const out: Lease[] = [];
    const running = this.crawls.running();
    if (running.length === 0 || max <= 0) return out;
    let idle = 0;
    while (out.length < max && idle < running.length) {
      const crawl = running[this.crawlCursor++ % running.length]!;
      const entry = crawl.leaseBudget() > 0 ? crawl.frontier.take(1, now)[0] : undefined;
      if (!entry) {
        idle++;
        continue;
      }
      idle = 0;
      out.push(this.leases.open(worker, crawl, entry, now));
    }
    return out;
  }
}
