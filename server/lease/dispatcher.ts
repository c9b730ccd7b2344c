// The dispatcher turns workers' free capacity into leases. Work is pushed:
// whenever capacity or work appears, it runs (at most once per turn of the
// event loop, or at once after a commit) and sends `leases` events, so a
// serial chain never waits for a poll. It takes one entry at a time from each
// running crawl in turn, so crawls share the workers fairly.
import type { Lease } from '../../shared/protocol.ts';
import type { Clock, ClockTimer } from '../clock.ts';
import type { CrawlRegistry } from '../crawl/registry.ts';
import type { LeaseManager } from './leases.ts';
import type { WorkerRegistry } from './workers.ts';

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

  constructor(workers: WorkerRegistry, leases: LeaseManager, crawls: CrawlRegistry, clock: Clock) {
    this.clock = clock;
    this.workers = workers;
    this.leases = leases;
    this.crawls = crawls;
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
      this.microScheduled = false;
      if (!this.closed) this.run();
    });
  }

  close(): void {
    this.closed = true;
    this.clock.clearTimeout(this.wakeTimer);
  }

  private run(): void {
    this.scheduled = false;
    if (this.closed) return;
    const now = this.clock.now();
    for (const worker of [...this.workers.hungryWorkers()]) {
      const free = worker.capacity - this.leases.countHeldBy(worker.id);
      if (free <= 0) {
        this.workers.notHungry(worker);
        continue;
      }
      const granted = this.grant(worker.id, free, now);
      if (granted.length === 0) break; // nothing leasable now: the others would get nothing either
      worker.send(granted);
      this.workers.served(worker, granted.length < free);
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

  /** Up to `max` leases for a worker, one entry at a time from each running crawl in turn. */
  private grant(workerId: string, max: number, now: number): Lease[] {
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
      out.push(this.leases.open(workerId, crawl, entry, now));
    }
    return out;
  }
}
