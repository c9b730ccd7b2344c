// The workers connected to a hub, and the dispatcher that turns their free
// capacity into leases. Work is pushed: whenever capacity or work appears, the
// dispatcher runs (once per turn of the event loop) and sends `leases` events,
// so a serial chain never waits for a poll.
import { randomBytes } from 'node:crypto';
import type { Lease, WorkerKind } from '../../shared/protocol.ts';
import type { LeaseManager } from './leases.ts';
import type { CrawlRegistry } from '../crawl/crawls.ts';

export interface WorkerSession {
  readonly id: string;
  /** Proves the worker on relay requests; never shown to anyone else. */
  readonly secret: string;
  readonly name: string;
  readonly kind: WorkerKind;
  readonly clientId: string;
  readonly address: string;
  readonly connectedAt: number;
  capacity: number;
  pagesDone: number;
  items: number;
  failures: number;
  /** Completion times of recent pages, for a pages-per-minute figure. */
  recent: number[];
  send(leases: Lease[]): void;
  revoke(leaseIds: string[]): void;
  disconnect(reason: string): void;
}

export class WorkerRegistry {
  private readonly sessions = new Map<string, WorkerSession>();
  private readonly bySecret = new Map<string, WorkerSession>();
  /** Workers that may have free capacity, in the order they get served (moved to the back when served). */
  private readonly hungry = new Map<string, WorkerSession>();

  add(init: Omit<WorkerSession, 'id' | 'secret' | 'connectedAt' | 'pagesDone' | 'items' | 'failures' | 'recent'>): WorkerSession {
    const session: WorkerSession = {
      ...init,
      id: randomBytes(9).toString('base64url'),
      secret: randomBytes(24).toString('base64url'),
      connectedAt: Date.now(),
      pagesDone: 0,
      items: 0,
      failures: 0,
      recent: [],
    };
    this.sessions.set(session.id, session);
    this.bySecret.set(session.secret, session);
    this.hungry.set(session.id, session);
    return session;
  }

  remove(id: string): WorkerSession | undefined {
    const session = this.sessions.get(id);
    if (!session) return undefined;
    this.sessions.delete(id);
    this.bySecret.delete(session.secret);
    this.hungry.delete(id);
    return session;
  }

  get(id: string): WorkerSession | undefined {
    return this.sessions.get(id);
  }

  bySecretToken(secret: string): WorkerSession | undefined {
    return this.bySecret.get(secret);
  }

  all(): IterableIterator<WorkerSession> {
    return this.sessions.values();
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Marks a worker as possibly having free capacity. */
  markHungry(session: WorkerSession): void {
    if (this.sessions.has(session.id) && !this.hungry.has(session.id)) this.hungry.set(session.id, session);
  }

  hungryWorkers(): IterableIterator<WorkerSession> {
    return this.hungry.values();
  }

  served(session: WorkerSession, stillHungry: boolean): void {
    this.hungry.delete(session.id);
    if (stillHungry) this.hungry.set(session.id, session);
  }

  notHungry(session: WorkerSession): void {
    this.hungry.delete(session.id);
  }
}

export class Dispatcher {
  private readonly workers: WorkerRegistry;
  private readonly leases: LeaseManager;
  private readonly crawls: CrawlRegistry;
  private scheduled = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt = Number.POSITIVE_INFINITY;
  private closed = false;

  constructor(workers: WorkerRegistry, leases: LeaseManager, crawls: CrawlRegistry) {
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

  /** Runs a dispatch round now: after a commit, so the next page of a serial chain goes out without waiting a turn. */
  runNow(): void {
    if (this.closed) return;
    this.run();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.wakeTimer);
  }

  private run(): void {
    this.scheduled = false;
    if (this.closed) return;
    const now = Date.now();
    for (const worker of [...this.workers.hungryWorkers()]) {
      const free = worker.capacity - this.leases.countHeldBy(worker.id);
      if (free <= 0) {
        this.workers.notHungry(worker);
        continue;
      }
      const granted = this.leases.grant(worker.id, free, now);
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
    clearTimeout(this.wakeTimer);
    this.wakeAt = next;
    this.wakeTimer = setTimeout(() => {
      this.wakeAt = Number.POSITIVE_INFINITY;
      this.kick();
    }, Math.max(1, next - now));
    this.wakeTimer.unref();
  }
}
